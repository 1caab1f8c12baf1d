#include "sim/card/echo_app.h"

#include <algorithm>

#include "protocol/apdu.h"

namespace ccidkit::sim {

namespace sw = proto::sw;

std::uint8_t echo_pattern_byte(std::size_t i, std::uint8_t seed) {
    return static_cast<std::uint8_t>(seed + i + 31 * (i / 256));
}

Bytes echo_pattern(std::size_t n, std::uint8_t seed) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = echo_pattern_byte(i, seed);
    return out;
}

namespace {

Bytes cut_to_ne(const proto::CommandApdu& c, std::uint16_t status) {
    const std::size_t n = std::min<std::size_t>(c.data.size(), c.ne);
    return proto::make_response(ByteView(c.data).first(n), status);
}

bool allowed_status_sw1(std::uint8_t p1) {
    if (p1 == 0x61 || p1 == 0x6C) return false;
    return (p1 >= 0x62 && p1 <= 0x6F) || (p1 >= 0x90 && p1 <= 0x9F);
}

}  // namespace

Bytes EchoApp::process(ByteView command) {
    auto parsed = proto::parse_command_apdu(command);
    if (!parsed) return proto::make_response(sw::kWrongLength);
    const proto::CommandApdu& c = *parsed;
    if (c.cla != kEchoCla) return proto::make_response(sw::kClaNotSupported);

    switch (c.ins) {
        case kInsEcho:
            return cut_to_ne(c, sw::kOk);
        case kInsPattern:
            if (c.p1 != 0) return proto::make_response(sw::kIncorrectP1P2);
            if (!c.data.empty()) return proto::make_response(sw::kWrongLength);
            return proto::make_response(echo_pattern(c.ne, c.p2), sw::kOk);
        case kInsPatternLen: {
            if (c.data.size() != 3) return proto::make_response(sw::kWrongLength);
            const std::size_t len = (static_cast<std::size_t>(c.data[0]) << 16) |
                                    (static_cast<std::size_t>(c.data[1]) << 8) | c.data[2];
            if (len > proto::kMaxExtendedNe) return proto::make_response(sw::kWrongData);
            return proto::make_response(echo_pattern(std::min<std::size_t>(len, c.ne), c.p2),
                                        sw::kOk);
        }
        case kInsStatus: {
            if (!allowed_status_sw1(c.p1)) return proto::make_response(sw::kIncorrectP1P2);
            const auto status = static_cast<std::uint16_t>((c.p1 << 8) | c.p2);
            if (c.p1 >= 0x64 && c.p1 <= 0x6F) return proto::make_response(status);
            return cut_to_ne(c, status);
        }
        default:
            return proto::make_response(sw::kInsNotSupported);
    }
}

}  // namespace ccidkit::sim

// The APDU of each sweep size for a reader, what a correct driver must make of it, and the
// check of the answer, against the card's echo application (sim/card/echo_app.h, CLA 80).
//
// What is sent:
//  - short APDU level: ECHO with Nc = Ne = n up to 255 (the 261-byte APDU: CLA INS P1 P2 Lc,
//    255 bytes, Le); 256: PATTERN with Le = 00 (the largest short response); above that the
//    APDU needs extended length fields, which the level cannot carry;
//  - TPDU (T=0 through ENVELOPE / GET RESPONSE, T=1 through chaining) and extended APDU levels:
//    ECHO with Nc = Ne = n, extended length fields above 255.
//  Size 0 is ECHO without data and without Le (case 1): the answer is 90 00 alone.
//
// What must happen, given the payload L = dwMaxCCIDMessageLength - 10 the reader reports
// (CCID 5.1: no message in either direction may be longer):
//  - extended APDU level, and T=1 at TPDU level: every size works, the driver cutting command
//    parts / I-blocks to L;
//  - T=0 at TPDU level: a short command needs a single TPDU of 5 + Nc bytes; when that exceeds
//    L the driver must refuse it (ApduTooLong) before the wire; everything else works (ENVELOPE
//    and GET RESPONSE sized to L);
//  - short APDU level: an APDU that needs extended length fields or exceeds L must be refused
//    (ApduTooLong) before the wire; a response that cannot fit L (Ne + 2 > L) cannot be
//    delivered by such a reader, so an error is the right outcome there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "ccid/descriptor_meaning.h"
#include "common/bytes.h"
#include "sim/card/echo_app.h"

namespace ccidkit::emulation {

enum class Expectation : std::uint8_t {
    Echo,         // the response must be `expected`
    Refuse,       // the driver must refuse it with ReaderErrc::ApduTooLong, before the wire
    ReaderLimit,  // the reader cannot deliver the response: an error is right (so is the echo)
};

struct PlannedApdu {
    std::size_t size = 0;
    std::string label;
    Bytes command;
    Bytes expected;  // data + 90 00
    Expectation expectation = Expectation::Echo;
    std::string why;  // for Refuse / ReaderLimit
};

// Command data of n bytes, different for every reader (seed) and every position.
inline Bytes sweep_data(std::size_t n, std::uint8_t seed) {
    Bytes d(n);
    for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<std::uint8_t>(i * 7 + 1 + seed + (i >> 8));
    return d;
}

// ISO/IEC 7816-4 encoding with the shortest length fields for Nc data bytes and Ne.
inline Bytes encode_apdu(std::uint8_t ins, std::uint8_t p2, ByteView data, std::size_t ne) {
    Bytes a{sim::kEchoCla, ins, 0x00, p2};
    const bool extended = data.size() > 255 || ne > 256;
    if (!extended) {
        if (!data.empty()) a.push_back(static_cast<std::uint8_t>(data.size()));
        a.insert(a.end(), data.begin(), data.end());
        if (ne > 0) a.push_back(static_cast<std::uint8_t>(ne == 256 ? 0 : ne));
        return a;
    }
    a.push_back(0x00);
    if (!data.empty()) {
        a.push_back(static_cast<std::uint8_t>(data.size() >> 8));
        a.push_back(static_cast<std::uint8_t>(data.size()));
        a.insert(a.end(), data.begin(), data.end());
    }
    if (ne > 0) {
        a.push_back(static_cast<std::uint8_t>(ne == 65536 ? 0 : ne >> 8));
        a.push_back(static_cast<std::uint8_t>(ne == 65536 ? 0 : ne));
    }
    return a;
}

inline Bytes with_9000(Bytes data) {
    data.push_back(0x90);
    data.push_back(0x00);
    return data;
}

// `payload_limit`: dwMaxCCIDMessageLength - 10 as the reader reports it.
inline PlannedApdu plan_apdu(std::size_t n, ccid::ExchangeLevel level, std::uint8_t protocol,
                             std::size_t payload_limit, std::uint8_t seed) {
    PlannedApdu p;
    p.size = n;
    const bool short_level = level == ccid::ExchangeLevel::ShortApdu;
    std::size_t ne = n;
    if (short_level && n == 256) {
        p.label = "PATTERN Ne=256 (Le=00)";
        p.command = encode_apdu(sim::kInsPattern, seed, {}, 256);
        p.expected = with_9000(sim::echo_pattern(256, seed));
    } else {
        const Bytes data = sweep_data(n, seed);
        p.command = encode_apdu(sim::kInsEcho, 0x00, data, n);
        p.expected = with_9000(data);
        p.label = n == 0 ? "ECHO case 1" : fmt::format("ECHO Nc=Ne={} ({})", n, n > 255 ? "extended" : "short");
    }
    if (short_level) {
        if (n > 256) {
            p.expectation = Expectation::Refuse;
            p.why = "extended length fields on a short-APDU reader";
        } else if (p.command.size() > payload_limit) {
            p.expectation = Expectation::Refuse;
            p.why = fmt::format("{}-byte APDU, the reader takes {} bytes per message", p.command.size(), payload_limit);
        } else if (ne + 2 > payload_limit) {
            p.expectation = Expectation::ReaderLimit;
            p.why = fmt::format("{}-byte response, the reader sends {} bytes per message", ne + 2, payload_limit);
        }
    } else if (level == ccid::ExchangeLevel::Tpdu && protocol == 0 && n > 0 && n <= 255 && 5 + n > payload_limit) {
        p.expectation = Expectation::Refuse;
        p.why = fmt::format("{}-byte T=0 TPDU, the reader takes {} bytes per message", 5 + n, payload_limit);
    }
    return p;
}

// Empty when `got` is the expected answer; otherwise what differs.
inline std::string compare_response(ByteView got, ByteView want) {
    if (got.size() != want.size()) {
        const std::string tail =
            got.size() >= 2 ? fmt::format(", ending {:02X}{:02X}", got[got.size() - 2], got[got.size() - 1]) : "";
        return fmt::format("response of {} bytes{}, expected {} data bytes + 9000", got.size(), tail, want.size() - 2);
    }
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (got[i] != want[i])
            return fmt::format("response byte {} is {:02X}, expected {:02X}", i, got[i], want[i]);
    }
    return {};
}

}  // namespace ccidkit::emulation

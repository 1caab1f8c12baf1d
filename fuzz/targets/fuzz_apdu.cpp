// Command and response APDUs (ISO/IEC 7816-4 5.1, ISO/IEC 7816-3:2006 12.1.3). Input: u8
// selector, then bytes. Selector bit 0 clear: the rest is a command APDU (parse, and the
// exact re-encoding); set: the rest is read as fields for the builders (CLA INS P1 P2, u16
// Nc, u32 Ne, u8 encoding), whose output must parse back to the same fields. Either way the
// rest is also parsed as a response APDU.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "protocol/apdu.h"

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

void check_command(const CommandApdu& c) {
    FUZZ_CHECK(c.nc() <= kMaxExtendedNc);
    FUZZ_CHECK(c.ne <= kMaxExtendedNe);
    FUZZ_CHECK(has_data(c.apdu_case) == (c.nc() > 0));
    if (!has_le(c.apdu_case)) FUZZ_CHECK(c.ne == 0);
    if (has_le(c.apdu_case)) FUZZ_CHECK(c.ne > 0);
    if (!is_extended(c.apdu_case)) FUZZ_CHECK(c.nc() <= kMaxShortNc && c.ne <= kMaxShortNe);
    FUZZ_CHECK(!to_string(c.apdu_case).empty());
}

void check_parse(ByteView raw) {
    const auto parsed = parse_command_apdu(raw);
    if (!parsed) {
        FUZZ_CHECK(!to_string(parsed.error()).empty());
        return;
    }
    check_command(*parsed);
    // The seven encodings are unambiguous: re-encoding gives back exactly the input.
    const auto encoded = encode_command_apdu(*parsed);
    FUZZ_CHECK(encoded.has_value());
    FUZZ_CHECK(*encoded == Bytes(raw.begin(), raw.end()));
    FUZZ_CHECK(raw.size() <= kMaxCommandApduSize);
}

void check_build(fuzz::Input& in) {
    const std::uint8_t cla = in.u8(), ins = in.u8(), p1 = in.u8(), p2 = in.u8();
    const std::size_t nc = in.u16();
    const std::uint32_t ne = in.u32() % (kMaxExtendedNe + 2);
    const auto enc = static_cast<LengthEncoding>(in.u8() % 3);
    Bytes data(nc);
    for (std::size_t i = 0; i < nc; ++i) data[i] = static_cast<std::uint8_t>(cla + i);
    const auto built = make_command_apdu(cla, ins, p1, p2, data, ne, enc);
    if (!built) return;
    check_command(*built);
    FUZZ_CHECK(built->ne == ne && built->data == data);
    const auto bytes = encode_command_apdu(*built);
    FUZZ_CHECK(bytes.has_value());
    const auto back = parse_command_apdu(*bytes);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->cla == cla && back->ins == ins && back->p1 == p1 && back->p2 == p2);
    FUZZ_CHECK(back->data == data && back->ne == ne && back->apdu_case == built->apdu_case);
}

void check_response(ByteView raw) {
    const auto r = parse_response_apdu(raw);
    FUZZ_CHECK(r.has_value() == (raw.size() >= 2));
    if (!r) return;
    FUZZ_CHECK(r->data.size() == raw.size() - 2);
    FUZZ_CHECK(r->sw() == sw_of(raw));
    FUZZ_CHECK(encode_response_apdu(*r) == Bytes(raw.begin(), raw.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const std::uint8_t selector = in.u8();
    const ByteView rest(data + (size > 0 ? 1 : 0), size > 0 ? size - 1 : 0);
    if (selector & 1) {
        check_build(in);
    } else {
        check_parse(rest);
    }
    check_response(rest);
    return 0;
}

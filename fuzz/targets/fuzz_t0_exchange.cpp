// The host T=0 mapping of command APDUs to TPDUs (ISO/IEC 7816-3:2006 clause 12.2, with
// GET RESPONSE / 6CXX / ENVELOPE handling) against an adversarial card that answers with
// fuzzed R-TPDUs (status words, data of any length). Input:
//   u8 flags: bit 0 auto GET RESPONSE, bit 1 GET RESPONSE after 9000, bit 2 ENVELOPE for
//             extended APDUs, bit 3 build the APDU from fields (else raw bytes),
//             bit 4 small max_get_response_rounds (next u8)
//   u8 rounds, u8 max 6CXX retries (0..4),
//   raw APDU: u16 length + bytes; or fields: CLA INS P1 P2, u16 Nc (data generated),
//   u32 Ne (mod 65537), u8 encoding (mod 3)
//   then R-TPDUs: u8 length + bytes each.
// When the script runs out the card repeats it from the start, forever: the exchange must
// still end within a bound (termination), every TPDU must be well-formed, and a completed
// response must hold SW1 SW2 and at most 65536 data bytes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.h"
#include "protocol/apdu.h"
#include "protocol/t0_exchange.h"

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

void check_tpdu(const Bytes& tpdu) {
    FUZZ_CHECK(tpdu.size() >= 5);
    // Outgoing (5 bytes, P3 = Le) or incoming (5 + P3 bytes, P3 > 0), clause 12.2.
    FUZZ_CHECK(tpdu.size() == 5 || (tpdu[4] != 0 && tpdu.size() == 5u + tpdu[4]));
    FUZZ_CHECK(tpdu[0] != 0xFF);  // CLA FF is PPSS (10.3.2)
    const std::uint8_t ins_hi = tpdu[1] & 0xF0;
    FUZZ_CHECK(ins_hi != 0x60 && ins_hi != 0x90);  // INS 6X/9X are procedure bytes
}

Bytes field_apdu(fuzz::Input& in) {
    const std::uint8_t cla = in.u8(), ins = in.u8(), p1 = in.u8(), p2 = in.u8();
    const std::size_t nc = in.u16();
    const std::uint32_t ne = in.u32() % (kMaxExtendedNe + 1);
    const auto enc = static_cast<LengthEncoding>(in.u8() % 3);
    Bytes data(nc);
    for (std::size_t i = 0; i < nc; ++i) data[i] = static_cast<std::uint8_t>(i * 13);
    const auto apdu = make_command_apdu(cla, ins, p1, p2, data, ne, enc);
    if (!apdu) return {};
    const auto bytes = encode_command_apdu(*apdu);
    FUZZ_CHECK(bytes.has_value());  // a built APDU always encodes
    return *bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const std::uint8_t flags = in.u8();
    T0ExchangeOptions options;
    options.auto_get_response = (flags & 1) != 0;
    options.get_response_after_9000 = (flags & 2) != 0;
    options.envelope_for_extended = (flags & 4) != 0;
    const std::uint8_t rounds = in.u8();
    if (flags & 16) options.max_get_response_rounds = rounds;
    options.max_wrong_length_retries = in.u8() % 5;

    Bytes apdu;
    if (flags & 8) {
        apdu = field_apdu(in);
    } else {
        const ByteView raw = in.chunk16();
        apdu.assign(raw.begin(), raw.end());
    }
    std::vector<ByteView> script;
    while (!in.empty() && script.size() < 1024) script.push_back(in.chunk8());

    T0Exchange x(options);
    if (!x.start(apdu)) {
        FUZZ_CHECK(x.state() == T0Exchange::State::Idle || x.state() == T0Exchange::State::Failed);
        FUZZ_CHECK(!x.poll_transmit().has_value());
        return 0;
    }
    // ENVELOPE segments (at most 258 for 65544 bytes), GET RESPONSE rounds and 6CXX re-issues
    // are all bounded; this is far above their sum.
    const std::size_t bound = 4 * (300 + options.max_get_response_rounds + 300) * (options.max_wrong_length_retries + 1);
    std::size_t exchanged = 0;
    while (x.state() == T0Exchange::State::Transmit && !script.empty()) {
        const auto tpdu = x.poll_transmit();
        FUZZ_CHECK(tpdu.has_value());
        check_tpdu(*tpdu);
        FUZZ_CHECK(x.state() == T0Exchange::State::AwaitResponse);
        x.handle_response(script[exchanged % script.size()]);
        ++exchanged;
        FUZZ_CHECK(exchanged <= bound);
        const auto s = x.state();
        FUZZ_CHECK(s == T0Exchange::State::Transmit || s == T0Exchange::State::Done ||
                   s == T0Exchange::State::Failed);
    }
    FUZZ_CHECK(x.stats().tpdus == exchanged || script.empty());
    if (x.state() == T0Exchange::State::Done) {
        const Bytes response = x.take_response();
        FUZZ_CHECK(response.size() >= 2 && response.size() <= kMaxExtendedNe + 2);
        const std::uint8_t sw1 = response[response.size() - 2];
        FUZZ_CHECK((sw1 & 0xF0) == 0x60 || (sw1 & 0xF0) == 0x90);
        FUZZ_CHECK(sw1 != 0x60);
    }
    if (x.state() == T0Exchange::State::Failed) FUZZ_CHECK(x.error().has_value());
    // A second exchange on the same object starts clean.
    x.abort();
    FUZZ_CHECK(x.state() == T0Exchange::State::Idle || x.state() == T0Exchange::State::Failed ||
               x.state() == T0Exchange::State::Done);
    return 0;
}

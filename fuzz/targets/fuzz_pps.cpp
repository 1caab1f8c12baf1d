// Protocol and rate choice (pps_choice.h) from a fuzzed ATR and fuzzed reader capabilities,
// then the PPS request/response check (ISO/IEC 7816-3:2006 clause 9) against a fuzzed card
// answer. Input layout (fuzz_support.h Input):
//   u8 atr length (mod 34), ATR bytes,
//   u16 default clock kHz, u16 max clock kHz, u32 max data rate, u8 n (mod 8), n x u32 rates,
//   u8 flags (bit 0 automatic PPS), u16 supported protocols, u16 requested protocols,
//   u8 request source (bit 0: use the choice's PPS request, else the next 5 bytes:
//      u8 protocol, u8 presence bits 1..3 of PPS1..3, u8 PPS1, u8 PPS2, u8 PPS3),
//   rest: the card's PPS response.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "protocol/atr.h"
#include "protocol/fi_di_tables.h"
#include "protocol/pps.h"
#include "protocol/pps_choice.h"

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

void check_choice(const Atr& atr, const ReaderRateCaps& caps, const ProtocolChoice& c) {
    FUZZ_CHECK(c.protocol < 15);
    FUZZ_CHECK((caps.supported_protocols & protocol_bit(c.protocol)) != 0);
    if (caps.requested_protocols != 0) FUZZ_CHECK((caps.requested_protocols & protocol_bit(c.protocol)) != 0);
    if (atr.specific_mode) {
        FUZZ_CHECK(c.protocol == atr.specific_mode->protocol);
        FUZZ_CHECK(c.rate_choice == RateChoice::SpecificMode);
        FUZZ_CHECK(!c.pps_needed);
    } else {
        FUZZ_CHECK(atr.offers(c.protocol));
    }
    // The codes always name a defined F and D, and the numbers agree with them.
    FUZZ_CHECK(fi_from_code(c.fi_code) == c.f);
    FUZZ_CHECK(di_from_code(c.di_code) == c.d);
    FUZZ_CHECK(c.clock_khz == caps.default_clock_khz);
    FUZZ_CHECK(c.data_rate_bps == data_rate_bps(c.clock_khz, c.f, c.d));
    const bool default_rate = c.f == kFd && c.d == kDd;
    // A faster rate than Fd/Dd is only chosen when the reader can run it.
    if (!default_rate) FUZZ_CHECK(reader_accepts_rate(caps, c.data_rate_bps));
    if (!default_rate && atr.fi) FUZZ_CHECK(c.f == *atr.fi);
    if (!default_rate && atr.di) FUZZ_CHECK(c.d <= *atr.di);

    FUZZ_CHECK(c.pps_request.has_value() == c.pps_needed);
    FUZZ_CHECK(!c.host_sends_pps || c.pps_needed);
    if (c.pps_request) {
        FUZZ_CHECK(c.pps_request->protocol == c.protocol);
        FUZZ_CHECK(c.pps_request->pps1.has_value() == !default_rate);
    }
}

void check_response_result(const PpsRequest& request, ByteView response, const PpsResult& r) {
    FUZZ_CHECK(response.size() >= 3 && response.size() <= kMaxPpsLength);
    FUZZ_CHECK(response[0] == kPpss);
    std::uint8_t x = 0;
    for (auto b : response) x ^= b;
    FUZZ_CHECK(x == 0);
    FUZZ_CHECK(r.protocol == request.protocol);
    FUZZ_CHECK(fi_from_code(r.fi_code) == r.f);
    FUZZ_CHECK(di_from_code(r.di_code) == r.d);
    FUZZ_CHECK(!r.pps1_accepted || request.pps1.has_value());
    if (r.pps1_accepted) FUZZ_CHECK(((r.fi_code << 4) | r.di_code) == *request.pps1);
    FUZZ_CHECK(!r.spu_accepted || request.pps2.has_value());
}

// The card echoing the request is always a success (9.3, first case).
void check_echo(const PpsRequest& request) {
    const auto built = build_pps_request(request);
    if (!built) return;
    FUZZ_CHECK(built->size() >= 3 && built->size() <= kMaxPpsLength);
    const auto echoed = check_pps_response(request, *built);
    FUZZ_CHECK(echoed.has_value());
    FUZZ_CHECK(echoed->pps1_accepted == request.pps1.has_value());
    FUZZ_CHECK(echoed->spu_accepted == request.pps2.has_value());
    check_response_result(request, *built, *echoed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const ByteView atr_bytes = in.bytes(in.u8() % 34);
    const AtrParse parsed = parse_atr(atr_bytes);

    ReaderRateCaps caps;
    caps.default_clock_khz = in.u16();
    caps.max_clock_khz = in.u16();
    caps.max_data_rate_bps = in.u32();
    const unsigned n_rates = in.u8() % 8;
    for (unsigned i = 0; i < n_rates; ++i) caps.data_rates_bps.push_back(in.u32());
    caps.automatic_pps = in.flag();
    caps.supported_protocols = in.u16();
    caps.requested_protocols = in.u16();

    const auto choice = choose_protocol_and_rate(parsed.atr, caps);
    if (choice) check_choice(parsed.atr, caps, *choice);

    PpsRequest request;
    if (in.flag()) {
        if (choice && choice->pps_request) request = *choice->pps_request;
        in.bytes(5);
    } else {
        request.protocol = in.u8();
        const std::uint8_t present = in.u8();
        const std::uint8_t p1 = in.u8(), p2 = in.u8(), p3 = in.u8();
        if (present & 1) request.pps1 = p1;
        if (present & 2) request.pps2 = p2;
        if (present & 4) request.pps3 = p3;
    }
    check_echo(request);
    if (choice && choice->pps_request) {
        // The request the choice asks for is always well-formed.
        FUZZ_CHECK(build_pps_request(*choice->pps_request).has_value());
        check_echo(*choice->pps_request);
    }

    const ByteView response = in.rest();
    const auto result = check_pps_response(request, response);
    if (result) check_response_result(request, response, *result);
    return 0;
}

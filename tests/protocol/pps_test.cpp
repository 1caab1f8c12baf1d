#include "protocol/pps.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/atr.h"
#include "protocol/fi_di_tables.h"
#include "protocol/pps_choice.h"

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

Bytes hex(std::string_view text) {
    auto b = from_hex(text);
    EXPECT_TRUE(b.has_value()) << text;
    return b.value_or(Bytes{});
}

// Appends the check byte (TCK or PCK) that makes the XOR of `from`..end zero.
Bytes with_check(std::string_view text, std::size_t from) {
    Bytes b = hex(text);
    std::uint8_t x = 0;
    for (std::size_t k = from; k < b.size(); ++k) x ^= b[k];
    b.push_back(x);
    return b;
}

Atr atr_of(std::string_view text, bool add_tck = false) {
    const Bytes b = add_tck ? with_check(text, 1) : hex(text);
    const auto p = parse_atr(b);
    EXPECT_TRUE(p.ok()) << text << ": " << to_string(p.error);
    return p.atr;
}

PpsRequest request(std::uint8_t t, std::optional<std::uint8_t> pps1 = std::nullopt,
                   std::optional<std::uint8_t> pps2 = std::nullopt, std::optional<std::uint8_t> pps3 = std::nullopt) {
    PpsRequest r;
    r.protocol = t;
    r.pps1 = pps1;
    r.pps2 = pps2;
    r.pps3 = pps3;
    return r;
}

// A common reader: 4 MHz default clock, dwMaxDataRate 344086 bps, no GET_DATA_RATES list.
ReaderRateCaps typical_reader() {
    ReaderRateCaps caps;
    caps.default_clock_khz = 4000;
    caps.max_clock_khz = 4000;
    caps.max_data_rate_bps = 344086;
    return caps;
}

// TA1 = 96 (Fi 512, Di 32), T=0 then T=1.
constexpr std::string_view kDualCard = "3B D4 96 00 C0 10 71 FE 45 01 11 22 33 44 1D";

}  // namespace

// ---- Request encoding (9.2) ----

TEST(PpsRequestBuild, EncodesPresenceBitsAndPck) {
    EXPECT_EQ(to_hex(build_pps_request(request(1, 0x96)).value()), "FF 11 96 78");
    EXPECT_EQ(to_hex(build_pps_request(request(0)).value()), "FF 00 FF");
    EXPECT_EQ(to_hex(build_pps_request(request(1, 0x18, 0x00, 0x00)).value()), "FF 71 18 00 00 96");
    EXPECT_EQ(to_hex(build_pps_request(request(0, std::nullopt, 0x80)).value()), "FF 20 80 5F");
    for (const auto& r : {request(1, 0x96), request(14, 0x11, 0x01, 0x02)}) {
        const Bytes b = build_pps_request(r).value();
        std::uint8_t x = 0;
        for (const auto v : b) x ^= v;
        EXPECT_EQ(x, 0);
        EXPECT_LE(b.size(), kMaxPpsLength);
    }
}

TEST(PpsRequestBuild, RejectsInvalidRequests) {
    EXPECT_EQ(build_pps_request(request(15)).error(), PpsError::InvalidProtocol);
    EXPECT_EQ(build_pps_request(request(16)).error(), PpsError::InvalidProtocol);
    EXPECT_EQ(build_pps_request(request(1, 0x70)).error(), PpsError::InvalidPps1);
    EXPECT_EQ(build_pps_request(request(1, 0x10)).error(), PpsError::InvalidPps1);
}

// ---- Response checking (9.3) ----

TEST(PpsResponse, ExactEchoIsSuccess) {
    const auto r = check_pps_response(request(1, 0x96), hex("FF 11 96 78"));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(r->protocol, 1);
    EXPECT_EQ(r->fi_code, 9);
    EXPECT_EQ(r->di_code, 6);
    EXPECT_EQ(r->f, 512);
    EXPECT_EQ(r->d, 32);
    EXPECT_TRUE(r->pps1_accepted);
}

TEST(PpsResponse, DroppedPps1MeansFdDd) {
    const auto r = check_pps_response(request(1, 0x96), with_check("FF 01", 0));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(r->protocol, 1);
    EXPECT_FALSE(r->pps1_accepted);
    EXPECT_EQ(r->f, kFd);
    EXPECT_EQ(r->d, kDd);
    EXPECT_EQ(r->fi_code, 1);
    EXPECT_EQ(r->di_code, 1);
}

TEST(PpsResponse, Pps2AndPps3EchoedOrDropped) {
    const auto req = request(1, 0x18, 0x00, 0x05);
    const auto full = check_pps_response(req, with_check("FF 71 18 00 05", 0));
    ASSERT_TRUE(full.has_value()) << to_string(full.error());
    EXPECT_TRUE(full->spu_accepted);
    const auto dropped = check_pps_response(req, with_check("FF 11 18", 0));
    ASSERT_TRUE(dropped.has_value()) << to_string(dropped.error());
    EXPECT_FALSE(dropped->spu_accepted);
    EXPECT_TRUE(dropped->pps1_accepted);
    EXPECT_EQ(check_pps_response(req, with_check("FF 71 18 01 05", 0)).error(), PpsError::Pps2NotEchoed);
    EXPECT_EQ(check_pps_response(req, with_check("FF 71 18 00 06", 0)).error(), PpsError::Pps3NotEchoed);
}

TEST(PpsResponse, EachViolationHasItsOwnError) {
    const auto req = request(1, 0x96);
    EXPECT_EQ(check_pps_response(req, {}).error(), PpsError::ResponseTooShort);
    EXPECT_EQ(check_pps_response(req, hex("FF 11")).error(), PpsError::ResponseTooShort);
    EXPECT_EQ(check_pps_response(req, hex("FF 11 96")).error(), PpsError::ResponseTooShort);
    EXPECT_EQ(check_pps_response(req, with_check("FE 11 96", 0)).error(), PpsError::ResponseBadPpss);
    EXPECT_EQ(check_pps_response(req, with_check("FF 91 96", 0)).error(), PpsError::ResponseReservedBit);
    EXPECT_EQ(check_pps_response(req, hex("FF 11 96 78 00")).error(), PpsError::ResponseTooLong);
    EXPECT_EQ(check_pps_response(req, hex("FF 11 96 79")).error(), PpsError::ResponsePckMismatch);
    EXPECT_EQ(check_pps_response(req, with_check("FF 10 96", 0)).error(), PpsError::ProtocolNotEchoed);
    EXPECT_EQ(check_pps_response(req, with_check("FF 11 95", 0)).error(), PpsError::Pps1NotEchoed);
    EXPECT_EQ(check_pps_response(req, with_check("FF 31 96 00", 0)).error(), PpsError::UnrequestedParameter);
    EXPECT_EQ(check_pps_response(request(1), with_check("FF 11 96", 0)).error(), PpsError::UnrequestedParameter);
    EXPECT_EQ(check_pps_response(request(15), hex("FF 0F F0")).error(), PpsError::InvalidProtocol);
}

TEST(PpsResponse, ErrorsHaveDistinctMessages) {
    const PpsError all[] = {PpsError::InvalidProtocol,      PpsError::InvalidPps1,       PpsError::ResponseTooShort,
                            PpsError::ResponseBadPpss,      PpsError::ResponseReservedBit,
                            PpsError::ResponseTooLong,      PpsError::ResponsePckMismatch,
                            PpsError::ProtocolNotEchoed,    PpsError::UnrequestedParameter,
                            PpsError::Pps1NotEchoed,        PpsError::Pps2NotEchoed, PpsError::Pps3NotEchoed};
    std::vector<std::string_view> seen;
    for (const auto e : all) {
        const auto s = to_string(e);
        EXPECT_FALSE(s.empty());
        for (const auto& other : seen) EXPECT_NE(s, other);
        seen.push_back(s);
    }
}

TEST(PpsResponse, PseudoRandomResponsesNeverCrash) {
    std::uint32_t state = 99;
    const auto next = [&state] {
        state = state * 1103515245u + 12345u;
        return static_cast<std::uint8_t>(state >> 16);
    };
    const auto req = request(1, 0x96, 0x00, 0x00);
    int successes = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes b(next() % 9);
        for (auto& v : b) v = next();
        if (b.size() > 1 && (i & 1)) b[0] = 0xFF;
        const auto r = check_pps_response(req, b);
        if (r) {
            ++successes;
            EXPECT_EQ(r->protocol, 1);
        }
    }
    // Random bytes essentially never form a valid echo.
    EXPECT_LT(successes, 5);
}

// ---- Rate helpers ----

TEST(RateHelpers, TablesAndRates) {
    EXPECT_EQ(fi_from_code(9), 512);
    EXPECT_EQ(fmax_khz_from_code(0xA), 7500u);
    EXPECT_FALSE(fi_from_code(7).has_value());
    EXPECT_FALSE(fi_from_code(0xF).has_value());
    EXPECT_EQ(di_from_code(8), 12);
    EXPECT_EQ(di_from_code(7), 64);
    EXPECT_FALSE(di_from_code(0).has_value());
    EXPECT_FALSE(di_from_code(0xA).has_value());
    EXPECT_EQ(data_rate_bps(4000, 372, 1), 10752u);
    EXPECT_EQ(data_rate_bps(4000, 512, 32), 250000u);
    EXPECT_EQ(data_rate_bps(4000, 0, 1), 0u);
    EXPECT_DOUBLE_EQ(etu_clock_cycles(372, 32), 11.625);
    std::uint8_t previous = 0;
    for (const auto code : kDiCodesByValue) {
        const auto d = di_from_code(code);
        ASSERT_TRUE(d.has_value());
        EXPECT_GT(*d, previous);
        previous = *d;
    }
}

TEST(RateHelpers, ReaderAcceptsRateWithinTolerance) {
    ReaderRateCaps caps = typical_reader();
    EXPECT_TRUE(reader_accepts_rate(caps, 344086));
    EXPECT_FALSE(reader_accepts_rate(caps, 344087));
    EXPECT_FALSE(reader_accepts_rate(caps, 0));
    caps.data_rates_bps = {10752, 129032};
    EXPECT_TRUE(reader_accepts_rate(caps, 129030));
    EXPECT_TRUE(reader_accepts_rate(caps, 129034));
    EXPECT_FALSE(reader_accepts_rate(caps, 129029));
    EXPECT_FALSE(reader_accepts_rate(caps, 129035));
    caps.max_data_rate_bps = 0;  // implausible: unknown, only the list counts
    EXPECT_TRUE(reader_accepts_rate(caps, 129032));
    EXPECT_FALSE(reader_accepts_rate(caps, 250000));
}

// ---- Choosing protocol and rate ----

TEST(PpsChoice, Ta1AcceptedWithoutRateList) {
    const auto c = choose_protocol_and_rate(atr_of(kDualCard), typical_reader());
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    EXPECT_EQ(c->protocol, 0);  // first offered: no reason to change
    EXPECT_EQ(c->rate_choice, RateChoice::Ta1);
    EXPECT_EQ(c->fi_code, 9);
    EXPECT_EQ(c->di_code, 6);
    EXPECT_EQ(c->data_rate_bps, 250000u);
    EXPECT_TRUE(c->pps_needed);
    EXPECT_TRUE(c->host_sends_pps);
    ASSERT_TRUE(c->pps_request.has_value());
    EXPECT_EQ(*c->pps_request, request(0, 0x96));
}

TEST(PpsChoice, MaxRateBelowTa1StepsDownDi) {
    ReaderRateCaps caps = typical_reader();
    caps.max_data_rate_bps = 115200;  // 250000 (D=32), 156250 (20), 125000 (16) too fast
    const auto c = choose_protocol_and_rate(atr_of(kDualCard), caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->rate_choice, RateChoice::Ta1LowerDi);
    EXPECT_EQ(c->f, 512);
    EXPECT_EQ(c->d, 12);
    EXPECT_EQ(c->di_code, 8);
    EXPECT_EQ(c->data_rate_bps, 93750u);
    EXPECT_EQ(c->pps_request->pps1, 0x98);
}

TEST(PpsChoice, ListWithOffByOneRateIsAccepted) {
    ReaderRateCaps caps = typical_reader();
    // TA1 = 18 at 4 MHz: 129032.26 bps; the reader rounds up.
    caps.data_rates_bps = {10753, 21505, 43011, 86022, 129033};
    const auto c = choose_protocol_and_rate(atr_of("3B 10 18"), caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->rate_choice, RateChoice::Ta1);
    EXPECT_EQ(c->d, 12);
    EXPECT_EQ(c->pps_request, request(0, 0x18));
}

TEST(PpsChoice, ListWithoutTheRateStepsDownThenFallsBack) {
    ReaderRateCaps caps = typical_reader();
    caps.data_rates_bps = {10752, 86021};  // no 129032; D=8 with F=372 is listed
    auto c = choose_protocol_and_rate(atr_of("3B 10 18"), caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->rate_choice, RateChoice::Ta1LowerDi);
    EXPECT_EQ(c->d, 8);
    EXPECT_EQ(c->pps_request, request(0, 0x14));

    caps.data_rates_bps = {9600};  // nothing from this card fits
    c = choose_protocol_and_rate(atr_of("3B 10 18"), caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->rate_choice, RateChoice::DefaultsReaderTooSlow);
    EXPECT_EQ(c->f, 372);
    EXPECT_EQ(c->d, 1);
    EXPECT_FALSE(c->pps_needed);
    EXPECT_FALSE(c->pps_request.has_value());
}

TEST(PpsChoice, ZeroMaxDataRateMeansUnknown) {
    ReaderRateCaps caps = typical_reader();
    caps.max_data_rate_bps = 0;
    const auto c = choose_protocol_and_rate(atr_of(kDualCard), caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->rate_choice, RateChoice::Ta1);
    EXPECT_EQ(c->d, 32);
}

TEST(PpsChoice, DefaultsWhenTa1AbsentDefaultOrRfu) {
    auto c = choose_protocol_and_rate(atr_of("3B 00"), typical_reader());
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->rate_choice, RateChoice::DefaultsNoTa1);
    EXPECT_FALSE(c->pps_needed);
    EXPECT_EQ(c->data_rate_bps, 10752u);

    c = choose_protocol_and_rate(atr_of("3B 10 11"), typical_reader());
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->rate_choice, RateChoice::Ta1);
    EXPECT_FALSE(c->pps_needed);

    c = choose_protocol_and_rate(atr_of("3B 10 01"), typical_reader());  // F=372 (fmax 4 MHz), D=1
    ASSERT_TRUE(c.has_value());
    EXPECT_FALSE(c->pps_needed);

    const auto rfu = parse_atr(hex("3B 10 71")).atr;  // parse error InvalidFiDi, still usable
    c = choose_protocol_and_rate(rfu, typical_reader());
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->rate_choice, RateChoice::DefaultsTa1Rfu);
    EXPECT_FALSE(c->pps_needed);
}

TEST(PpsChoice, UnknownClockKeepsDefaults) {
    ReaderRateCaps caps = typical_reader();
    caps.default_clock_khz = 0;
    const auto c = choose_protocol_and_rate(atr_of(kDualCard), caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->rate_choice, RateChoice::DefaultsClockUnknown);
    EXPECT_FALSE(c->pps_needed);
}

TEST(PpsChoice, ProtocolSelection) {
    // Dual card without TA1: T=1 requested means a PPS for the protocol alone.
    const Atr dual = atr_of("3B 80 80 01", true);
    ReaderRateCaps caps = typical_reader();
    caps.requested_protocols = protocol_bit(1);
    auto c = choose_protocol_and_rate(dual, caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->protocol, 1);
    EXPECT_TRUE(c->pps_needed);
    EXPECT_EQ(c->pps_request, request(1));

    // Both requested: keep the first offered, no PPS.
    caps.requested_protocols = protocol_bit(0) | protocol_bit(1);
    c = choose_protocol_and_rate(dual, caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->protocol, 0);
    EXPECT_FALSE(c->pps_needed);

    // The reader lacks the first offered protocol: the other one, via PPS.
    caps.requested_protocols = 0;
    caps.supported_protocols = protocol_bit(1);
    c = choose_protocol_and_rate(dual, caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->protocol, 1);
    EXPECT_TRUE(c->pps_needed);
}

TEST(PpsChoice, T0OnlyReaderWithT1OnlyCard) {
    ReaderRateCaps caps = typical_reader();
    caps.supported_protocols = protocol_bit(0);
    const auto c = choose_protocol_and_rate(atr_of("3B 80 01", true), caps);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error(), ChoiceError::NoCommonProtocol);
}

TEST(PpsChoice, RequestedProtocolNotOffered) {
    ReaderRateCaps caps = typical_reader();
    caps.requested_protocols = protocol_bit(0);
    const auto c = choose_protocol_and_rate(atr_of("3B 80 01", true), caps);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error(), ChoiceError::NoCommonProtocol);
}

TEST(PpsChoice, AutomaticPpsReaderNegotiatesItself) {
    ReaderRateCaps caps = typical_reader();
    caps.automatic_pps = true;
    const auto c = choose_protocol_and_rate(atr_of(kDualCard), caps);
    ASSERT_TRUE(c.has_value());
    EXPECT_TRUE(c->pps_needed);
    EXPECT_FALSE(c->host_sends_pps);
    EXPECT_TRUE(c->pps_request.has_value());
}

TEST(PpsChoice, SpecificModeUsesTa2AndTa1Directly) {
    const Atr specific = atr_of("3B 90 96 11 81", true);  // TA2 = 81: T=1, TA1 values, fixed
    const auto c = choose_protocol_and_rate(specific, typical_reader());
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    EXPECT_EQ(c->protocol, 1);
    EXPECT_EQ(c->rate_choice, RateChoice::SpecificMode);
    EXPECT_EQ(c->f, 512);
    EXPECT_EQ(c->d, 32);
    EXPECT_FALSE(c->pps_needed);
    EXPECT_FALSE(c->pps_request.has_value());

    // No TA1: the specific protocol at Fd/Dd.
    const auto d = choose_protocol_and_rate(atr_of("3B 80 10 01"), typical_reader());
    ASSERT_TRUE(d.has_value()) << to_string(d.error());
    EXPECT_EQ(d->protocol, 1);
    EXPECT_EQ(d->f, 372);
    EXPECT_FALSE(d->pps_needed);
}

TEST(PpsChoice, SpecificModeTheReaderCannotHonour) {
    const Atr specific = atr_of("3B 90 96 11 81", true);
    ReaderRateCaps slow = typical_reader();
    slow.max_data_rate_bps = 115200;  // never silently run at a lower speed
    EXPECT_EQ(choose_protocol_and_rate(specific, slow).error(), ChoiceError::SpecificModeRateUnsupported);

    ReaderRateCaps listed = typical_reader();
    listed.data_rates_bps = {10752, 250001};  // within tolerance: fine
    EXPECT_TRUE(choose_protocol_and_rate(specific, listed).has_value());
    listed.data_rates_bps = {10752, 250003};
    EXPECT_EQ(choose_protocol_and_rate(specific, listed).error(), ChoiceError::SpecificModeRateUnsupported);

    ReaderRateCaps no_clock = typical_reader();
    no_clock.default_clock_khz = 0;
    EXPECT_EQ(choose_protocol_and_rate(specific, no_clock).error(), ChoiceError::SpecificModeRateUnsupported);

    ReaderRateCaps t0_only = typical_reader();
    t0_only.supported_protocols = protocol_bit(0);
    EXPECT_EQ(choose_protocol_and_rate(specific, t0_only).error(), ChoiceError::SpecificModeProtocolUnsupported);

    ReaderRateCaps wants_t0 = typical_reader();
    wants_t0.requested_protocols = protocol_bit(0);
    EXPECT_EQ(choose_protocol_and_rate(specific, wants_t0).error(), ChoiceError::NoCommonProtocol);

    const Atr implicit = atr_of("3B 90 96 11 91", true);  // TA2 bit 5: implicit Fi/Di
    EXPECT_EQ(choose_protocol_and_rate(implicit, typical_reader()).error(),
              ChoiceError::SpecificModeImplicitParameters);

    const Atr rfu = parse_atr(with_check("3B 90 76 11 81", 1)).atr;  // Fi code 7: RFU
    EXPECT_EQ(choose_protocol_and_rate(rfu, typical_reader()).error(), ChoiceError::SpecificModeRateUnsupported);
}

TEST(PpsChoice, MessagesAreDistinct) {
    EXPECT_NE(to_string(ChoiceError::NoCommonProtocol), to_string(ChoiceError::SpecificModeProtocolUnsupported));
    EXPECT_NE(to_string(ChoiceError::SpecificModeRateUnsupported),
              to_string(ChoiceError::SpecificModeImplicitParameters));
    EXPECT_NE(to_string(RateChoice::Ta1), to_string(RateChoice::Ta1LowerDi));
    EXPECT_NE(to_string(RateChoice::DefaultsReaderTooSlow), to_string(RateChoice::DefaultsClockUnknown));
}

TEST(PpsChoice, ChosenRequestRoundTripsThroughTheCard) {
    const auto c = choose_protocol_and_rate(atr_of(kDualCard), typical_reader());
    ASSERT_TRUE(c.has_value() && c->pps_request.has_value());
    const Bytes sent = build_pps_request(*c->pps_request).value();
    const auto r = check_pps_response(*c->pps_request, sent);  // the card echoes
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->f, c->f);
    EXPECT_EQ(r->d, c->d);
    EXPECT_EQ(r->protocol, c->protocol);
}

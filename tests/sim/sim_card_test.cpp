// SimCard: ATR construction (read back with the repo's ATR parser), the card side of PPS,
// the T=0 / T=1 / character / APDU paths and the card-level faults.
#include "sim/card/sim_card.h"

#include <gtest/gtest.h>

#include <memory>

#include "protocol/apdu.h"
#include "protocol/atr.h"
#include "protocol/pps.h"
#include "protocol/t1_block.h"
#include "sim/card/echo_app.h"
#include "sim/card/file_app.h"
#include "sim/card/sim_card_pin_app.h"

namespace ccidkit::sim {
namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

constexpr CardLink kT0Default{0, 1, 1};
constexpr CardLink kT1Default{1, 1, 1};

// ---- ATR -------------------------------------------------------------------------------------

TEST(SimCardAtr, MinimalT1AtrHasTheClassicLayout) {
    AtrSpec spec;  // T=1 only, IFSC 254, BWI 4, CWI 5, LRC, nothing else
    EXPECT_EQ(to_hex(build_atr(spec)), "3B 80 81 31 FE 45 8B");
}

TEST(SimCardAtr, BareT0AtrHasNoInterfaceBytes) {
    AtrSpec spec;
    spec.t0 = true;
    spec.t1 = false;
    EXPECT_EQ(to_hex(build_atr(spec)), "3B 00");
}

TEST(SimCardAtr, T1PresetParsesBack) {
    const SimCard card = SimCard::t1_default();
    const proto::AtrParse p = proto::parse_atr(card.atr());
    ASSERT_TRUE(p.ok()) << proto::to_string(p.error);
    EXPECT_TRUE(p.atr.offers(1));
    EXPECT_FALSE(p.atr.offers(0));
    EXPECT_EQ(p.atr.default_protocol, 1);
    EXPECT_EQ(p.atr.ta1, std::optional<std::uint8_t>(0x96));
    EXPECT_EQ(p.atr.t1.ifsc, 254);
    EXPECT_EQ(p.atr.t1.bwi, 4);
    EXPECT_EQ(p.atr.t1.cwi, 5);
    EXPECT_EQ(p.atr.t1.edc, proto::Edc::Lrc);
    EXPECT_EQ(p.atr.class_indicator, proto::kClassA | proto::kClassB | proto::kClassC);
    EXPECT_EQ(Bytes(p.atr.historical().begin(), p.atr.historical().end()), preset_historical_bytes());
    EXPECT_EQ(p.atr.warnings, 0);
}

TEST(SimCardAtr, T0PresetParsesBack) {
    const SimCard card = SimCard::t0_default();
    const proto::AtrParse p = proto::parse_atr(card.atr());
    ASSERT_TRUE(p.ok()) << proto::to_string(p.error);
    EXPECT_TRUE(p.atr.offers(0));
    EXPECT_FALSE(p.atr.offers(1));
    EXPECT_EQ(p.atr.ta1, std::optional<std::uint8_t>(0x13));
    EXPECT_EQ(p.atr.class_indicator, proto::kClassA | proto::kClassB | proto::kClassC);
    EXPECT_TRUE(p.atr.tck.has_value());  // T=15 is indicated, so TCK is present (8.2.5)
}

struct AtrCase {
    const char* name;
    AtrSpec spec;
};

class SimCardAtrRoundTrip : public ::testing::TestWithParam<AtrCase> {};

TEST_P(SimCardAtrRoundTrip, ParserReadsBackEveryParameter) {
    const AtrSpec& spec = GetParam().spec;
    const Bytes atr = build_atr(spec);
    ASSERT_LE(atr.size(), proto::kMaxAtrLength);
    const proto::AtrParse p = proto::parse_atr(atr);
    ASSERT_TRUE(p.ok()) << to_hex(atr) << ": " << proto::to_string(p.error);
    const bool t0 = spec.t0 || !spec.t1;
    EXPECT_EQ(p.atr.offers(0), t0);
    EXPECT_EQ(p.atr.offers(1), spec.t1);
    EXPECT_EQ(p.atr.default_protocol, spec.ta2 ? (*spec.ta2 & 0x0F) : (t0 ? 0 : 1));
    EXPECT_EQ(p.atr.ta1, spec.ta1);
    EXPECT_EQ(p.atr.tc1, spec.tc1);
    EXPECT_EQ(p.atr.specific_mode.has_value(), spec.ta2.has_value());
    if (t0 && spec.wi) {
        EXPECT_EQ(p.atr.wi, *spec.wi);
    }
    if (spec.t1) {
        EXPECT_EQ(p.atr.t1.ifsc, spec.ifsc);
        EXPECT_EQ(p.atr.t1.bwi, spec.bwi);
        EXPECT_EQ(p.atr.t1.cwi, spec.cwi);
        EXPECT_EQ(p.atr.t1.edc == proto::Edc::Crc, spec.edc == proto::T1Edc::Crc);
    }
    EXPECT_EQ(p.atr.class_indicator, spec.classes == 0 ? proto::kClassA : spec.classes);
    EXPECT_EQ(p.atr.clock_stop, spec.classes == 0 ? proto::ClockStop::NotSupported : spec.clock_stop);
    EXPECT_EQ(Bytes(p.atr.historical().begin(), p.atr.historical().end()), spec.historical);
}

AtrSpec spec_with(auto&& f) {
    AtrSpec s;
    f(s);
    return s;
}

INSTANTIATE_TEST_SUITE_P(
    Specs, SimCardAtrRoundTrip,
    ::testing::Values(
        AtrCase{"t1_crc", spec_with([](AtrSpec& s) {
                    s.edc = proto::T1Edc::Crc;
                    s.ifsc = 32;
                    s.bwi = 7;
                    s.cwi = 2;
                })},
        AtrCase{"dual", spec_with([](AtrSpec& s) {
                    s.t0 = true;
                    s.t1 = true;
                    s.ta1 = 0x95;
                    s.wi = 20;
                    s.tc1 = 2;
                })},
        AtrCase{"t0_wi_classes", spec_with([](AtrSpec& s) {
                    s.t0 = true;
                    s.t1 = false;
                    s.wi = 50;
                    s.classes = proto::kClassB | proto::kClassC;
                    s.clock_stop = proto::ClockStop::StateL;
                })},
        AtrCase{"specific_t1", spec_with([](AtrSpec& s) {
                    s.ta1 = 0x18;
                    s.ta2 = 0x01;
                })},
        AtrCase{"fifteen_historical", spec_with([](AtrSpec& s) {
                    s.t0 = true;
                    s.ta1 = 0x96;
                    s.classes = 0x07;
                    s.edc = proto::T1Edc::Crc;
                    s.historical = Bytes(15, 0x42);
                })}),
    [](const ::testing::TestParamInfo<AtrCase>& param_info) { return std::string(param_info.param.name); });

// ---- Activation --------------------------------------------------------------------------------

TEST(SimCard, ColdResetReturnsTheAtrAndStartsAtDefaults) {
    SimCard card = SimCard::t1_default();
    EXPECT_FALSE(card.active());
    auto atr = card.cold_reset(proto::kClassA);
    ASSERT_TRUE(atr);
    EXPECT_EQ(*atr, card.atr());
    EXPECT_TRUE(card.active());
    EXPECT_TRUE(card.pps_allowed());
    EXPECT_EQ(card.link(), kT1Default);  // negotiable mode: Fd/Dd until PPS
}

TEST(SimCard, VoltageClassMustBeClaimedByTheAtr) {
    SimCardConfig config;
    config.atr.classes = proto::kClassC;
    SimCard card(config);
    EXPECT_EQ(card.cold_reset(proto::kClassA).error(), CardError::ClassNotSupported);
    EXPECT_FALSE(card.active());
    EXPECT_TRUE(card.cold_reset(proto::kClassC));

    SimCard class_a_only{SimCardConfig{}};  // no T=15 group: class A only (8.3)
    EXPECT_EQ(class_a_only.supported_classes(), proto::kClassA);
    EXPECT_EQ(class_a_only.cold_reset(proto::kClassB).error(), CardError::ClassNotSupported);
}

TEST(SimCard, WarmResetNeedsAnActiveCardAndMayGiveAnotherAtr) {
    SimCardConfig config;
    config.warm_atr = hex("3B 00");
    SimCard card(config);
    EXPECT_EQ(card.warm_reset().error(), CardError::NotActive);
    ASSERT_TRUE(card.cold_reset());
    auto warm = card.warm_reset();
    ASSERT_TRUE(warm);
    EXPECT_EQ(*warm, hex("3B 00"));
    EXPECT_EQ(card.link().protocol, 0);  // the warm ATR offers T=0 only
}

TEST(SimCard, PowerOffStopsEverything) {
    SimCard card = SimCard::t0_default();
    ASSERT_TRUE(card.cold_reset());
    card.power_off();
    EXPECT_EQ(card.transmit_tpdu(hex("00 B0 00 00 01"), kT0Default).error(), CardError::NotActive);
    EXPECT_FALSE(card.handle_pps(hex("FF 00 FF")));
}

// ---- PPS ----------------------------------------------------------------------------------------

Bytes pps(std::uint8_t protocol, std::optional<std::uint8_t> pps1) {
    proto::PpsRequest r;
    r.protocol = protocol;
    r.pps1 = pps1;
    return proto::build_pps_request(r).value();
}

TEST(SimCardPps, EchoesSupportedProtocolAndRate) {
    SimCard card = SimCard::t1_default();
    ASSERT_TRUE(card.cold_reset());
    const Bytes request = pps(1, 0x96);
    auto answer = card.handle_pps(request);
    ASSERT_TRUE(answer);
    EXPECT_EQ(*answer, request);
    auto checked = proto::check_pps_response(proto::PpsRequest{1, 0x96, {}, {}}, *answer);
    ASSERT_TRUE(checked);
    EXPECT_TRUE(checked->pps1_accepted);
    EXPECT_EQ(card.link(), (CardLink{1, 9, 6}));
    EXPECT_FALSE(card.pps_allowed());
    EXPECT_FALSE(card.handle_pps(request));  // only once after the ATR
}

TEST(SimCardPps, AcceptsALowerDiWithTheSameFi) {
    SimCard card = SimCard::t1_default();
    ASSERT_TRUE(card.cold_reset());
    auto answer = card.handle_pps(pps(1, 0x94));  // D = 8 < 32
    ASSERT_TRUE(answer);
    EXPECT_EQ(card.link(), (CardLink{1, 9, 4}));
}

TEST(SimCardPps, UnsupportedRateIsAnsweredAtDefaultsOrNotAtAll) {
    {
        SimCard card = SimCard::t1_default();
        ASSERT_TRUE(card.cold_reset());
        auto answer = card.handle_pps(pps(1, 0x18));  // Fi 372 is not TA1's Fi 512
        ASSERT_TRUE(answer);
        EXPECT_EQ(to_hex(*answer), "FF 01 FE");  // PPS1 left out: Fd/Dd
        auto checked = proto::check_pps_response(proto::PpsRequest{1, 0x18, {}, {}}, *answer);
        ASSERT_TRUE(checked);
        EXPECT_FALSE(checked->pps1_accepted);
        EXPECT_EQ(card.link(), kT1Default);
    }
    {
        SimCardConfig config;
        config.atr = SimCard::t1_default_atr();
        config.pps = PpsPolicy::NegotiateStrict;
        SimCard card(config);
        ASSERT_TRUE(card.cold_reset());
        EXPECT_FALSE(card.handle_pps(pps(1, 0x18)));
    }
}

TEST(SimCardPps, PoliciesAndMalformedRequests) {
    const auto answer_with = [](PpsPolicy policy, const Bytes& request) {
        SimCardConfig config;
        config.atr = SimCard::t1_default_atr();
        config.pps = policy;
        SimCard card(config);
        EXPECT_TRUE(card.cold_reset());
        return card.handle_pps(request);
    };
    EXPECT_EQ(to_hex(answer_with(PpsPolicy::DefaultsOnly, pps(1, 0x96)).value()), "FF 01 FE");
    EXPECT_FALSE(answer_with(PpsPolicy::Silent, pps(1, std::nullopt)));
    EXPECT_FALSE(answer_with(PpsPolicy::Negotiate, pps(0, std::nullopt)));  // T=0 not offered
    EXPECT_FALSE(answer_with(PpsPolicy::Negotiate, hex("FF 11 96 00")));     // bad PCK
    EXPECT_FALSE(answer_with(PpsPolicy::Negotiate, hex("FF 11 96")));        // too short for PPS0
    EXPECT_FALSE(answer_with(PpsPolicy::Negotiate, hex("FE 01 FE")));        // not PPSS
    // PPS2 is never echoed (no SPU support): the answer drops it.
    EXPECT_EQ(to_hex(answer_with(PpsPolicy::Negotiate, hex("FF 21 00 DE")).value()), "FF 01 FE");
}

TEST(SimCardPps, SpecificModeCardRunsTa1AtOnceAndRefusesPps) {
    SimCardConfig config;
    config.atr.ta1 = 0x18;
    config.atr.ta2 = 0x01;  // specific mode, T=1, Fi/Di from TA1
    SimCard card(config);
    ASSERT_TRUE(card.cold_reset());
    EXPECT_EQ(card.link(), (CardLink{1, 1, 8}));
    EXPECT_FALSE(card.pps_allowed());
    EXPECT_FALSE(card.handle_pps(pps(1, std::nullopt)));
}

TEST(SimCardPps, PpsThroughTpduPathThenTheNewRateIsRequired) {
    SimCard card = SimCard::t0_default();
    ASSERT_TRUE(card.cold_reset());
    auto answer = card.transmit_tpdu(pps(0, 0x13), kT0Default);
    ASSERT_TRUE(answer);
    EXPECT_EQ(*answer, pps(0, 0x13));
    // The reader still at Fd/Dd garbles every character now.
    EXPECT_EQ(card.transmit_tpdu(hex("80 10 00 00 01 AA"), kT0Default).error(), CardError::WrongParameters);
    EXPECT_TRUE(card.transmit_tpdu(hex("80 10 00 00 01 AA"), CardLink{0, 1, 3}));
}

// ---- T=0 ---------------------------------------------------------------------------------------

TEST(SimCardT0, TpduExchangeWithGetResponse) {
    SimCard card = SimCard::t0_default();
    ASSERT_TRUE(card.cold_reset());
    auto first = card.transmit_tpdu(hex("80 10 00 00 03 01 02 03"), kT0Default);  // ECHO, case 3 TPDU
    ASSERT_TRUE(first);
    EXPECT_EQ(to_hex(*first), "61 03");
    auto rest = card.transmit_tpdu(hex("00 C0 00 00 03"), kT0Default);
    ASSERT_TRUE(rest);
    EXPECT_EQ(to_hex(*rest), "01 02 03 90 00");
    EXPECT_EQ(card.apdus_processed(), 1u);
    EXPECT_EQ(card.last_apdu()[1], kInsEcho);
}

TEST(SimCardT0, LinkChecks) {
    SimCard card = SimCard::t0_default();
    ASSERT_TRUE(card.cold_reset());
    EXPECT_EQ(card.transmit_tpdu(hex("00 B0 00 00 01"), CardLink{1, 1, 1}).error(), CardError::WrongProtocol);
    EXPECT_EQ(card.transmit_tpdu(hex("00 B0 00 00 01"), CardLink{0, 1, 3}).error(), CardError::WrongParameters);
    EXPECT_EQ(card.transmit_tpdu(hex("00 B0 00"), kT0Default).error(), CardError::BadTpdu);
}

TEST(SimCardT0, InvalidProcedureByteIsAConflict) {
    SimCardConfig config;
    config.atr = SimCard::t0_default_atr();
    config.t0.faults.wrong_procedure_byte = true;
    SimCard card(config);
    ASSERT_TRUE(card.cold_reset());
    EXPECT_EQ(card.transmit_tpdu(hex("80 10 00 00 01 AA"), kT0Default).error(), CardError::ProcedureByteConflict);
}

TEST(SimCardT0, CharacterLevelHeaderProcedureByteDataStatus) {
    SimCard card = SimCard::t0_default();
    ASSERT_TRUE(card.cold_reset());
    // PPS at character level first: FF 10 13 FC, one character at a time.
    Bytes answer;
    for (const std::uint8_t c : pps(0, 0x13)) {
        const Bytes out = card.on_reader_chars(ByteView(&c, 1), kT0Default);
        answer.insert(answer.end(), out.begin(), out.end());
    }
    EXPECT_EQ(answer, pps(0, 0x13));
    const CardLink fast{0, 1, 3};
    // Header of an incoming command: the card answers with ACK (= INS).
    EXPECT_EQ(to_hex(card.on_reader_chars(hex("80 10 00 00 02"), fast)), "10");
    EXPECT_EQ(to_hex(card.on_reader_chars(hex("AB CD"), fast)), "61 02");
    EXPECT_EQ(to_hex(card.on_reader_chars(hex("00 C0 00 00 02"), fast)), "C0 AB CD 90 00");
}

// ---- T=1 ---------------------------------------------------------------------------------------

TEST(SimCardT1, BlockExchange) {
    SimCard card = SimCard::t1_default();
    ASSERT_TRUE(card.cold_reset());
    const Bytes apdu = hex("80 10 00 00 02 CA FE 00");
    const Bytes block = proto::encode(proto::T1Block::i_block(0, 0, false, apdu), proto::T1Edc::Lrc).value();
    auto answer = card.transmit_tpdu(block, kT1Default);
    ASSERT_TRUE(answer);
    auto decoded = proto::decode(*answer, proto::T1Edc::Lrc);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->type(), proto::T1BlockType::I);
    EXPECT_EQ(to_hex(decoded->inf), "CA FE 90 00");
}

TEST(SimCardT1, CharacterLevelCollectsWholeBlocks) {
    SimCard card = SimCard::t1_default();
    ASSERT_TRUE(card.cold_reset());
    const Bytes block =
        proto::encode(proto::T1Block::i_block(0, 0, false, hex("80 10 00 00 01 77 00")), proto::T1Edc::Lrc).value();
    Bytes out;
    for (std::size_t i = 0; i < block.size(); ++i) {
        const Bytes part = card.on_reader_chars(ByteView(block).subspan(i, 1), kT1Default);
        if (i + 1 < block.size()) {
            EXPECT_TRUE(part.empty());
        }
        out.insert(out.end(), part.begin(), part.end());
    }
    auto decoded = proto::decode(out, proto::T1Edc::Lrc);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(to_hex(decoded->inf), "77 90 00");
}

// ---- APDU path (the reader runs the protocol) ---------------------------------------------------

ApduPathOptions options_for(const SimCard& card) {
    ApduPathOptions o;
    o.link = card.link();
    o.ifsc = card.parsed_atr().t1.ifsc;
    o.edc = card.parsed_atr().t1.edc == proto::Edc::Crc ? proto::T1Edc::Crc : proto::T1Edc::Lrc;
    return o;
}

TEST(SimCardApdu, T1ExtendedEchoIsChainedBothWays) {
    SimCard card = SimCard::t1_default();
    ASSERT_TRUE(card.cold_reset());
    Bytes data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
    const Bytes apdu =
        proto::build_case4(kEchoCla, kInsEcho, 0, 0, data, 1000, proto::LengthEncoding::Extended).value();
    auto result = card.transmit_apdu(apdu, options_for(card));
    ASSERT_TRUE(result) << to_string(result.error()) << " " << card.last_engine_error();
    Bytes expected = data;
    expected.push_back(0x90);
    expected.push_back(0x00);
    EXPECT_EQ(result->response, expected);
    // S(IFS request), 4 I-blocks for the 1009-byte command, 3 R-blocks pulling the rest of
    // the 1002-byte response (4 blocks of at most 254 bytes).
    EXPECT_EQ(result->transfers, 8u);
    EXPECT_EQ(card.t1().ifsd(), 254);  // the reader announced IFSD 254 first
}

TEST(SimCardApdu, T0LargeResponseThroughGetResponse) {
    SimCard card = SimCard::t0_default();
    ASSERT_TRUE(card.cold_reset());
    const Bytes apdu = proto::build_case2(kEchoCla, kInsPattern, 0, 5, 300, proto::LengthEncoding::Extended).value();
    auto result = card.transmit_apdu(apdu, options_for(card));
    ASSERT_TRUE(result) << to_string(result.error()) << " " << card.last_engine_error();
    Bytes expected = echo_pattern(300, 5);
    expected.push_back(0x90);
    expected.push_back(0x00);
    EXPECT_EQ(result->response, expected);
    EXPECT_GE(card.t0().stats().get_responses, 1u);
}

TEST(SimCardApdu, T0GetResponseAndEnvelopeUseTheReadersClass) {
    SimCard card = SimCard::t0_default();
    ASSERT_TRUE(card.cold_reset());
    ApduPathOptions o = options_for(card);
    o.get_response_cla = 0x00;
    o.envelope_cla = 0xA0;
    // Case 4 short: the command, then GET RESPONSE with the configured class.
    auto r = card.transmit_apdu(proto::build_case4(kEchoCla, kInsEcho, 0, 0, hex("01 02"), 2).value(), o);
    ASSERT_TRUE(r);
    EXPECT_EQ(to_hex(r->response), "01 02 90 00");
    ASSERT_EQ(r->t0_headers.size(), 2u);
    EXPECT_EQ(to_hex(r->t0_headers[0]), "80 10 00 00 02");
    EXPECT_EQ(to_hex(r->t0_headers[1]), "00 C0 00 00 02");
    // Extended command: ENVELOPE segments with the configured class.
    const Bytes big = proto::build_case3(kEchoCla, kInsEcho, 0, 0, Bytes(300, 0x11)).value();
    r = card.transmit_apdu(big, o);
    ASSERT_TRUE(r);
    EXPECT_EQ(to_hex(r->response), "90 00");
    ASSERT_GE(r->t0_headers.size(), 3u);
    for (const Bytes& h : r->t0_headers) {
        EXPECT_EQ(h[0], 0xA0);
        EXPECT_EQ(h[1], 0xC2);
    }
    // Without configured classes the command's class is echoed.
    r = card.transmit_apdu(proto::build_case4(kEchoCla, kInsEcho, 0, 0, hex("03"), 1).value(), options_for(card));
    ASSERT_TRUE(r);
    EXPECT_EQ(to_hex(r->t0_headers.back()), "80 C0 00 00 01");
}

TEST(SimCardApdu, CardWtxRequestsAreReported) {
    SimCardConfig config;
    config.atr = SimCard::t1_default_atr();
    config.t1.wtx_requests = 2;
    config.t1.wtx_multiplier = 3;
    SimCard card(config);
    ASSERT_TRUE(card.cold_reset());
    auto result = card.transmit_apdu(hex("00 A4 00 0C 02 3F 00"), options_for(card));
    ASSERT_TRUE(result);
    EXPECT_EQ(to_hex(result->response), "90 00");
    EXPECT_EQ(result->wtx, (std::vector<std::uint8_t>{3, 3}));
}

TEST(SimCardApdu, WrongReaderParametersFail) {
    SimCard card = SimCard::t1_default();
    ASSERT_TRUE(card.cold_reset());
    ApduPathOptions o = options_for(card);
    o.edc = proto::T1Edc::Crc;  // the card uses LRC
    auto result = card.transmit_apdu(hex("00 A4 00 0C 02 3F 00"), o);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), CardError::ProtocolFailure);
    EXPECT_FALSE(card.last_engine_error().empty());

    o = options_for(card);
    o.link.protocol = 0;
    EXPECT_EQ(card.transmit_apdu(hex("00 A4 00 0C 02 3F 00"), o).error(), CardError::WrongProtocol);
    ASSERT_TRUE(card.cold_reset());
    EXPECT_EQ(card.transmit_apdu({}, options_for(card)).error(), CardError::BadApdu);
}

// ---- Faults ------------------------------------------------------------------------------------

TEST(SimCardFaults, MuteCardAnswersNothing) {
    SimCard card = SimCard::t1_default();
    card.set_mute(true);
    EXPECT_EQ(card.cold_reset().error(), CardError::Mute);
    card.set_mute(false);
    ASSERT_TRUE(card.cold_reset());
    card.set_mute(true);
    EXPECT_EQ(card.transmit_apdu(hex("00 A4 00 0C 02 3F 00"), options_for(card)).error(), CardError::Mute);
}

TEST(SimCardFaults, MuteAfterNApdus) {
    SimCardConfig config;
    config.atr = SimCard::t1_default_atr();
    config.mute_after_apdus = 2;
    SimCard card(config);
    ASSERT_TRUE(card.cold_reset());
    const Bytes select = hex("00 A4 00 0C 02 3F 00");
    EXPECT_TRUE(card.transmit_apdu(select, options_for(card)));
    EXPECT_TRUE(card.transmit_apdu(select, options_for(card)));
    EXPECT_EQ(card.transmit_apdu(select, options_for(card)).error(), CardError::Mute);
    EXPECT_EQ(card.apdus_processed(), 3u);  // the third reached the application
    EXPECT_EQ(card.cold_reset().error(), CardError::Mute);
    card.set_mute_after_apdus(std::nullopt);
    ASSERT_TRUE(card.cold_reset());
    EXPECT_TRUE(card.transmit_apdu(select, options_for(card)));
}

TEST(SimCardFaults, T0MuteAfterNApdusOnTpduPath) {
    SimCardConfig config;
    config.atr = SimCard::t0_default_atr();
    config.mute_after_apdus = 1;
    SimCard card(config);
    ASSERT_TRUE(card.cold_reset());
    EXPECT_EQ(to_hex(card.transmit_tpdu(hex("80 10 00 00 01 AA"), kT0Default).value()), "61 01");
    // GET RESPONSE is transport, not a new APDU: still answered.
    EXPECT_EQ(to_hex(card.transmit_tpdu(hex("00 C0 00 00 01"), kT0Default).value()), "AA 90 00");
    EXPECT_EQ(card.transmit_tpdu(hex("80 10 00 00 01 AA"), kT0Default).error(), CardError::Mute);
}

TEST(SimCardFaults, T1CardFaultsPassThrough) {
    SimCardConfig config;
    config.atr = SimCard::t1_default_atr();
    config.t1.faults.push_back(T1CardFault{T1FaultWhere::Sent, 1, T1FaultKind::CorruptEdc, 1});
    SimCard card(config);
    ASSERT_TRUE(card.cold_reset());
    // The reader's T=1 engine recovers from one corrupted block (R-block, retransmission).
    auto result = card.transmit_apdu(hex("80 10 00 00 01 42 00"), options_for(card));
    ASSERT_TRUE(result);
    EXPECT_EQ(to_hex(result->response), "42 90 00");
    // Without the fault: S(IFS request) and one I-block. The NAK for the corrupted block is extra.
    EXPECT_GE(card.t1().stats().blocks_received, 3u);
}

// ---- PIN check application ----------------------------------------------------------------------

TEST(PinCheckApp, VerifyCountsTriesAndBlocks) {
    PinCheckApp app(std::make_unique<FileSystemApp>(), 0x81, Bytes{'1', '2', '3', '4'}, 2);
    EXPECT_EQ(to_hex(app.process(hex("00 20 00 81"))), "63 C2");
    EXPECT_EQ(to_hex(app.process(hex("00 20 00 81 04 31 32 33 35"))), "63 C1");
    EXPECT_EQ(to_hex(app.process(hex("00 20 00 81 04 31 32 33 34"))), "90 00");
    EXPECT_TRUE(app.verified());
    EXPECT_EQ(app.tries_left(), 2u);
    EXPECT_EQ(to_hex(app.process(hex("00 20 00 82 04 31 32 33 34"))), "6A 88");
    EXPECT_EQ(to_hex(app.process(hex("00 20 00 81 01 30"))), "63 C1");
    EXPECT_EQ(to_hex(app.process(hex("00 20 00 81 01 30"))), "69 83");
    EXPECT_EQ(to_hex(app.process(hex("00 20 00 81 04 31 32 33 34"))), "69 83");
    // Other commands reach the inner application.
    EXPECT_EQ(to_hex(app.process(hex("00 A4 00 0C 02 3F 00"))), "90 00");
}

TEST(PinCheckApp, ChangeReferenceData) {
    PinCheckApp app(nullptr, 0x81, Bytes{'1', '2'});
    EXPECT_EQ(to_hex(app.process(hex("00 24 00 81 04 31 32 39 39"))), "90 00");
    EXPECT_EQ(app.reference(), (Bytes{'9', '9'}));
    app.reset();
    EXPECT_EQ(to_hex(app.process(hex("00 24 01 81 02 35 35"))), "69 85");  // needs VERIFY first
    EXPECT_EQ(to_hex(app.process(hex("00 20 00 81 02 39 39"))), "90 00");
    EXPECT_EQ(to_hex(app.process(hex("00 24 01 81 02 35 35"))), "90 00");
    EXPECT_EQ(app.reference(), (Bytes{'5', '5'}));
}

}  // namespace
}  // namespace ccidkit::sim

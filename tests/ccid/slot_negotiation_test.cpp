// Parameter set-up after the ATR against ReaderSim: readers that negotiate by themselves
// (automatic PPS, proprietary negotiation), host-driven PPS with the data-rate list, the
// fallback after a failed PPS, the SetParameters structure, the T=1 IFSD exchange, and the
// caller's protocol choice.
#include "ccid/reader.h"

#include <gtest/gtest.h>

#include "sim/reader/reader_sim.h"
#include "slot_rig.h"

using namespace ccidkit;
using namespace ccidkit::ccid;
using namespace ccidkit::ccid::testing;

namespace {

// TPDU reader that leaves PPS to the host: automatic configuration from the ATR, clock and
// baud rate, but neither automatic PPS (80h) nor proprietary negotiation (40h).
sim::ReaderSimConfig host_pps_reader() {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.dwFeatures = kLevelTpdu | 0x02 | 0x08 | 0x10 | 0x20;
    return config;
}

sim::SimCard card_with(const sim::AtrSpec& spec, sim::PpsPolicy pps = sim::PpsPolicy::Negotiate) {
    sim::SimCardConfig c;
    c.atr = spec;
    c.pps = pps;
    return sim::SimCard(c);
}

std::uint8_t fidi(const ProtocolParameters& p) {
    return std::visit([](const auto& s) { return s.bmFindexDindex; }, p);
}

const Bytes kEcho2{0x80, 0x10, 0x00, 0x00, 0x02, 0xCA, 0xFE, 0x02};
const Bytes kEcho2Response{0xCA, 0xFE, 0x90, 0x00};

}  // namespace

TEST(SlotNegotiation, AutomaticPpsReaderGetsTheChoiceBySetParameters) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_FALSE(s->pps_exchanged);  // the reader ran the PPS
    EXPECT_TRUE(s->parameters_from_reader);
    EXPECT_EQ(fidi(s->parameters), 0x96);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrSetParameters), 1u);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrGetParameters), 1u);
    EXPECT_EQ(rig.sim->card(0)->link(), (sim::CardLink{1, 9, 6}));
    EXPECT_EQ(s->timing.f, 512);
    EXPECT_EQ(s->timing.d, 32);
    auto r = rig.slot().transmit(kEcho2);
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, kEcho2Response);
}

TEST(SlotNegotiation, HostSendsThePpsThroughXfrBlock) {
    Rig rig = open_rig(host_pps_reader(), sim::SimCard::t1_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_TRUE(s->pps_exchanged);
    EXPECT_FALSE(s->negotiation_fallback);
    EXPECT_EQ(fidi(s->parameters), 0x96);
    ASSERT_TRUE(s->choice);
    EXPECT_TRUE(s->choice->host_sends_pps);
    EXPECT_EQ(rig.sim->card(0)->link(), (sim::CardLink{1, 9, 6}));
    EXPECT_EQ(rig.sim->slot_state(0).parameters, s->parameters);
    auto r = rig.slot().transmit(kEcho2);
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, kEcho2Response);
}

TEST(SlotNegotiation, HostPpsForT0) {
    Rig rig = open_rig(host_pps_reader(), sim::SimCard::t0_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_TRUE(s->pps_exchanged);
    EXPECT_EQ(s->protocol, 0);
    EXPECT_EQ(fidi(s->parameters), 0x13);
    EXPECT_EQ(rig.sim->card(0)->link(), (sim::CardLink{0, 1, 3}));
    auto r = rig.slot().transmit(Bytes{0x80, 0x12, 0x00, 0x07, 0x03});  // PATTERN, Le 3
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(r->size(), 5u);
}

TEST(SlotNegotiation, DataRateListLowersTheRate) {
    auto config = host_pps_reader();
    config.descriptor.bNumDataRatesSupported = 3;
    config.data_rates_bps = {10752, 21505, 125000};  // 250000 (TA1 = 96 at 4 MHz) is not there
    Rig rig = open_rig(config, sim::SimCard::t1_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    ASSERT_TRUE(s->choice);
    EXPECT_EQ(s->choice->rate_choice, proto::RateChoice::Ta1LowerDi);
    EXPECT_EQ(fidi(s->parameters), 0x95);  // Fi 512, Di 16: 125000 bit/s
    EXPECT_EQ(rig.sim->card(0)->link(), (sim::CardLink{1, 9, 5}));
    EXPECT_TRUE(rig.slot().transmit(kEcho2));
}

TEST(SlotNegotiation, FailedPpsFallsBackToTheDefaultProtocolOnce) {
    Rig rig = open_rig(host_pps_reader(), card_with(sim::SimCard::t1_default_atr(), sim::PpsPolicy::Silent));
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_TRUE(s->negotiation_fallback);
    EXPECT_FALSE(s->pps_exchanged);
    EXPECT_EQ(fidi(s->parameters), 0x11);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrIccPowerOn), 2u);  // the cold reset of the fallback
    EXPECT_EQ(rig.sim->card(0)->link(), (sim::CardLink{1, 1, 1}));
    auto r = rig.slot().transmit(kEcho2);
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, kEcho2Response);
}

// A reader that only runs Fd/Dd (its data-rate list holds 10752 bit/s alone, and it does not
// say so: bNumDataRatesSupported 0) refuses SetParameters after the card accepted the host's
// PPS. GetParameters then shows T=0/T=1 at Fi/Di 11h while the card runs TA1's rate: the
// driver must not accept that, but reset the card back to its defaults.
sim::ReaderSimConfig fd_dd_only_reader() {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.dwFeatures = 0x00010030;  // TPDU, automatic clock and baud rate only
    config.descriptor.bNumDataRatesSupported = 0;
    config.data_rates_bps = {10752};
    return config;
}

TEST(SlotNegotiation, ReaderRefusingThePpsRateGetsTheCardBackAtFdDdT0) {
    Rig rig = open_rig(fd_dd_only_reader(), sim::SimCard::t0_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_FALSE(s->pps_exchanged);  // undone by the cold reset
    EXPECT_TRUE(s->negotiation_fallback);
    EXPECT_EQ(s->protocol, 0);
    EXPECT_EQ(fidi(s->parameters), 0x11);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrIccPowerOn), 2u);
    EXPECT_EQ(rig.sim->card(0)->link(), (sim::CardLink{0, 1, 1}));
    // Case 4 over T=0: the card's 61 01 reaches the caller (no automatic GET RESPONSE by
    // default); before the fix this ended in XFR_PARITY_ERROR.
    auto r = rig.slot().transmit(Bytes{0x80, 0x10, 0x00, 0x00, 0x01, 0x00, 0x01});
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, (Bytes{0x61, 0x01}));
}

TEST(SlotNegotiation, ReaderRefusingThePpsRateGetsTheCardBackAtFdDdT1) {
    Rig rig = open_rig(fd_dd_only_reader(), sim::SimCard::t1_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_TRUE(s->negotiation_fallback);
    EXPECT_EQ(s->protocol, 1);
    EXPECT_EQ(fidi(s->parameters), 0x11);
    EXPECT_EQ(rig.sim->card(0)->link(), (sim::CardLink{1, 1, 1}));
    auto r = rig.slot().transmit(kEcho2);
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, kEcho2Response);
}

TEST(SlotNegotiation, PpsAnsweredWithoutPps1KeepsFdDd) {
    Rig rig = open_rig(host_pps_reader(), card_with(sim::SimCard::t1_default_atr(), sim::PpsPolicy::DefaultsOnly));
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_TRUE(s->pps_exchanged);
    EXPECT_EQ(fidi(s->parameters), 0x11);
    EXPECT_TRUE(rig.slot().transmit(kEcho2));
}

TEST(SlotNegotiation, ProprietaryNegotiationIsOnlyRead) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.dwFeatures = kLevelTpdu | 0x02 | 0x08 | 0x10 | 0x20 | 0x40;
    Rig rig = open_rig(config, sim::SimCard::t1_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_TRUE(s->parameters_from_reader);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrSetParameters), 0u);
    EXPECT_EQ(fidi(s->parameters), 0x96);
    EXPECT_TRUE(rig.slot().transmit(kEcho2));
}

TEST(SlotNegotiation, SetParametersCarriesTheAtrValues) {
    sim::AtrSpec spec = sim::SimCard::t0_default_atr();
    spec.tc1 = 3;
    spec.wi = 0x20;
    spec.clock_stop = proto::ClockStop::StateH;
    auto config = host_pps_reader();
    config.descriptor.dwFeatures |= 0x100;  // the reader can stop the clock
    Rig rig = open_rig(config, card_with(spec));
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    const T0Parameters expected{0x13, 0x00, 3, 0x20, 2};
    EXPECT_EQ(std::get<T0Parameters>(rig.sim->slot_state(0).parameters), expected);
    EXPECT_EQ(s->timing.wi, 0x20);
    EXPECT_EQ(s->timing.extra_guard_time, 3);
}

TEST(SlotNegotiation, T1IfsdIsAnnouncedWithoutAutomaticIfsd) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_TRUE(s->ifsd_exchanged);
    EXPECT_EQ(s->ifsd, 254);
    EXPECT_EQ(rig.sim->card(0)->t1().stats().ifs_requests, 1u);
    EXPECT_EQ(rig.sim->card(0)->t1().ifsd(), 254);
}

TEST(SlotNegotiation, NoIfsdExchangeWhenTheReaderDoesIt) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.dwFeatures |= 0x400;
    Rig rig = open_rig(config, sim::SimCard::t1_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_FALSE(s->ifsd_exchanged);
    EXPECT_EQ(rig.sim->card(0)->t1().stats().ifs_requests, 0u);
}

TEST(SlotNegotiation, CallerChoosesTheProtocol) {
    sim::AtrSpec both = sim::SimCard::t0_default_atr();
    both.t1 = true;  // T=0 first (the default), T=1 offered too
    for (const bool host_pps : {false, true}) {
        Rig rig = open_rig(host_pps ? host_pps_reader() : sim::make_reader_config(ExchangeLevel::Tpdu), card_with(both));
        PowerOnOptions t1_only;
        t1_only.protocols = proto::protocol_bit(1);
        auto s = rig.slot().power_on(t1_only);
        ASSERT_TRUE(s) << describe(s.error());
        EXPECT_EQ(s->protocol, 1) << "host_pps=" << host_pps;
        EXPECT_EQ(rig.sim->card(0)->link().protocol, 1);
        EXPECT_TRUE(rig.slot().transmit(kEcho2));

        PowerOnOptions any;
        auto again = rig.slot().power_on(any);
        ASSERT_TRUE(again) << describe(again.error());
        EXPECT_EQ(again->protocol, 0);
    }
}

TEST(SlotNegotiation, NoCommonProtocolIsRefused) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.dwProtocols = 0x01;  // T=0 only
    Rig rig = open_rig(config, sim::SimCard::t1_default());
    auto s = rig.slot().power_on();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ReaderErrc::NoCommonProtocol);
    EXPECT_FALSE(rig.sim->slot_state(0).powered);
}

TEST(SlotNegotiation, SpecificModeWithImplicitParametersIsRefused) {
    sim::AtrSpec spec = sim::SimCard::t1_default_atr();
    spec.ta2 = 0x11;  // specific mode, T=1, implicit Fi/Di
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), card_with(spec));
    auto s = rig.slot().power_on();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ReaderErrc::UnsupportedCard);
}

TEST(SlotNegotiation, SpecificModeUsesTa1WithoutPps) {
    sim::AtrSpec spec = sim::SimCard::t1_default_atr();
    spec.ta2 = 0x01;  // specific mode, T=1, Fi/Di of TA1
    Rig rig = open_rig(host_pps_reader(), card_with(spec));
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_FALSE(s->pps_exchanged);
    EXPECT_EQ(fidi(s->parameters), 0x96);
    EXPECT_TRUE(rig.slot().transmit(kEcho2));
}

TEST(SlotNegotiation, DiagnosticParameterAccess) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default());
    ASSERT_TRUE(rig.slot().power_on());
    auto p = rig.slot().get_parameters();
    ASSERT_TRUE(p) << describe(p.error());
    EXPECT_EQ(fidi(*p), 0x96);
    T1Parameters bad = std::get<T1Parameters>(*p);
    bad.bmWaitingIntegersT1 = 0xA5;  // BWI 10 is RFU
    auto refused = rig.slot().set_parameters(bad);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ReaderErrc::BadParameter);
    EXPECT_NE(describe(refused.error()).find("abProtocolDataStructure[3]"), std::string::npos);  // bmWaitingIntegersT1
}

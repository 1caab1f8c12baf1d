// Slot power management against ReaderSim: cold power-on, the voltage sequence, unusable ATRs,
// warm reset, power off, status, and cards that are absent, mute or removed.
#include "ccid/reader.h"

#include <gtest/gtest.h>

#include "sim/reader/reader_sim.h"
#include "slot_rig.h"

using namespace ccidkit;
using namespace ccidkit::ccid;
using namespace ccidkit::ccid::testing;

namespace {

// A TPDU reader that does not pick the voltage itself (dwFeatures without 08h).
sim::ReaderSimConfig manual_voltage_reader(std::uint8_t voltages = 0x07) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.dwFeatures &= ~0x00000008u;
    config.descriptor.bVoltageSupport = voltages;
    return config;
}

sim::SimCard t1_card_of_classes(std::uint8_t classes) {
    sim::SimCardConfig c;
    c.atr = sim::SimCard::t1_default_atr();
    c.atr.classes = classes;
    return sim::SimCard(c);
}

sim::SimCard card_with_raw_atr(Bytes atr) {
    sim::SimCardConfig c;
    c.raw_atr = std::move(atr);
    return sim::SimCard(c);
}

}  // namespace

TEST(SlotPower, ColdPowerOnReturnsTheAtr) {
    auto card = sim::SimCard::t1_default();
    const Bytes atr = card.atr();
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), std::move(card));
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_EQ(s->atr, atr);
    EXPECT_EQ(s->protocol, 1);
    EXPECT_EQ(s->voltage, PowerSelect::Automatic);  // the reader picks the voltage (dwFeatures 08h)
    EXPECT_EQ(s->power_on_attempts, 1u);
    EXPECT_TRUE(rig.slot().active());
    auto status = rig.slot().status();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->presence, CardPresence::PresentActive);
}

TEST(SlotPower, VoltageSequenceStepsDownToTheCardsClass) {
    Rig rig = open_rig(manual_voltage_reader(), t1_card_of_classes(proto::kClassC));
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_EQ(s->voltage, PowerSelect::V1_8);
    EXPECT_EQ(s->power_on_attempts, 3u);  // 5 V and 3 V refused with ICC_CLASS_NOT_SUPPORTED
    EXPECT_EQ(rig.sent(MessageType::PcToRdrIccPowerOn), 3u);
}

TEST(SlotPower, VoltageSequenceStartsAtTheHighestSupportedVoltage) {
    Rig rig = open_rig(manual_voltage_reader(kVoltage3V | kVoltage1V8), t1_card_of_classes(proto::kClassB | proto::kClassC));
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_EQ(s->voltage, PowerSelect::V3_0);
    EXPECT_EQ(s->power_on_attempts, 1u);
}

TEST(SlotPower, NoCommonVoltageIsNamed) {
    Rig rig = open_rig(manual_voltage_reader(kVoltage5V), t1_card_of_classes(proto::kClassB));
    auto s = rig.slot().power_on();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ReaderErrc::VoltageNotSupported);
    EXPECT_FALSE(rig.slot().active());
}

TEST(SlotPower, MuteCardIsTriedAtEveryVoltage) {
    auto card = sim::SimCard::t1_default();
    card.set_mute(true);
    Rig rig = open_rig(manual_voltage_reader(), std::move(card));
    auto s = rig.slot().power_on();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ReaderErrc::CardMute);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrIccPowerOn), 3u);
}

TEST(SlotPower, NoCardIsCardRemoved) {
    Rig rig = open_rig(manual_voltage_reader(), std::nullopt);
    auto s = rig.slot().power_on();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ReaderErrc::CardRemoved);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrIccPowerOn), 1u);  // no voltage sequence for an empty slot
    auto status = rig.slot().status();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->presence, CardPresence::Absent);
}

TEST(SlotPower, AtrWithBadTsIsRefused) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), card_with_raw_atr({0x42, 0x00}));
    auto s = rig.slot().power_on();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ReaderErrc::InvalidAtr);  // the reader said BAD_ATR_TS
    ASSERT_TRUE(s.error().slot_error);
    EXPECT_EQ(s.error().slot_error->kind, SlotErrorKind::BadAtrTs);
}

TEST(SlotPower, TruncatedAtrIsRefusedAndTheCardPoweredOff) {
    // T0 = 10 announces TA1, which never comes; the reader passes it on unchecked.
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), card_with_raw_atr({0x3B, 0x10}));
    auto s = rig.slot().power_on();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ReaderErrc::InvalidAtr);
    EXPECT_NE(s.error().detail.find("3B 10"), std::string::npos);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrIccPowerOff), 1u);
    EXPECT_FALSE(rig.sim->slot_state(0).powered);
}

TEST(SlotPower, WarmResetKeepsPowerAndSetsUpAgain) {
    sim::SimCardConfig c;
    c.atr = sim::SimCard::t1_default_atr();
    sim::AtrSpec warm = c.atr;
    warm.ta1.reset();  // the warm ATR offers no faster rate
    c.warm_atr = sim::build_atr(warm);
    const Bytes warm_atr = *c.warm_atr;
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard(c));
    ASSERT_TRUE(rig.slot().power_on());
    const auto offs = rig.sent(MessageType::PcToRdrIccPowerOff);
    auto s = rig.slot().warm_reset();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_EQ(s->atr, warm_atr);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrIccPowerOff), offs);  // no power cycle
    EXPECT_EQ(std::get<T1Parameters>(s->parameters).bmFindexDindex, 0x11);
    auto r = rig.slot().transmit(Bytes{0x80, 0x10, 0x00, 0x00, 0x01, 0xAB, 0x01});
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, (Bytes{0xAB, 0x90, 0x00}));
}

TEST(SlotPower, WarmResetOfAnInactiveSlotIsAColdPowerOn) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t0_default());
    auto s = rig.slot().warm_reset();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_EQ(s->protocol, 0);
}

TEST(SlotPower, PowerOffEndsTheSession) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t0_default());
    ASSERT_TRUE(rig.slot().power_on());
    ASSERT_TRUE(rig.slot().power_off());
    EXPECT_FALSE(rig.slot().active());
    EXPECT_FALSE(rig.slot().session());
    auto status = rig.slot().status();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->presence, CardPresence::PresentInactive);
    auto r = rig.slot().transmit(Bytes{0x00, 0xA4, 0x00, 0x00});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::CardNotPowered);
}

TEST(SlotPower, PowerOnWithoutNegotiation) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default());
    PowerOnOptions options;
    options.negotiate = false;
    auto s = rig.slot().power_on(options);
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_FALSE(s->negotiated);
    EXPECT_EQ(s->protocol, 1);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrSetParameters), 0u);
    EXPECT_EQ(rig.sent(MessageType::PcToRdrGetParameters), 0u);
    EXPECT_EQ(rig.sim->card(0)->t1().stats().ifs_requests, 0u);
}

TEST(SlotPower, CardPulledOutIsCardRemoved) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default());
    ASSERT_TRUE(rig.slot().power_on());
    rig.sim->remove_card(0);  // nobody reads the interrupt pipe: the reader's answer tells
    auto r = rig.slot().transmit(Bytes{0x80, 0x10, 0x00, 0x00, 0x01, 0x01, 0x01});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::CardRemoved);
    EXPECT_FALSE(rig.slot().active());
}

TEST(SlotPower, StatusSeesADeactivatedCard) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default());
    ASSERT_TRUE(rig.slot().power_on());
    rig.sim->inject_hardware_error(0);
    auto status = rig.slot().status();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->presence, CardPresence::PresentInactive);
    EXPECT_FALSE(rig.slot().active());
}

TEST(SlotPower, InvalidSlotIndex) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), std::nullopt);
    EXPECT_EQ(rig.reader->slot(1), nullptr);
    EXPECT_EQ(rig.reader->slot_count(), 1u);
}

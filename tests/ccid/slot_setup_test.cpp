// The pure decisions of slot set-up: voltage sequence, retry rules, class indicator, ATR
// usability, SetParameters structures and the timing they imply.
#include "ccid/slot_setup.h"

#include <gtest/gtest.h>

#include "ccid/descriptor_meaning.h"
#include "protocol/atr.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

ReaderError slot_failure(std::uint8_t bError) {
    return from_failed_status(Status::make(IccStatus::PresentInactive, CommandStatus::Failed, bError),
                              MessageType::PcToRdrIccPowerOn);
}

proto::Atr atr_of(const char* hex) {
    auto parse = proto::parse_atr(*from_hex(hex));
    EXPECT_TRUE(parse.ok()) << hex << ": " << proto::to_string(parse.error);
    return parse.atr;
}

}  // namespace

TEST(SlotSetup, VoltageSequenceFollowsTheDescriptor) {
    using V = std::vector<PowerSelect>;
    EXPECT_EQ(voltage_sequence(true, 0x07), V{PowerSelect::Automatic});
    EXPECT_EQ(voltage_sequence(false, 0x07), (V{PowerSelect::V5_0, PowerSelect::V3_0, PowerSelect::V1_8}));
    EXPECT_EQ(voltage_sequence(false, kVoltage3V | kVoltage1V8), (V{PowerSelect::V3_0, PowerSelect::V1_8}));
    EXPECT_EQ(voltage_sequence(false, kVoltage5V), V{PowerSelect::V5_0});
    EXPECT_EQ(voltage_sequence(false, 0), V{PowerSelect::Automatic});
}

TEST(SlotSetup, RetryAtNextVoltageOnlyForVoltageRelatedFailures) {
    EXPECT_TRUE(retry_at_next_voltage(slot_failure(0xF5)));   // ICC_CLASS_NOT_SUPPORTED
    EXPECT_TRUE(retry_at_next_voltage(slot_failure(0xFE)));   // ICC_MUTE
    EXPECT_TRUE(retry_at_next_voltage(slot_failure(0x07)));   // bPowerSelect rejected
    EXPECT_FALSE(retry_at_next_voltage(slot_failure(0x05)));  // bSlot rejected
    EXPECT_FALSE(retry_at_next_voltage(slot_failure(0xFB)));  // HW_ERROR
    EXPECT_FALSE(retry_at_next_voltage(make_error(ReaderErrc::Timeout)));
    // Absent card: CardRemoved, whatever bError says.
    const auto absent = from_failed_status(Status::make(IccStatus::Absent, CommandStatus::Failed, 0xFE),
                                           MessageType::PcToRdrIccPowerOn);
    EXPECT_EQ(absent.code, ReaderErrc::CardRemoved);
    EXPECT_FALSE(retry_at_next_voltage(absent));
}

TEST(SlotSetup, ClassIndicatorMovesToASupportedVoltage) {
    // T=0, TD1 = 80 -> TD2 = 1F: T=15 group, TA3 = 02 (class B only), TCK.
    const proto::Atr class_b = atr_of("3B 80 80 1F 02 1D");
    ASSERT_TRUE(class_b.t15_ta);
    const std::vector<PowerSelect> rest{PowerSelect::V3_0, PowerSelect::V1_8};
    EXPECT_EQ(class_indicator_fallback(class_b, PowerSelect::V5_0, rest), PowerSelect::V3_0);
    EXPECT_EQ(class_indicator_fallback(class_b, PowerSelect::V3_0, {}), std::nullopt);
    EXPECT_EQ(class_indicator_fallback(class_b, PowerSelect::V5_0, std::vector{PowerSelect::V1_8}), std::nullopt);
    EXPECT_EQ(class_indicator_fallback(class_b, PowerSelect::Automatic, rest), std::nullopt);
    // No class indicator: class A only, nothing to do at 5 V.
    const proto::Atr plain = atr_of("3B 00");
    EXPECT_EQ(class_indicator_fallback(plain, PowerSelect::V5_0, rest), std::nullopt);
}

TEST(SlotSetup, UnusableAtrsAreRefusedWithTheReason) {
    EXPECT_TRUE(check_atr_usable(proto::parse_atr(*from_hex("3B 00"))));
    auto empty = check_atr_usable(proto::parse_atr({}));
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, ReaderErrc::InvalidAtr);
    auto bad_ts = check_atr_usable(proto::parse_atr(*from_hex("42 00")));
    ASSERT_FALSE(bad_ts);
    EXPECT_NE(bad_ts.error().detail.find("42"), std::string::npos);
    EXPECT_FALSE(check_atr_usable(proto::parse_atr(*from_hex("3B 10"))));  // TA1 announced, missing
    // A wrong TCK is tolerated: the interface bytes are all there.
    EXPECT_TRUE(check_atr_usable(proto::parse_atr(*from_hex("3B 80 80 1F 02 00"))));
}

TEST(SlotSetup, T1ParametersComeFromTheAtr) {
    // TA1 = 96, TD1 = T=1, TD2 = T=1: TA3 IFSC FE, TB3 45, TC3 01 (CRC), TCK.
    const proto::Atr atr = atr_of("3B 90 96 81 71 FE 45 01 4C");
    ASSERT_EQ(atr.t1.ifsc, 0xFE);
    const ProtocolParameters p = make_protocol_parameters(atr, 1, 9, 6, false);
    const auto& t1 = std::get<T1Parameters>(p);
    EXPECT_EQ(t1.bmFindexDindex, 0x96);
    EXPECT_EQ(t1.bmTCCKST1, 0x11);  // CRC, direct convention
    EXPECT_EQ(t1.bmWaitingIntegersT1, 0x45);
    EXPECT_EQ(t1.bIFSC, 0xFE);
    EXPECT_EQ(t1.bNadValue, 0);
    EXPECT_EQ(t1.bClockStop, 0);

    const CardTiming timing = timing_from(p, 4000, 254);
    EXPECT_EQ(timing.protocol, 1);
    EXPECT_EQ(timing.f, 512);
    EXPECT_EQ(timing.d, 32);
    EXPECT_EQ(timing.bwi, 4);
    EXPECT_EQ(timing.cwi, 5);
    EXPECT_EQ(timing.ifsc, 0xFE);
}

TEST(SlotSetup, T0ParametersCarryGuardTimeWaitingIntegerAndClockStop) {
    // TA1 13, TC1 05, TD1 (T=0) -> TC2 20, TD2 (T=15) -> TA3 41: clock stop state L, class A.
    const proto::Atr atr = atr_of("3B D0 13 05 C0 20 1F 41 78");
    const auto with_stop = std::get<T0Parameters>(make_protocol_parameters(atr, 0, 1, 3, true));
    EXPECT_EQ(with_stop.bmFindexDindex, 0x13);
    EXPECT_EQ(with_stop.bmTCCKST0, 0x00);
    EXPECT_EQ(with_stop.bGuardTimeT0, 5);
    EXPECT_EQ(with_stop.bWaitingIntegerT0, 0x20);
    EXPECT_EQ(with_stop.bClockStop, 1);
    // A reader that cannot stop the clock is never asked to.
    EXPECT_EQ(std::get<T0Parameters>(make_protocol_parameters(atr, 0, 1, 3, false)).bClockStop, 0);

    const CardTiming timing = timing_from(ProtocolParameters{with_stop}, 4000, 32);
    EXPECT_EQ(timing.protocol, 0);
    EXPECT_EQ(timing.f, 372);
    EXPECT_EQ(timing.d, 4);
    EXPECT_EQ(timing.wi, 0x20);
    EXPECT_EQ(timing.extra_guard_time, 5);

    const proto::Atr inverse = atr_of("3F 00");
    EXPECT_EQ(std::get<T0Parameters>(make_protocol_parameters(inverse, 0, 1, 1, false)).bmTCCKST0, 0x02);
    const auto t1_inverse = std::get<T1Parameters>(make_protocol_parameters(inverse, 1, 1, 1, false));
    EXPECT_EQ(t1_inverse.bmTCCKST1, 0x12);  // LRC, inverse
}

TEST(SlotSetup, RateCapsReflectFeaturesAndLists) {
    ReaderCaps caps;
    caps.default_clock_khz = 4800;
    caps.max_data_rate = 250000;
    caps.data_rates = {9600, 19200};
    caps.t0 = false;
    caps.t1 = true;
    caps.features = static_cast<std::uint32_t>(Feature::AutoPps);
    const auto r = rate_caps(caps, proto::protocol_bit(1));
    EXPECT_EQ(r.default_clock_khz, 4800u);
    EXPECT_EQ(r.max_data_rate_bps, 250000u);
    EXPECT_EQ(r.data_rates_bps, (std::vector<std::uint32_t>{9600, 19200}));
    EXPECT_TRUE(r.automatic_pps);
    EXPECT_EQ(r.supported_protocols, proto::protocol_bit(1));
    EXPECT_EQ(r.requested_protocols, proto::protocol_bit(1));
    caps.features = 0;
    EXPECT_FALSE(rate_caps(caps, 0).automatic_pps);
}

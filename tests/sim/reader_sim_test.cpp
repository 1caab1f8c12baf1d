// ReaderSim driven directly with encoded PC_to_RDR messages: every command, malformed
// messages, multi-slot readers, busy slots, abort, interrupts, class requests, statistics.
#include "sim/reader/reader_sim.h"

#include <gtest/gtest.h>

#include <chrono>

#include "ccid/class_requests.h"
#include "ccid/message_framing.h"
#include "ccid/message_interrupts.h"
#include "ccid/slot_error.h"
#include "sim/reader/reader_probe.h"

namespace ccidkit::sim {
namespace {

using namespace std::chrono_literals;
namespace pc = ccid::pc_to_rdr;
namespace rp = ccid::rdr_to_pc;
namespace code = ccid::slot_error_code;
using ccid::IccStatus;

Bytes hex(std::string_view s) { return from_hex(s).value(); }

template <class T>
T reply_as(const ccid::Response& r) {
    if (const T* p = std::get_if<T>(&r)) return *p;
    ADD_FAILURE() << "unexpected reply " << ccid::message_type_name(ccid::message_type(r));
    return T{};
}

template <class T>
T transact_as(ReaderProbe& host, const ccid::Command& command) {
    auto r = host.transact(command);
    if (!r) {
        ADD_FAILURE() << r.error().describe();
        return T{};
    }
    return reply_as<T>(r->reply);
}

rp::DataBlock power_on(ReaderProbe& host, std::uint8_t slot = 0, ccid::PowerSelect v = ccid::PowerSelect::Automatic) {
    return transact_as<rp::DataBlock>(host, pc::IccPowerOn{slot, host.next_seq(), v});
}

ccid::Status failed(IccStatus icc, std::uint8_t error) {
    return ccid::Status::make(icc, ccid::CommandStatus::Failed, error);
}
ccid::Status ok(IccStatus icc) { return ccid::Status::make(icc, ccid::CommandStatus::Ok); }

ccid::rdr_to_pc::NotifySlotChange read_notification(ReaderSim& sim) {
    std::array<std::uint8_t, 64> buf{};
    auto n = sim.interrupt_in(buf, 200ms);
    if (!n) {
        ADD_FAILURE() << ccid::to_string(n.error());
        return {};
    }
    auto m = ccid::decode_interrupt(ByteView(buf).first(*n), sim.slot_count());
    if (!m || !std::holds_alternative<rp::NotifySlotChange>(*m)) {
        ADD_FAILURE() << "not a NotifySlotChange";
        return {};
    }
    return std::get<rp::NotifySlotChange>(*m);
}

// ---- Power and status ------------------------------------------------------------------------

TEST(ReaderSim, PowerOnAnswersTheAtrEchoingSlotAndSeq) {
    ReaderSim sim;
    auto card = sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    host.next_seq();
    const auto block = transact_as<rp::DataBlock>(host, pc::IccPowerOn{0, 0x42, ccid::PowerSelect::Automatic});
    EXPECT_EQ(block.bSlot, 0);
    EXPECT_EQ(block.bSeq, 0x42);
    EXPECT_EQ(block.status, ok(IccStatus::PresentActive));
    EXPECT_EQ(block.abData, card->atr());
    EXPECT_TRUE(card->active());
    EXPECT_TRUE(sim.slot_state(0).powered);
}

TEST(ReaderSim, EmptySlotAnswersIccMuteWithStatusAbsent) {
    ReaderSim sim;
    ReaderProbe host(sim);
    EXPECT_EQ(power_on(host).status, failed(IccStatus::Absent, code::kIccMute));
    const auto status = transact_as<rp::SlotStatus>(host, pc::GetSlotStatus{0, host.next_seq()});
    EXPECT_EQ(status.status, ok(IccStatus::Absent));
    EXPECT_EQ(transact_as<rp::Parameters>(host, pc::GetParameters{0, host.next_seq()}).status,
              failed(IccStatus::Absent, code::kIccMute));
    EXPECT_EQ(transact_as<rp::DataBlock>(host, pc::XfrBlock{0, host.next_seq(), 0, 0, hex("00 A4 00 00")}).status,
              failed(IccStatus::Absent, code::kIccMute));
}

TEST(ReaderSim, PowerOffThenXfrBlockSaysInactive) {
    ReaderSim sim;
    auto card = sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    const auto off = transact_as<rp::SlotStatus>(host, pc::IccPowerOff{0, host.next_seq()});
    EXPECT_EQ(off.status, ok(IccStatus::PresentInactive));
    EXPECT_FALSE(card->active());
    EXPECT_EQ(transact_as<rp::DataBlock>(host, pc::XfrBlock{0, host.next_seq(), 0, 0, hex("00 C1 00")}).status,
              failed(IccStatus::PresentInactive, code::kIccMute));
}

TEST(ReaderSim, SecondPowerOnIsAWarmReset) {
    SimCardConfig config;
    config.atr = SimCard::t1_default_atr();
    config.warm_atr = build_atr(AtrSpec{});
    ReaderSim sim;
    sim.insert_card(0, SimCard(config));
    ReaderProbe host(sim);
    const auto cold = power_on(host);
    const auto warm = power_on(host);
    EXPECT_EQ(warm.status, ok(IccStatus::PresentActive));
    EXPECT_EQ(warm.abData, *config.warm_atr);
    EXPECT_NE(cold.abData, warm.abData);
}

TEST(ReaderSim, VoltageSelection) {
    ReaderSimConfig config;
    config.descriptor.bVoltageSupport = 0x02;  // 3 V only
    ReaderSim sim(config);
    ReaderProbe host(sim);
    SimCardConfig class_a;  // no class indicator: class A (5 V) only
    sim.insert_card(0, SimCard(class_a));
    // A voltage the reader lacks: bError 07, the offset of bPowerSelect.
    EXPECT_EQ(power_on(host, 0, ccid::PowerSelect::V5_0).status, failed(IccStatus::PresentInactive, 7));
    // A voltage the card's class does not allow.
    EXPECT_EQ(power_on(host, 0, ccid::PowerSelect::V3_0).status,
              failed(IccStatus::PresentInactive, code::kIccClassNotSupported));
    EXPECT_EQ(power_on(host).status, failed(IccStatus::PresentInactive, code::kIccClassNotSupported));
    // A class A/B/C card works at 3 V, chosen automatically or explicitly.
    sim.insert_card(0, SimCard::t1_default());
    EXPECT_EQ(power_on(host).status, ok(IccStatus::PresentActive));
    EXPECT_EQ(transact_as<rp::SlotStatus>(host, pc::IccPowerOff{0, host.next_seq()}).status,
              ok(IccStatus::PresentInactive));
    EXPECT_EQ(power_on(host, 0, ccid::PowerSelect::V3_0).status, ok(IccStatus::PresentActive));
}

TEST(ReaderSim, BadAtrIsReported) {
    SimCardConfig config;
    config.raw_atr = hex("3B 80 81 31 FE 45 00");  // TCK wrong
    ReaderSim sim;
    sim.insert_card(0, SimCard(config));
    ReaderProbe host(sim);
    const auto block = power_on(host);
    EXPECT_EQ(block.status, failed(IccStatus::PresentInactive, code::kBadAtrTck));
    EXPECT_EQ(block.abData, config.raw_atr);

    config.raw_atr = hex("3C 00");
    sim.insert_card(0, SimCard(config));
    EXPECT_EQ(power_on(host).status, failed(IccStatus::PresentInactive, code::kBadAtrTs));
}

TEST(ReaderSim, AutoActivationPowersTheCardOnInsertion) {
    ReaderSimConfig config;
    config.descriptor.dwFeatures |= static_cast<std::uint32_t>(ccid::Feature::AutoActivation);
    ReaderSim sim(config);
    auto card = sim.insert_card(0, SimCard::t1_default());
    EXPECT_TRUE(card->active());
    EXPECT_EQ(sim.slot_state(0).icc, IccStatus::PresentActive);
}

// ---- Parameters ------------------------------------------------------------------------------

TEST(ReaderSim, ParametersFollowTheAtrAndAutomaticPps) {
    ReaderSim sim;  // default descriptor: automatic configuration from the ATR and automatic PPS
    auto card = sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    const auto initial = transact_as<rp::Parameters>(host, pc::GetParameters{0, host.next_seq()});
    EXPECT_EQ(initial.status, ok(IccStatus::PresentActive));
    auto t1 = std::get<ccid::T1Parameters>(initial.parameters().value());
    EXPECT_EQ(t1.bmFindexDindex, 0x11);  // the card runs at Fd/Dd until PPS
    EXPECT_EQ(t1.bIFSC, 254);
    EXPECT_EQ(t1.bmWaitingIntegersT1, 0x45);
    EXPECT_EQ(t1.bmTCCKST1, 0x10);

    t1.bmFindexDindex = 0x96;
    t1.bGuardTimeT1 = 2;
    const auto set = transact_as<rp::Parameters>(host, pc::SetParameters{0, host.next_seq(), t1});
    EXPECT_EQ(set.status, ok(IccStatus::PresentActive));
    EXPECT_EQ(std::get<ccid::T1Parameters>(set.parameters().value()), t1);
    EXPECT_EQ(card->link(), (CardLink{1, 9, 6}));  // the reader ran PPS itself

    const auto reset = transact_as<rp::Parameters>(host, pc::ResetParameters{0, host.next_seq()});
    const auto back = std::get<ccid::T1Parameters>(reset.parameters().value());
    EXPECT_EQ(back.bGuardTimeT1, 0);
    EXPECT_EQ(back.bmFindexDindex, 0x96);  // what the card now uses
}

TEST(ReaderSim, SetParametersIsValidated) {
    ReaderSimConfig config;
    config.descriptor.dwMaxDataRate = 100000;
    ReaderSim sim(config);
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    const auto set_error = [&](const ccid::ProtocolParameters& p) {
        return transact_as<rp::Parameters>(host, pc::SetParameters{0, host.next_seq(), p}).status.bError;
    };
    ccid::T1Parameters t1;
    t1.bIFSC = 254;
    t1.bNadValue = 0x12;
    EXPECT_EQ(set_error(t1), 16);  // NAD other than 0 without dwFeatures 200h
    t1.bNadValue = 0;
    t1.bmWaitingIntegersT1 = 0xA5;
    EXPECT_EQ(set_error(t1), 13);  // BWI 10 is RFU
    t1.bmWaitingIntegersT1 = 0x45;
    t1.bmFindexDindex = 0x71;
    EXPECT_EQ(set_error(t1), 10);  // Fi code 7 is RFU
    t1.bmFindexDindex = 0x96;
    EXPECT_EQ(set_error(t1), 10);  // 250000 bit/s > dwMaxDataRate
    EXPECT_EQ(set_error(ccid::T0Parameters{}), code::kIccProtocolNotSupported);  // the card has no T=0
    t1.bmFindexDindex = 0x94;
    EXPECT_EQ(set_error(t1), 0);  // 62500 bit/s: fine
}

TEST(ReaderSim, SetParametersRejectsAProtocolTheReaderLacks) {
    ReaderSimConfig config;
    config.descriptor.dwProtocols = ccid::kProtocolT0;
    ReaderSim sim(config);
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(transact_as<rp::Parameters>(host, pc::SetParameters{0, host.next_seq(), ccid::T1Parameters{}})
                  .status.bError,
              7);  // bProtocolNum
}

// ---- Other commands --------------------------------------------------------------------------

TEST(ReaderSim, EscapeEchoesOrRunsTheVendorHandler) {
    ReaderSim echo;
    ReaderProbe host(echo);
    const auto reply = transact_as<rp::Escape>(host, pc::Escape{0, host.next_seq(), hex("01 02 03")});
    EXPECT_EQ(reply.abData, hex("01 02 03"));
    EXPECT_EQ(reply.status, ok(IccStatus::Absent));

    ReaderSimConfig config;
    config.escape = [](ByteView in) -> std::optional<Bytes> {
        if (in.empty() || in[0] != 0x44) return std::nullopt;
        return hex("55 AA");
    };
    ReaderSim vendor(config);
    ReaderProbe host2(vendor);
    EXPECT_EQ(transact_as<rp::Escape>(host2, pc::Escape{0, host2.next_seq(), hex("44")}).abData, hex("55 AA"));
    EXPECT_EQ(transact_as<rp::Escape>(host2, pc::Escape{0, host2.next_seq(), hex("45")}).status,
              failed(IccStatus::Absent, code::kCommandNotSupported));
}

TEST(ReaderSim, IccClockFollowsFeatureAndCardClockStop) {
    {
        ReaderSim sim;  // dwFeatures 000100BA: no clock stop
        sim.insert_card(0, SimCard::t1_default());
        ReaderProbe host(sim);
        power_on(host);
        EXPECT_EQ(transact_as<rp::SlotStatus>(host, pc::IccClock{0, host.next_seq(), ccid::ClockCommand::Stop})
                      .status.bError,
                  code::kCommandNotSupported);
    }
    ReaderSimConfig config;
    config.descriptor.dwFeatures |= static_cast<std::uint32_t>(ccid::Feature::ClockStop);
    ReaderSim sim(config);
    ReaderProbe host(sim);
    sim.insert_card(0, SimCard::t1_default());  // ATR clock stop: not supported
    power_on(host);
    EXPECT_EQ(
        transact_as<rp::SlotStatus>(host, pc::IccClock{0, host.next_seq(), ccid::ClockCommand::Stop}).status.bError,
        7);
    SimCardConfig stoppable;
    stoppable.atr = SimCard::t1_default_atr();
    stoppable.atr.clock_stop = proto::ClockStop::StateH;
    sim.insert_card(0, SimCard(stoppable));
    power_on(host);
    const auto stopped = transact_as<rp::SlotStatus>(host, pc::IccClock{0, host.next_seq(), ccid::ClockCommand::Stop});
    EXPECT_EQ(stopped.status, ok(IccStatus::PresentActive));
    EXPECT_EQ(stopped.clock_status(), ccid::ClockStatus::StoppedHigh);
    const auto restarted =
        transact_as<rp::SlotStatus>(host, pc::IccClock{0, host.next_seq(), ccid::ClockCommand::Restart});
    EXPECT_EQ(restarted.clock_status(), ccid::ClockStatus::Running);
}

TEST(ReaderSim, T0ApduOnlyAtApduLevel) {
    ReaderSim tpdu;
    ReaderProbe host(tpdu);
    EXPECT_EQ(transact_as<rp::SlotStatus>(host, pc::T0Apdu{0, host.next_seq(), 3, 0x80, 0x80}).status.bError,
              code::kCommandNotSupported);
    ReaderSim apdu(make_reader_config(ccid::ExchangeLevel::ShortApdu));
    ReaderProbe host2(apdu);
    EXPECT_EQ(transact_as<rp::SlotStatus>(host2, pc::T0Apdu{0, host2.next_seq(), 3, 0x80, 0x80}).status,
              ok(IccStatus::Absent));
}

TEST(ReaderSim, MechanicalOnlyWhenTheDescriptorSaysSo) {
    {
        ReaderSim sim;
        ReaderProbe host(sim);
        EXPECT_EQ(transact_as<rp::SlotStatus>(host, pc::Mechanical{0, host.next_seq(), ccid::MechanicalFunction::Eject})
                      .status.bError,
                  code::kCommandNotSupported);
    }
    ReaderSimConfig config;
    config.descriptor.dwMechanical = ccid::kMechanicalEject | ccid::kMechanicalLock;
    ReaderSim sim(config);
    ReaderProbe host(sim);
    sim.insert_card(0, SimCard::t1_default());
    EXPECT_TRUE(read_notification(sim).slots.at(0).present);
    EXPECT_EQ(transact_as<rp::SlotStatus>(host, pc::Mechanical{0, host.next_seq(), ccid::MechanicalFunction::Lock})
                  .status.bError,
              0);
    EXPECT_EQ(
        transact_as<rp::SlotStatus>(host, pc::Mechanical{0, host.next_seq(), ccid::MechanicalFunction::Eject}).status,
        failed(IccStatus::PresentInactive, 7));
    transact_as<rp::SlotStatus>(host, pc::Mechanical{0, host.next_seq(), ccid::MechanicalFunction::Unlock});
    const auto ejected =
        transact_as<rp::SlotStatus>(host, pc::Mechanical{0, host.next_seq(), ccid::MechanicalFunction::Eject});
    EXPECT_EQ(ejected.status, ok(IccStatus::Absent));
    EXPECT_FALSE(sim.card_present(0));
    const auto change = read_notification(sim);
    EXPECT_FALSE(change.slots.at(0).present);
    EXPECT_TRUE(change.slots.at(0).changed);
}

TEST(ReaderSim, SetDataRateAndClockFrequencyAcceptsListedValues) {
    ReaderSimConfig config;
    config.clocks_khz = {4000, 8000};
    config.data_rates_bps = {10752, 21505, 43010};
    ReaderSim sim(config);
    ReaderProbe host(sim);
    using Rate = rp::DataRateAndClockFrequency;
    const auto good =
        transact_as<Rate>(host, pc::SetDataRateAndClockFrequency{0, host.next_seq(), 8000, 21504});
    EXPECT_EQ(good.status.bError, 0);
    EXPECT_EQ(good.dwClockFrequency, 8000u);
    EXPECT_EQ(good.dwDataRate, 21504u);
    const auto bad_rate =
        transact_as<Rate>(host, pc::SetDataRateAndClockFrequency{0, host.next_seq(), 4000, 9600});
    EXPECT_EQ(bad_rate.status, failed(IccStatus::Absent, 14));
    EXPECT_EQ(bad_rate.dwClockFrequency, 8000u);  // unchanged values reported
    const auto bad_clock =
        transact_as<Rate>(host, pc::SetDataRateAndClockFrequency{0, host.next_seq(), 5000, 10752});
    EXPECT_EQ(bad_clock.status.bError, 10);
    EXPECT_EQ(sim.slot_state(0).clock_khz, 8000u);
}

// ---- Class requests ----------------------------------------------------------------------------

TEST(ReaderSim, ClassRequests) {
    ReaderSimConfig config;
    config.interface_number = 1;
    config.clocks_khz = {4000, 4800};
    ReaderSim sim(config);
    std::array<std::uint8_t, 64> buf{};
    auto n = sim.control_in(ccid::get_clock_frequencies_request(1), buf, 100ms);
    ASSERT_TRUE(n);
    EXPECT_EQ(ccid::decode_dword_array(ByteView(buf).first(*n), 2).value(), (std::vector<std::uint32_t>{4000, 4800}));
    // wLength shorter than the list: the transfer stops there.
    EXPECT_EQ(sim.control_in(ccid::get_clock_frequencies_request(1), std::span(buf).first(4), 100ms).value(), 4u);
    // No data-rate list: the request stalls, as on readers with bNumDataRatesSupported = 0.
    EXPECT_EQ(sim.control_in(ccid::get_data_rates_request(1), buf, 100ms).error(), ccid::TransportError::Stall);
    // Another interface, or a vendor request: stall.
    EXPECT_EQ(sim.control_in(ccid::get_clock_frequencies_request(0), buf, 100ms).error(),
              ccid::TransportError::Stall);
    EXPECT_EQ(sim.control_out(ccid::ControlSetup{0x41, 0x01, 0, 1}, {}, 100ms).error(), ccid::TransportError::Stall);
    EXPECT_TRUE(sim.control_out(ccid::abort_request(1, 0, 5), {}, 100ms));
    EXPECT_EQ(sim.stats().control_requests, 6u);
}

// ---- Malformed messages ------------------------------------------------------------------------

TEST(ReaderSim, MalformedMessagesGetTheOffsetOfTheBadField) {
    ReaderSim sim;
    ReaderProbe host(sim);
    // Unknown message type: SlotStatus, CMD_NOT_SUPPORTED, bSlot/bSeq echoed.
    ASSERT_TRUE(host.send_raw(hex("99 00 00 00 00 00 17 00 00 00")));
    auto unknown = reply_as<rp::SlotStatus>(host.receive().value());
    EXPECT_EQ(unknown.bSeq, 0x17);
    EXPECT_EQ(unknown.status, failed(IccStatus::Absent, code::kCommandNotSupported));
    // A bulk-IN type sent on bulk-OUT: also not supported.
    ASSERT_TRUE(host.send_raw(hex("80 00 00 00 00 00 18 00 00 00")));
    EXPECT_EQ(reply_as<rp::SlotStatus>(host.receive().value()).status.bError, 0);
    // Slot beyond bMaxSlotIndex: bError 05.
    auto bad_slot = transact_as<rp::DataBlock>(host, pc::IccPowerOn{3, 0x19, ccid::PowerSelect::Automatic});
    EXPECT_EQ(bad_slot.bSlot, 3);
    EXPECT_EQ(bad_slot.status.bError, 5);
    // bPowerSelect 7: offset 7, answered with the reply type of IccPowerOn.
    ASSERT_TRUE(host.send_raw(hex("62 00 00 00 00 00 1A 07 00 00")));
    EXPECT_EQ(reply_as<rp::DataBlock>(host.receive().value()).status.bError, 7);
    // Data on a message that has none: dwLength (offset 1).
    ASSERT_TRUE(host.send_raw(hex("65 01 00 00 00 00 1B 00 00 00 AA")));
    EXPECT_EQ(reply_as<rp::SlotStatus>(host.receive().value()).status.bError, 1);
    // dwLength announcing more than was sent.
    ASSERT_TRUE(host.send_raw(hex("6F 05 00 00 00 00 1C 00 00 00 AA")));
    EXPECT_EQ(reply_as<rp::DataBlock>(host.receive().value()).status.bError, 1);
    // Longer than dwMaxCCIDMessageLength (271).
    EXPECT_EQ(transact_as<rp::DataBlock>(host, pc::XfrBlock{0, 0x1D, 0, 0, Bytes(300, 0)}).status.bError, 1);
    // Bad SetParameters structure: bIFSC FF (abProtocolDataStructure[5], offset 15).
    ASSERT_TRUE(host.send_raw(hex("61 07 00 00 00 00 1E 01 00 00 11 10 00 45 00 FF 00")));
    EXPECT_EQ(reply_as<rp::Parameters>(host.receive().value()).status.bError, 15);
    // Shorter than a header: nothing to answer.
    ASSERT_TRUE(host.send_raw(hex("65 00 00")));
    host.set_timeout(20ms);
    EXPECT_EQ(host.receive_raw().error().transport, ccid::TransportError::Timeout);
    const ReaderStats stats = sim.stats();
    EXPECT_EQ(stats.ignored, 1u);
    EXPECT_EQ(stats.malformed, 7u);
}

// ---- Slots -------------------------------------------------------------------------------------

TEST(ReaderSim, MultiSlotReaderKeepsSlotsApart) {
    ReaderSim sim(make_reader_config(ccid::ExchangeLevel::ShortApdu, 3));
    EXPECT_EQ(sim.slot_count(), 3u);
    auto a = sim.insert_card(0, SimCard::t1_default());
    auto c = sim.insert_card(2, SimCard::t0_default());
    const auto change = read_notification(sim);
    ASSERT_EQ(change.slots.size(), 3u);
    EXPECT_TRUE(change.slots[0].present && change.slots[0].changed);
    EXPECT_FALSE(change.slots[1].present || change.slots[1].changed);
    EXPECT_TRUE(change.slots[2].present && change.slots[2].changed);

    ReaderProbe host(sim);
    EXPECT_EQ(power_on(host, 2).abData, c->atr());
    EXPECT_EQ(power_on(host, 1).status, failed(IccStatus::Absent, code::kIccMute));
    const auto r =
        transact_as<rp::DataBlock>(host, pc::XfrBlock{2, host.next_seq(), 0, 0, hex("80 10 00 00 01 5A 00")});
    EXPECT_EQ(r.bSlot, 2);
    EXPECT_EQ(to_hex(r.abData), "5A 90 00");
    EXPECT_FALSE(a->active());
    EXPECT_EQ(c->apdus_processed(), 1u);
}

TEST(ReaderSim, BusySlotsAreRefused) {
    ReaderSimConfig config = make_reader_config(ccid::ExchangeLevel::ShortApdu, 2);
    config.descriptor.bMaxCCIDBusySlots = 1;
    ReaderSim sim(config);
    sim.insert_card(0, SimCard::t1_default());
    sim.insert_card(1, SimCard::t1_default());
    ReaderProbe host(sim);
    // Slot 0 is busy until its reply is read.
    ASSERT_TRUE(host.send(pc::IccPowerOn{0, 1, ccid::PowerSelect::Automatic}));
    EXPECT_TRUE(sim.slot_state(0).busy);
    ASSERT_TRUE(host.send(pc::GetSlotStatus{1, 2}));  // another slot, but the limit is 1
    ASSERT_TRUE(host.send(pc::GetSlotStatus{0, 3}));  // the busy slot itself
    const auto busy1 = reply_as<rp::SlotStatus>(host.receive().value());
    EXPECT_EQ(busy1.bSeq, 2);
    EXPECT_EQ(busy1.status.bError, code::kCmdSlotBusy);
    const auto busy0 = reply_as<rp::SlotStatus>(host.receive().value());
    EXPECT_EQ(busy0.bSeq, 3);
    EXPECT_EQ(busy0.status.bError, code::kCmdSlotBusy);
    const auto atr = reply_as<rp::DataBlock>(host.receive().value());
    EXPECT_EQ(atr.bSeq, 1);
    EXPECT_EQ(atr.status.bError, 0);
    EXPECT_FALSE(sim.slot_state(0).busy);
    EXPECT_EQ(sim.stats().busy, 2u);
}

TEST(ReaderSim, TwoBusySlotsAllowedWhenTheDescriptorSaysSo) {
    ReaderSim sim(make_reader_config(ccid::ExchangeLevel::ShortApdu, 2));  // bMaxCCIDBusySlots = 2
    sim.insert_card(0, SimCard::t1_default());
    sim.insert_card(1, SimCard::t0_default());
    ReaderProbe host(sim);
    ASSERT_TRUE(host.send(pc::IccPowerOn{0, 1, ccid::PowerSelect::Automatic}));
    ASSERT_TRUE(host.send(pc::IccPowerOn{1, 2, ccid::PowerSelect::Automatic}));
    const auto first = reply_as<rp::DataBlock>(host.receive().value());
    const auto second = reply_as<rp::DataBlock>(host.receive().value());
    EXPECT_EQ(first.bSlot, 0);
    EXPECT_EQ(second.bSlot, 1);
    EXPECT_EQ(first.status.bError, 0);
    EXPECT_EQ(second.status.bError, 0);
}

// ---- Abort -------------------------------------------------------------------------------------

TEST(ReaderSim, AbortEndsTheCommandInProgress) {
    ReaderSim sim;
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    ReaderFaults faults;
    faults.endless_time_extension = true;
    sim.set_faults(faults);
    ASSERT_TRUE(host.send(pc::XfrBlock{0, 7, 0, 0, hex("00 C1 01 FE 3E")}));
    for (int i = 0; i < 3; ++i) {
        const auto te = reply_as<rp::DataBlock>(host.receive().value());
        EXPECT_EQ(te.status.command(), ccid::CommandStatus::TimeExtension);
        EXPECT_EQ(te.bSeq, 7);
    }
    // Class request first (5.3.1), then PC_to_RDR_Abort with the same bSeq.
    ASSERT_TRUE(sim.control_out(ccid::abort_request(0, 0, 8), {}, 100ms));
    auto aborted = reply_as<rp::DataBlock>(host.receive().value());
    EXPECT_EQ(aborted.bSeq, 7);
    EXPECT_EQ(aborted.status.bError, code::kCmdAborted);
    // Until the bulk half arrives, other commands are refused.
    EXPECT_EQ(transact_as<rp::SlotStatus>(host, pc::GetSlotStatus{0, 9}).status.bError, code::kCmdAborted);
    const auto done = transact_as<rp::SlotStatus>(host, pc::Abort{0, 8});
    EXPECT_EQ(done.status, ok(IccStatus::PresentActive));
    EXPECT_EQ(transact_as<rp::SlotStatus>(host, pc::GetSlotStatus{0, 10}).status.bError, 0);
    EXPECT_EQ(sim.stats().aborted, 2u);
}

TEST(ReaderSim, BulkAbortWaitsForTheClassRequest) {
    ReaderSim sim;
    ReaderProbe host(sim, 65556, 30ms);
    ASSERT_TRUE(host.send(pc::Abort{0, 4}));
    EXPECT_EQ(host.receive_raw().error().transport, ccid::TransportError::Timeout);
    ASSERT_TRUE(sim.control_out(ccid::abort_request(0, 0, 4), {}, 100ms));
    const auto done = reply_as<rp::SlotStatus>(host.receive().value());
    EXPECT_EQ(done.bSeq, 4);
    EXPECT_EQ(done.status.bError, 0);
}

// ---- Interrupts --------------------------------------------------------------------------------

TEST(ReaderSim, SlotChangesAreCoalescedUntilRead) {
    ReaderSim sim;
    auto card = sim.insert_card(0, SimCard::t1_default());
    sim.remove_card(0);
    sim.insert_card(0, card);
    const auto change = read_notification(sim);
    EXPECT_TRUE(change.slots[0].present);
    EXPECT_TRUE(change.slots[0].changed);
    std::array<std::uint8_t, 8> buf{};
    EXPECT_EQ(sim.interrupt_in(buf, 10ms).error(), ccid::TransportError::Timeout);
    sim.remove_card(0);
    const auto removed = read_notification(sim);
    EXPECT_FALSE(removed.slots[0].present);
    EXPECT_TRUE(removed.slots[0].changed);
    EXPECT_EQ(sim.stats().count(ccid::MessageType::RdrToPcNotifySlotChange), 2u);
}

TEST(ReaderSim, NoInterruptEndpoint) {
    ReaderSimConfig config;
    config.has_interrupt = false;
    ReaderSim sim(config);
    EXPECT_FALSE(sim.has_interrupt_in());
    sim.insert_card(0, SimCard::t1_default());
    std::array<std::uint8_t, 8> buf{};
    EXPECT_EQ(sim.interrupt_in(buf, 10ms).error(), ccid::TransportError::NotSupported);
}

TEST(ReaderSim, HardwareErrorInterruptDeactivatesTheCard) {
    ReaderSim sim;
    auto card = sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    read_notification(sim);
    power_on(host);
    sim.inject_hardware_error(0);
    std::array<std::uint8_t, 8> buf{};
    auto n = sim.interrupt_in(buf, 100ms);
    ASSERT_TRUE(n);
    auto m = ccid::decode_interrupt(ByteView(buf).first(*n), 1);
    ASSERT_TRUE(m);
    const auto error = std::get<rp::HardwareError>(*m);
    EXPECT_EQ(error.bSeq, 0);  // the power-on was the last command
    EXPECT_EQ(error.bHardwareErrorCode, 0x01);
    EXPECT_FALSE(card->active());
    EXPECT_EQ(sim.slot_state(0).icc, IccStatus::PresentInactive);
}

TEST(ReaderSim, SlotChangeStorm) {
    ReaderSim sim;
    sim.inject_slot_change_storm(50);
    for (int i = 0; i < 50; ++i) {
        const auto change = read_notification(sim);
        EXPECT_TRUE(change.slots.at(0).changed);
    }
    std::array<std::uint8_t, 8> buf{};
    EXPECT_EQ(sim.interrupt_in(buf, 5ms).error(), ccid::TransportError::Timeout);
}

// ---- Observation -------------------------------------------------------------------------------

TEST(ReaderSim, StatisticsAndTrace) {
    ReaderSim sim;
    sim.insert_card(0, SimCard::t1_default());
    std::vector<std::pair<TraceEvent, Bytes>> trace;
    sim.set_trace([&](TraceEvent e, ByteView b) { trace.emplace_back(e, Bytes(b.begin(), b.end())); });
    ReaderProbe host(sim);
    power_on(host);
    transact_as<rp::SlotStatus>(host, pc::GetSlotStatus{0, host.next_seq()});
    transact_as<rp::SlotStatus>(host, pc::GetSlotStatus{0, host.next_seq()});
    const ReaderStats s = sim.stats();
    EXPECT_EQ(s.count(ccid::MessageType::PcToRdrIccPowerOn), 1u);
    EXPECT_EQ(s.count(ccid::MessageType::PcToRdrGetSlotStatus), 2u);
    EXPECT_EQ(s.count(ccid::MessageType::RdrToPcDataBlock), 1u);
    EXPECT_EQ(s.count(ccid::MessageType::RdrToPcSlotStatus), 2u);
    ASSERT_TRUE(s.last_decoded.has_value());
    EXPECT_TRUE(std::holds_alternative<pc::GetSlotStatus>(*s.last_decoded));
    EXPECT_EQ(s.last_command, ccid::encode(pc::GetSlotStatus{0, 2}));
    EXPECT_EQ(s.last_reply[0], 0x81);
    ASSERT_EQ(trace.size(), 6u);
    EXPECT_EQ(trace[0].first, TraceEvent::BulkOut);
    EXPECT_EQ(trace[1].first, TraceEvent::BulkIn);
    sim.reset_stats();
    EXPECT_EQ(sim.stats().count(ccid::MessageType::PcToRdrIccPowerOn), 0u);
}

}  // namespace
}  // namespace ccidkit::sim

// The Reader against ReaderSim: opening, reply matching (stale bSeq), malformed replies, time
// extensions and their bounds, the ABORT sequence, a disappearing device, stalls, escape,
// multi-slot serialisation, and card events from the interrupt pipe or from polling.
#include "ccid/reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "sim/reader/reader_sim.h"

using namespace ccidkit;
using namespace ccidkit::ccid;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

ReaderOptions fast_options() {
    ReaderOptions o;
    o.control_timeout = Millis{300};
    o.power_on_timeout = Millis{1000};
    o.exchange.abort_timeout = Millis{300};
    o.poll_interval = Millis{10};
    o.drain_read_timeout = Millis{2};
    return o;
}

struct Rig {
    sim::ReaderSim* sim = nullptr;  // owned by the reader
    std::unique_ptr<Reader> reader;
    Slot& slot(unsigned i = 0) { return *reader->slot(i); }
};

Rig open_rig(const sim::ReaderSimConfig& config, ReaderOptions options = fast_options(),
             const std::function<void(sim::ReaderSim&)>& before_open = {}) {
    auto owned = std::make_unique<sim::ReaderSim>(config);
    Rig rig;
    rig.sim = owned.get();
    if (before_open) before_open(*rig.sim);
    auto reader = Reader::open(std::move(owned), config.descriptor, options);
    EXPECT_TRUE(reader) << (reader ? "" : describe(reader.error()));
    if (reader) rig.reader = std::move(*reader);
    return rig;
}

// A short-APDU reader with a T=1 card, powered: the simplest path to the card.
Rig powered_rig(sim::ReaderSimConfig config = sim::make_reader_config(ExchangeLevel::ShortApdu),
                ReaderOptions options = fast_options()) {
    Rig rig = open_rig(config, options, [](sim::ReaderSim& s) { s.insert_card(0, sim::SimCard::t1_default()); });
    if (rig.reader) {
        auto on = rig.slot().power_on();
        EXPECT_TRUE(on) << (on ? "" : describe(on.error()));
    }
    return rig;
}

// EchoApp ECHO of 4 bytes, Le 4.
const Bytes kEcho4{0x80, 0x10, 0x00, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04, 0x04};
const Bytes kEcho4Response{0x01, 0x02, 0x03, 0x04, 0x90, 0x00};

}  // namespace

TEST(ReaderOpen, DrainsStaleMessagesAndReadsThePresence) {
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    Rig rig = open_rig(config, fast_options(), [](sim::ReaderSim& s) {
        s.insert_card(0, sim::SimCard::t1_default());  // queues a NotifySlotChange
        // A reply nobody will ask for again, as left by a crashed process.
        ASSERT_TRUE(s.bulk_out(encode(pc_to_rdr::GetSlotStatus{0, 0x77}), Millis{100}));
    });
    ASSERT_TRUE(rig.reader);
    EXPECT_EQ(rig.sim->pending(), 0u);
    EXPECT_TRUE(rig.reader->card_present(0));
    EXPECT_EQ(rig.reader->exchange_stats().stale_replies, 0u);  // drained, not mistaken for replies
    // The insertion was drained with the interrupt pipe and is already known: no event.
    auto events = rig.reader->poll_events(Millis{5});
    ASSERT_TRUE(events);
    EXPECT_TRUE(events->empty());
    // One GetSlotStatus per slot at open.
    EXPECT_EQ(rig.sim->stats().count(MessageType::PcToRdrGetSlotStatus), 2u);  // incl. the stale one
}

TEST(ReaderOpen, ReadsClockAndDataRateLists) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.bNumClockSupported = 2;
    config.descriptor.bNumDataRatesSupported = 3;
    config.clocks_khz = {4000, 8000};
    config.data_rates_bps = {10752, 21505, 43010};
    Rig rig = open_rig(config);
    ASSERT_TRUE(rig.reader);
    EXPECT_EQ(rig.reader->caps().clocks_khz, (std::vector<std::uint32_t>{4000, 8000}));
    EXPECT_EQ(rig.reader->caps().data_rates, (std::vector<std::uint32_t>{10752, 21505, 43010}));
}

TEST(ReaderOpen, ListRequestsThatStallAreNotFatal) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.bNumDataRatesSupported = 3;  // announced, but the reader stalls the request
    Rig rig = open_rig(config);
    ASSERT_TRUE(rig.reader);
    EXPECT_TRUE(rig.reader->caps().data_rates.empty());
}

TEST(ReaderOpen, NoListRequestWhenNoneAnnounced) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.data_rates_bps = {9600};
    Rig rig = open_rig(config);
    ASSERT_TRUE(rig.reader);
    EXPECT_EQ(rig.sim->stats().control_requests, 0u);
    EXPECT_TRUE(rig.reader->caps().data_rates.empty());
}

TEST(ReaderExchange, StaleRepliesAreDropped) {
    Rig rig = powered_rig();
    sim::ReaderFaults faults;
    faults.stale_seq = 3;
    rig.sim->set_faults(faults);
    for (int i = 0; i < 3; ++i) {
        auto r = rig.slot().transmit(kEcho4);
        ASSERT_TRUE(r) << describe(r.error());
        EXPECT_EQ(*r, kEcho4Response);
    }
    EXPECT_EQ(rig.reader->exchange_stats().stale_replies, 3u);
}

TEST(ReaderExchange, StaleReplyBoundIsEnforced) {
    auto options = fast_options();
    options.exchange.max_stale_replies = 0;
    Rig rig = powered_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), options);
    sim::ReaderFaults faults;
    faults.stale_seq = 1;
    rig.sim->set_faults(faults);
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::TooManyStaleReplies);
}

TEST(ReaderExchange, OversizeReplyIsRefusedAndTheReaderRecovers) {
    Rig rig = powered_rig();
    sim::ReaderFaults faults;
    faults.oversize = 1;
    rig.sim->set_faults(faults);
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::MalformedReply);
    EXPECT_NE(r.error().detail.find("dwMaxCCIDMessageLength"), std::string::npos);
    auto again = rig.slot().transmit(kEcho4);
    ASSERT_TRUE(again) << describe(again.error());
    EXPECT_EQ(*again, kEcho4Response);
}

TEST(ReaderExchange, TruncatedReplyIsRefused) {
    Rig rig = powered_rig();
    sim::ReaderFaults faults;
    faults.truncated = 1;
    faults.truncate_bytes = 3;
    rig.sim->set_faults(faults);
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::MalformedReply);
    EXPECT_TRUE(rig.slot().transmit(kEcho4));
}

TEST(ReaderExchange, TimeExtensionsAreWaitedOut) {
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    config.time_extensions = 5;
    config.time_extension_multiplier = 3;
    Rig rig = powered_rig(config);
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, kEcho4Response);
    EXPECT_EQ(rig.reader->exchange_stats().time_extensions, 10u);  // power-on and the APDU
}

TEST(ReaderExchange, EndlessTimeExtensionIsBoundedByCount) {
    auto options = fast_options();
    options.exchange.max_time_extensions = 50;
    Rig rig = powered_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), options);
    sim::ReaderFaults faults;
    faults.endless_time_extension = true;
    rig.sim->set_faults(faults);
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::TimeExtensionLimit);
    // The command was aborted, so the slot answers again.
    EXPECT_EQ(rig.sim->stats().count(MessageType::PcToRdrAbort), 1u);
    rig.sim->set_faults({});
    auto status = rig.slot().status();
    ASSERT_TRUE(status) << describe(status.error());
}

TEST(ReaderExchange, EndlessTimeExtensionIsBoundedInTime) {
    auto options = fast_options();
    options.exchange.max_total_wait = Millis{150};
    Rig rig = powered_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), options);
    sim::ReaderFaults faults;
    faults.endless_time_extension = true;
    rig.sim->set_faults(faults);
    const auto start = Clock::now();
    auto r = rig.slot().transmit(kEcho4);
    const auto elapsed = Clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::TimeExtensionLimit);
    EXPECT_LT(elapsed, 5s);
}

TEST(ReaderExchange, TimeoutSendsTheAbortSequence) {
    Rig rig = powered_rig();
    sim::ReaderFaults faults;
    faults.only_for = MessageType::PcToRdrGetSlotStatus;
    faults.silent = 1;
    rig.sim->set_faults(faults);
    const auto before = rig.sim->stats();
    auto status = rig.slot().status();
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ReaderErrc::Timeout);
    const auto after = rig.sim->stats();
    EXPECT_EQ(after.control_requests - before.control_requests, 1u);  // class request ABORT
    EXPECT_EQ(after.count(MessageType::PcToRdrAbort), 1u);            // and PC_to_RDR_Abort
    EXPECT_EQ(rig.reader->exchange_stats().aborts, 1u);
    auto again = rig.slot().status();
    ASSERT_TRUE(again) << describe(again.error());
    EXPECT_EQ(again->presence, CardPresence::PresentActive);
}

TEST(ReaderExchange, NoAbortWhenDisabled) {
    auto options = fast_options();
    options.exchange.abort_on_timeout = false;
    Rig rig = powered_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), options);
    sim::ReaderFaults faults;
    faults.only_for = MessageType::PcToRdrGetSlotStatus;
    faults.silent = 1;
    rig.sim->set_faults(faults);
    EXPECT_FALSE(rig.slot().status());
    EXPECT_EQ(rig.sim->stats().count(MessageType::PcToRdrAbort), 0u);
}

TEST(ReaderExchange, DeviceDisappearingMidApdu) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    Rig rig = powered_rig(config);
    sim::ReaderFaults faults;
    faults.disappear_after_calls = 3;  // in the middle of the T=1 block exchange
    rig.sim->set_faults(faults);
    Bytes big{0x80, 0x10, 0x00, 0x00, 0xFF};
    big.resize(5 + 255, 0x5A);
    big.push_back(0x00);
    auto r = rig.slot().transmit(big);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::ReaderGone);
    EXPECT_TRUE(rig.reader->gone());
    EXPECT_FALSE(rig.slot().active());
    // From now on everything fails fast with the same error.
    EXPECT_EQ(rig.slot().power_on().error().code, ReaderErrc::ReaderGone);
    EXPECT_EQ(rig.slot().status().error().code, ReaderErrc::ReaderGone);
    EXPECT_EQ(rig.reader->poll_events(Millis{10}).error().code, ReaderErrc::ReaderGone);
}

TEST(ReaderExchange, UnplugWakesABlockedEventWait) {
    Rig rig = powered_rig();
    std::thread unplug([&] {
        std::this_thread::sleep_for(30ms);
        rig.sim->disconnect();
    });
    const auto start = Clock::now();
    auto events = rig.reader->poll_events(Millis{5000});
    unplug.join();
    ASSERT_FALSE(events);
    EXPECT_EQ(events.error().code, ReaderErrc::ReaderGone);
    EXPECT_LT(Clock::now() - start, 3s);
}

TEST(ReaderExchange, StalledBulkInIsClearedAndReadAgain) {
    Rig rig = powered_rig();
    sim::ReaderFaults faults;
    faults.bulk_in_stalls = 1;
    rig.sim->set_faults(faults);
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, kEcho4Response);
    EXPECT_EQ(rig.sim->stats().stalls, 1u);
}

TEST(ReaderExchange, EscapeIsPassedThrough) {
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    config.escape = [](ByteView in) -> std::optional<Bytes> {
        if (in.empty()) return std::nullopt;
        return Bytes(in.rbegin(), in.rend());
    };
    Rig rig = open_rig(config);
    auto r = rig.reader->escape(Bytes{1, 2, 3});
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, (Bytes{3, 2, 1}));
    auto unsupported = rig.reader->escape({});
    ASSERT_FALSE(unsupported);
    EXPECT_EQ(unsupported.error().code, ReaderErrc::CommandNotSupported);
}

TEST(ReaderExchange, SlotsShareOneCommandAtATime) {
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu, 2);
    config.descriptor.bMaxCCIDBusySlots = 1;
    config.time_extensions = 1;  // replies take two reads: overlapping commands would collide
    Rig rig = open_rig(config, fast_options(), [](sim::ReaderSim& s) {
        s.insert_card(0, sim::SimCard::t1_default());
        s.insert_card(1, sim::SimCard::t0_default());
    });
    ASSERT_EQ(rig.reader->slot_count(), 2u);
    ASSERT_TRUE(rig.slot(0).power_on());
    ASSERT_TRUE(rig.slot(1).power_on());
    std::atomic<int> failures{0};
    auto worker = [&](unsigned slot) {
        for (int i = 0; i < 40; ++i) {
            auto r = rig.slot(slot).transmit(kEcho4);
            if (!r || *r != kEcho4Response) ++failures;
        }
    };
    std::thread a(worker, 0), b(worker, 1);
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(rig.sim->stats().busy, 0u);  // never two commands in flight
}

TEST(ReaderExchange, SlotBusyIsRetriedOnceAfterTheOldCommandEnds) {
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu, 2);
    config.descriptor.bMaxCCIDBusySlots = 1;
    Rig rig = open_rig(config, fast_options(), [](sim::ReaderSim& s) { s.insert_card(0, sim::SimCard::t1_default()); });
    // Someone else's command occupies the reader (sent behind the driver's back).
    ASSERT_TRUE(rig.sim->bulk_out(encode(pc_to_rdr::GetSlotStatus{1, 0x99}), Millis{100}));
    auto r = rig.slot(0).power_on();
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(rig.sim->stats().busy, 1u);
    EXPECT_EQ(rig.reader->exchange_stats().busy_retries, 1u);
}

TEST(ReaderExchange, SlotBusyThatPersistsIsNamed) {
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu, 2);
    config.descriptor.bMaxCCIDBusySlots = 1;
    Rig rig = open_rig(config, fast_options(), [](sim::ReaderSim& s) {
        s.insert_card(0, sim::SimCard::t1_default());
        s.insert_card(1, sim::SimCard::t1_default());
    });
    // A command on slot 1 that never ends occupies the only busy slot.
    ASSERT_TRUE(rig.slot(1).power_on());
    sim::ReaderFaults faults;
    faults.endless_time_extension = true;
    rig.sim->set_faults(faults);
    ASSERT_TRUE(rig.sim->bulk_out(encode(pc_to_rdr::XfrBlock{1, 0x99, 0, 0, kEcho4}), Millis{100}));
    auto r = rig.slot(0).power_on();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::SlotBusy);
    EXPECT_EQ(rig.reader->exchange_stats().busy_retries, 1u);
}

TEST(ReaderEvents, InterruptPipeReportsInsertionAndRemoval) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu));
    ASSERT_TRUE(rig.reader->uses_interrupt_events());
    EXPECT_FALSE(rig.reader->card_present(0));
    rig.sim->insert_card(0, sim::SimCard::t1_default());
    auto in = rig.reader->poll_events(Millis{500});
    ASSERT_TRUE(in) << describe(in.error());
    ASSERT_EQ(in->slots.size(), 1u);
    EXPECT_EQ(in->slots[0], (SlotEvent{0, true, true}));
    EXPECT_EQ(in->source, EventSource::Interrupt);
    EXPECT_TRUE(rig.reader->card_present(0));

    ASSERT_TRUE(rig.slot().power_on());
    const auto xfr_before = rig.sim->stats().count(MessageType::PcToRdrXfrBlock);
    rig.sim->remove_card(0);
    auto out = rig.reader->poll_events(Millis{500});
    ASSERT_TRUE(out);
    ASSERT_EQ(out->slots.size(), 1u);
    EXPECT_EQ(out->slots[0], (SlotEvent{0, false, true}));
    // The session ended with the removal: the driver answers without asking the reader.
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::CardRemoved);
    EXPECT_EQ(rig.sim->stats().count(MessageType::PcToRdrXfrBlock), xfr_before);
    EXPECT_FALSE(rig.slot().active());
}

TEST(ReaderEvents, TimeoutWithoutEventsIsEmpty) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu));
    auto events = rig.reader->poll_events(Millis{20});
    ASSERT_TRUE(events);
    EXPECT_TRUE(events->empty());
}

TEST(ReaderEvents, PollingWithoutInterruptEndpoint) {
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    config.has_interrupt = false;
    Rig rig = open_rig(config);
    EXPECT_FALSE(rig.reader->uses_interrupt_events());
    std::thread inserter([&] {
        std::this_thread::sleep_for(30ms);
        rig.sim->insert_card(0, sim::SimCard::t0_default());
    });
    auto events = rig.reader->poll_events(Millis{2000});
    inserter.join();
    ASSERT_TRUE(events) << describe(events.error());
    ASSERT_EQ(events->slots.size(), 1u);
    EXPECT_EQ(events->slots[0], (SlotEvent{0, true, true}));
    EXPECT_EQ(events->source, EventSource::Polling);
    EXPECT_GE(rig.sim->stats().count(MessageType::PcToRdrGetSlotStatus), 2u);

    rig.sim->remove_card(0);
    auto removal = rig.reader->poll_events(Millis{2000});
    ASSERT_TRUE(removal);
    ASSERT_EQ(removal->slots.size(), 1u);
    EXPECT_FALSE(removal->slots[0].present);
}

TEST(ReaderEvents, WakeEndsAPollingWait) {
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    config.has_interrupt = false;
    Rig rig = open_rig(config);
    std::thread waker([&] {
        std::this_thread::sleep_for(30ms);
        rig.reader->wake_events();
    });
    const auto start = Clock::now();
    auto events = rig.reader->poll_events(Millis{5000});
    waker.join();
    ASSERT_TRUE(events);
    EXPECT_TRUE(events->empty());
    EXPECT_LT(Clock::now() - start, 3s);
}

TEST(ReaderEvents, HardwareErrorEndsTheSession) {
    Rig rig = powered_rig();
    rig.sim->inject_hardware_error(0);
    auto events = rig.reader->poll_events(Millis{500});
    ASSERT_TRUE(events);
    ASSERT_EQ(events->hardware_faults.size(), 1u);
    EXPECT_EQ(events->hardware_faults[0].code, 0x01);
    EXPECT_FALSE(events->hardware_faults[0].stale);
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::HardwareError);
}

// The notification names the command that was running (bSeq). Read only after the card was
// powered on again, it is about the old session: the new one goes on.
TEST(ReaderEvents, HardwareErrorReadAfterANewPowerOnKeepsTheNewSession) {
    Rig rig = powered_rig();
    ASSERT_TRUE(rig.slot().transmit(kEcho4));
    rig.sim->inject_hardware_error(0);  // the card is deactivated; nobody reads the pipe yet
    auto on = rig.slot().power_on();
    ASSERT_TRUE(on) << describe(on.error());
    auto events = rig.reader->poll_events(Millis{500});
    ASSERT_TRUE(events);
    ASSERT_EQ(events->hardware_faults.size(), 1u);
    EXPECT_TRUE(events->hardware_faults[0].stale);
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, kEcho4Response);
    EXPECT_TRUE(rig.slot().active());

    // A fault during the new session still ends it.
    rig.sim->inject_hardware_error(0);
    events = rig.reader->poll_events(Millis{500});
    ASSERT_TRUE(events);
    ASSERT_EQ(events->hardware_faults.size(), 1u);
    EXPECT_FALSE(events->hardware_faults[0].stale);
    auto after = rig.slot().transmit(kEcho4);
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error().code, ReaderErrc::HardwareError);
}

TEST(ReaderEvents, SlotChangeStormIsBoundedAndEndsTheSession) {
    Rig rig = powered_rig();
    ASSERT_TRUE(rig.slot().active());
    // Bouncing contacts: every notification says "changed" while the card stays present, so
    // the card may have been swapped under the session.
    rig.sim->inject_slot_change_storm(1000);
    std::size_t reads = 0;
    for (; reads < 2000; ++reads) {
        auto e = rig.reader->poll_events(Millis{1});
        ASSERT_TRUE(e);
        if (e->empty()) break;
    }
    EXPECT_LT(reads, 2000u);
    EXPECT_TRUE(rig.reader->card_present(0));
    auto r = rig.slot().transmit(kEcho4);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::CardChanged);
    ASSERT_TRUE(rig.slot().power_on());
    EXPECT_TRUE(rig.slot().transmit(kEcho4));
}

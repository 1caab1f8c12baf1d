// ReaderSim fault injection and the blocking behaviour of its Transport: stale bSeq, oversize
// and truncated replies, silence, endless time extension, stalls, a disappearing device,
// packet-level reads, timeouts and cancel() from another thread.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ccid/message_framing.h"
#include "ccid/slot_error.h"
#include "sim/reader/reader_probe.h"
#include "sim/reader/reader_sim.h"

namespace ccidkit::sim {
namespace {

using namespace std::chrono_literals;
using ccid::TransportError;
using Clock = std::chrono::steady_clock;
namespace pc = ccid::pc_to_rdr;
namespace rp = ccid::rdr_to_pc;

Bytes status_command(std::uint8_t seq) { return ccid::encode(pc::GetSlotStatus{0, seq}); }

std::expected<Bytes, TransportError> read(ReaderSim& sim, std::size_t size = 1024, ccid::Millis timeout = 200ms) {
    Bytes buf(size);
    auto n = sim.bulk_in(buf, timeout);
    if (!n) return std::unexpected(n.error());
    buf.resize(*n);
    return buf;
}

TEST(ReaderFaults, StaleReplyPrecedesTheRightOne) {
    ReaderSim sim;
    ReaderFaults faults;
    faults.stale_seq = 1;
    sim.set_faults(faults);
    ASSERT_TRUE(sim.bulk_out(status_command(5), 100ms));
    const Bytes stale = read(sim).value();
    const Bytes right = read(sim).value();
    EXPECT_EQ(stale[6], 4);
    EXPECT_EQ(right[6], 5);
    EXPECT_EQ(Bytes(stale.begin() + 7, stale.end()), Bytes(right.begin() + 7, right.end()));
    // Consumed: the next command is answered once.
    ASSERT_TRUE(sim.bulk_out(status_command(6), 100ms));
    EXPECT_EQ(read(sim).value()[6], 6);
    EXPECT_EQ(read(sim, 1024, 10ms).error(), TransportError::Timeout);
    EXPECT_EQ(sim.faults().stale_seq, 0u);
    EXPECT_EQ(sim.stats().faults_applied, 1u);
}

TEST(ReaderFaults, OversizeReplyExceedsTheDescriptorLimit) {
    ReaderSim sim;
    ReaderFaults faults;
    faults.oversize = 1;
    sim.set_faults(faults);
    ASSERT_TRUE(sim.bulk_out(status_command(1), 100ms));
    const Bytes reply = read(sim, 4096).value();
    EXPECT_EQ(reply.size(), 272u);  // dwMaxCCIDMessageLength 271 + 1
    EXPECT_EQ(ccid::decode_response(reply, 271).error(), ccid::DecodeError::ExceedsMaxLength);
}

TEST(ReaderFaults, ReplyLargerThanTheHostBuffer) {
    ReaderSim sim;  // wMaxPacketSize 64
    ReaderFaults faults;
    faults.oversize = 2;
    faults.oversize_bytes = 500;
    sim.set_faults(faults);
    // A buffer that is not a multiple of the packet size: overflow, message lost.
    ASSERT_TRUE(sim.bulk_out(status_command(1), 100ms));
    EXPECT_EQ(read(sim, 100).error(), TransportError::Overflow);
    EXPECT_EQ(sim.pending(), 0u);
    // A multiple of the packet size: the transfer ends with a full buffer, the rest follows.
    ASSERT_TRUE(sim.bulk_out(status_command(2), 100ms));
    Bytes whole;
    for (int i = 0; i < 20 && whole.size() < 510; ++i) {
        const Bytes part = read(sim, 128).value();
        EXPECT_LE(part.size(), 128u);
        whole.insert(whole.end(), part.begin(), part.end());
    }
    EXPECT_EQ(whole.size(), 510u);
    EXPECT_EQ(load_le32(&whole[1]), 500u);
}

TEST(ReaderFaults, TruncatedReplyLiesInDwLength) {
    ReaderSim sim;
    ReaderFaults faults;
    faults.truncated = 1;
    faults.truncate_bytes = 7;
    sim.set_faults(faults);
    ASSERT_TRUE(sim.bulk_out(status_command(1), 100ms));
    const Bytes reply = read(sim).value();
    EXPECT_EQ(reply.size(), 10u);
    EXPECT_EQ(load_le32(&reply[1]), 7u);
    EXPECT_EQ(ccid::decode_response(reply, 271).error(), ccid::DecodeError::Truncated);
}

TEST(ReaderFaults, SilentReplyTimesOutAndFreesTheSlot) {
    ReaderSim sim;
    ReaderFaults faults;
    faults.silent = 1;
    sim.set_faults(faults);
    ASSERT_TRUE(sim.bulk_out(status_command(1), 100ms));
    EXPECT_EQ(read(sim, 1024, 20ms).error(), TransportError::Timeout);
    ASSERT_TRUE(sim.bulk_out(status_command(2), 100ms));
    const Bytes reply = read(sim).value();
    EXPECT_EQ(reply[6], 2);
    EXPECT_EQ(reply[8], 0);  // bError: not busy
}

TEST(ReaderFaults, FaultsCanTargetOneMessageType) {
    ReaderSim sim;
    sim.insert_card(0, SimCard::t1_default());
    ReaderFaults faults;
    faults.silent = 1;
    faults.only_for = ccid::MessageType::PcToRdrIccPowerOn;
    sim.set_faults(faults);
    ReaderProbe host(sim, 65556, 30ms);
    EXPECT_TRUE(host.transact(pc::GetSlotStatus{0, 1}));
    EXPECT_EQ(host.transact(pc::IccPowerOn{0, 2, ccid::PowerSelect::Automatic}).error().transport,
              TransportError::Timeout);
    EXPECT_TRUE(host.transact(pc::IccPowerOn{0, 3, ccid::PowerSelect::Automatic}));
}

TEST(ReaderFaults, EndlessTimeExtension) {
    ReaderSim sim;
    sim.insert_card(0, SimCard::t1_default());
    ReaderFaults faults;
    faults.endless_time_extension = true;
    sim.set_faults(faults);
    ASSERT_TRUE(sim.bulk_out(ccid::encode(pc::IccPowerOn{0, 1, ccid::PowerSelect::Automatic}), 100ms));
    for (int i = 0; i < 100; ++i) {
        const auto r = ccid::decode_response(read(sim).value(), 271).value();
        ASSERT_EQ(ccid::status_of(r).command(), ccid::CommandStatus::TimeExtension);
    }
    EXPECT_FALSE(sim.card(0)->active());  // the command never reached the card
    sim.remove_card(0);
    const auto last = ccid::decode_response(read(sim).value(), 271).value();
    EXPECT_EQ(ccid::status_of(last).bError, ccid::slot_error_code::kIccMute);
}

TEST(ReaderFaults, StallUntilClearHalt) {
    ReaderSim sim;
    ReaderFaults faults;
    faults.bulk_in_stalls = 1;
    sim.set_faults(faults);
    ASSERT_TRUE(sim.bulk_out(status_command(1), 100ms));
    EXPECT_EQ(read(sim).error(), TransportError::Stall);
    EXPECT_EQ(read(sim).error(), TransportError::Stall);  // halted until cleared
    ASSERT_TRUE(sim.clear_halt());
    EXPECT_EQ(read(sim).value()[6], 1);  // the reply was kept
    EXPECT_EQ(sim.stats().stalls, 2u);
}

TEST(ReaderFaults, DeviceDisappearsAfterNCalls) {
    ReaderSim sim;
    ReaderFaults faults;
    faults.disappear_after_calls = 3;
    sim.set_faults(faults);
    ASSERT_TRUE(sim.bulk_out(status_command(1), 100ms));  // 1
    ASSERT_TRUE(read(sim));                                 // 2
    ASSERT_TRUE(sim.bulk_out(status_command(2), 100ms));  // 3
    EXPECT_EQ(read(sim).error(), TransportError::NoDevice);
    EXPECT_EQ(sim.bulk_out(status_command(3), 100ms).error(), TransportError::NoDevice);
    std::array<std::uint8_t, 8> buf{};
    EXPECT_EQ(sim.interrupt_in(buf, 10ms).error(), TransportError::NoDevice);
    EXPECT_EQ(sim.control_in(ccid::ControlSetup{0xA1, 2, 0, 0}, buf, 10ms).error(), TransportError::NoDevice);
    EXPECT_EQ(sim.clear_halt().error(), TransportError::NoDevice);
    EXPECT_TRUE(sim.disconnected());
}

TEST(ReaderFaults, UnplugWakesABlockedCall) {
    ReaderSim sim;
    std::expected<Bytes, TransportError> result;
    const auto start = Clock::now();
    std::thread reader([&] { result = read(sim, 64, 10s); });
    std::this_thread::sleep_for(30ms);
    sim.disconnect();
    reader.join();
    EXPECT_EQ(result.error(), TransportError::NoDevice);
    EXPECT_LT(Clock::now() - start, 5s);
}

// ---- Blocking behaviour --------------------------------------------------------------------------

TEST(ReaderTransport, TimeoutWhenNothingComes) {
    ReaderSim sim;
    const auto start = Clock::now();
    EXPECT_EQ(read(sim, 64, 50ms).error(), TransportError::Timeout);
    const auto elapsed = Clock::now() - start;
    EXPECT_GE(elapsed, 50ms);
    EXPECT_LT(elapsed, 5s);
}

TEST(ReaderTransport, NoWaitWhenTheReplyIsThere) {
    ReaderSim sim;
    ASSERT_TRUE(sim.bulk_out(status_command(1), 100ms));
    const auto start = Clock::now();
    EXPECT_TRUE(read(sim, 64, 10s));
    EXPECT_LT(Clock::now() - start, 2s);
}

TEST(ReaderTransport, CancelWakesBlockedCallsFromAnotherThread) {
    ReaderSim sim;
    std::expected<Bytes, TransportError> bulk;
    std::expected<std::size_t, TransportError> interrupt;
    const auto start = Clock::now();
    std::thread bulk_thread([&] { bulk = read(sim, 64, 10s); });
    std::thread interrupt_thread([&] {
        std::array<std::uint8_t, 8> buf{};
        interrupt = sim.interrupt_in(buf, 10s);
    });
    std::this_thread::sleep_for(30ms);
    sim.cancel();
    bulk_thread.join();
    interrupt_thread.join();
    EXPECT_EQ(bulk.error(), TransportError::Cancelled);
    EXPECT_EQ(interrupt.error(), TransportError::Cancelled);
    EXPECT_LT(Clock::now() - start, 5s);
    // cancel() affects only the calls blocked at that moment.
    ASSERT_TRUE(sim.bulk_out(status_command(1), 100ms));
    EXPECT_TRUE(read(sim));
}

TEST(ReaderTransport, ReplyFromAnotherThreadWakesTheReader) {
    ReaderSim sim;
    std::expected<Bytes, TransportError> result;
    std::thread reader([&] { result = read(sim, 64, 10s); });
    std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(sim.bulk_out(status_command(7), 100ms));
    reader.join();
    ASSERT_TRUE(result);
    EXPECT_EQ((*result)[6], 7);
}

TEST(ReaderTransport, InsertionFromAnotherThreadWakesTheInterruptReader) {
    ReaderSim sim;
    std::expected<std::size_t, TransportError> n;
    std::array<std::uint8_t, 8> buf{};
    std::thread waiter([&] { n = sim.interrupt_in(buf, 10s); });
    std::this_thread::sleep_for(20ms);
    sim.insert_card(0, SimCard::t1_default());
    waiter.join();
    ASSERT_TRUE(n);
    EXPECT_EQ(to_hex(ByteView(buf).first(*n)), "50 03");  // slot 0: present, changed
}

TEST(ReaderTransport, FullQueueMakesBulkOutWait) {
    ReaderSimConfig config;
    config.max_queued_replies = 2;
    ReaderSim sim(config);
    ASSERT_TRUE(sim.bulk_out(status_command(1), 100ms));
    ASSERT_TRUE(sim.bulk_out(ccid::encode(pc::Escape{0, 2, {}}), 100ms));
    EXPECT_EQ(sim.bulk_out(status_command(3), 20ms).error(), TransportError::Timeout);
    EXPECT_TRUE(read(sim));
    EXPECT_TRUE(sim.bulk_out(status_command(3), 20ms));
}

TEST(ReaderTransport, ConcurrentSlotsAndCardChurn) {
    ReaderSim sim(make_reader_config(ccid::ExchangeLevel::ShortApdu, 1));
    sim.insert_card(0, SimCard::t1_default());
    std::atomic<bool> stop{false};
    std::thread churn([&] {
        for (int i = 0; i < 200 && !stop; ++i) {
            auto card = sim.remove_card(0);
            sim.insert_card(0, card ? card : std::make_shared<SimCard>(SimCard::t1_default()));
        }
    });
    std::thread events([&] {
        std::array<std::uint8_t, 8> buf{};
        while (!stop) (void)sim.interrupt_in(buf, 5ms);
    });
    ReaderProbe host(sim);
    int answered = 0;
    for (int i = 0; i < 200; ++i) {
        auto r = host.transact(pc::IccPowerOn{0, host.next_seq(), ccid::PowerSelect::Automatic});
        ASSERT_TRUE(r) << r.error().describe();
        if (ccid::status_of(r->reply).ok()) ++answered;
    }
    stop = true;
    churn.join();
    events.join();
    EXPECT_GT(answered, 0);
}

}  // namespace
}  // namespace ccidkit::sim

// SharedReaderSim: the claim rule between handles, per-handle cancel, release ending the calls
// in flight, handles outliving the simulator.
#include "sim/reader/shared_reader_sim.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <future>
#include <thread>

#include "ccid/message_framing.h"
#include "sim/reader/reader_probe.h"

namespace ccidkit::sim {
namespace {

using namespace std::chrono_literals;
using ccid::TransportError;
namespace pc = ccid::pc_to_rdr;
namespace rp = ccid::rdr_to_pc;

ReaderSimConfig config() { return make_reader_config(ccid::ExchangeLevel::ShortApdu); }

// Until `n` calls wait inside the simulator (threads may start late on a loaded machine).
void wait_in_flight(const SharedReaderSim& shared, std::size_t n) {
    const auto began = std::chrono::steady_clock::now();
    while (shared.calls_in_flight() < n) {
        ASSERT_LT(std::chrono::steady_clock::now() - began, 5s);
        std::this_thread::sleep_for(1ms);
    }
}

TEST(SharedReaderSim, HandlesStartUnclaimedAndOnlyTheHolderTalks) {
    SharedReaderSim shared(config());
    auto a = shared.open_handle();
    auto b = shared.open_handle();
    EXPECT_EQ(shared.handles(), 2u);
    EXPECT_FALSE(a->claimed());
    EXPECT_FALSE(shared.claimed());

    std::array<std::uint8_t, 64> buf{};
    EXPECT_EQ(a->bulk_out(ccid::encode(pc::GetSlotStatus{0, 0}), 100ms).error(), TransportError::Busy);
    EXPECT_EQ(a->interrupt_in(buf, 10ms).error(), TransportError::Busy);
    EXPECT_EQ(a->control_in({0xA1, 0x02, 0, 0}, buf, 10ms).error(), TransportError::Busy);
    EXPECT_EQ(a->clear_halt().error(), TransportError::Busy);

    ASSERT_TRUE(a->claim());
    ASSERT_TRUE(a->claim());  // idempotent
    EXPECT_TRUE(a->claimed());
    EXPECT_FALSE(b->claimed());
    EXPECT_EQ(b->claim().error(), TransportError::Busy);
    EXPECT_EQ(b->bulk_in(buf, 10ms).error(), TransportError::Busy);

    ReaderProbe probe_a(*a);
    auto reply = probe_a.transact(pc::GetSlotStatus{0, probe_a.next_seq()});
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_TRUE(std::holds_alternative<rp::SlotStatus>(reply->reply));

    a->release();
    EXPECT_FALSE(a->claimed());
    EXPECT_EQ(a->bulk_out(ccid::encode(pc::GetSlotStatus{0, 1}), 100ms).error(), TransportError::Busy);
    ASSERT_TRUE(b->claim());
    ReaderProbe probe_b(*b);
    probe_b.next_seq();
    EXPECT_TRUE(probe_b.transact(pc::GetSlotStatus{0, probe_b.next_seq()}));
}

TEST(SharedReaderSim, DestroyingTheHolderFreesTheClaim) {
    SharedReaderSim shared(config());
    auto a = shared.open_handle();
    auto b = shared.open_handle();
    ASSERT_TRUE(a->claim());
    a.reset();
    EXPECT_EQ(shared.handles(), 1u);
    EXPECT_FALSE(shared.claimed());
    EXPECT_TRUE(b->claim());
}

TEST(SharedReaderSim, CancelWakesOnlyThatHandlesCalls) {
    SharedReaderSim shared(config());
    auto a = shared.open_handle();
    ASSERT_TRUE(a->claim());
    // Two blocked readers on one handle; cancel wakes both at once.
    auto read = [&] {
        std::array<std::uint8_t, 64> buf{};
        return a->interrupt_in(buf, 10s);
    };
    auto first = std::async(std::launch::async, read);
    auto second = std::async(std::launch::async, read);
    wait_in_flight(shared, 2);
    const auto start = std::chrono::steady_clock::now();
    while (first.wait_for(0ms) != std::future_status::ready || second.wait_for(0ms) != std::future_status::ready) {
        a->cancel();  // repeated: a call that began after a cancel is not affected by it
        std::this_thread::sleep_for(5ms);
        ASSERT_LT(std::chrono::steady_clock::now() - start, 5s);
    }
    EXPECT_EQ(first.get().error(), TransportError::Cancelled);
    EXPECT_EQ(second.get().error(), TransportError::Cancelled);

    // A global wake-up of the simulator (another handle's cancel) does not end this call early.
    auto b = shared.open_handle();
    auto pending = std::async(std::launch::async, [&] {
        std::array<std::uint8_t, 64> buf{};
        return a->interrupt_in(buf, 5s);
    });
    wait_in_flight(shared, 1);
    for (int i = 0; i < 10; ++i) {
        b->cancel();
        shared.sim().cancel();
        std::this_thread::sleep_for(10ms);
    }
    // Then a card arrives: the call still delivers it.
    shared.sim().insert_card(0, SimCard::t1_default());
    auto got = pending.get();
    ASSERT_TRUE(got) << ccid::to_string(got.error());
    EXPECT_GT(*got, 0u);
}

TEST(SharedReaderSim, ACallMadeAfterCancelIsNotAffected) {
    SharedReaderSim shared(config());
    auto a = shared.open_handle();
    ASSERT_TRUE(a->claim());
    a->cancel();
    std::array<std::uint8_t, 64> buf{};
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(a->interrupt_in(buf, 60ms).error(), TransportError::Timeout);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 55ms);
}

TEST(SharedReaderSim, ReleaseEndsCallsInFlightFirst) {
    SharedReaderSim shared(config());
    auto a = shared.open_handle();
    auto b = shared.open_handle();
    ASSERT_TRUE(a->claim());
    auto blocked = std::async(std::launch::async, [&] {
        std::array<std::uint8_t, 64> buf{};
        return a->interrupt_in(buf, 10s);
    });
    wait_in_flight(shared, 1);
    const auto start = std::chrono::steady_clock::now();
    a->release();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    // release() returned: the call has left the simulator already, not later.
    EXPECT_EQ(shared.calls_in_flight(), 0u);
    const auto r = blocked.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), TransportError::Cancelled);
    EXPECT_TRUE(b->claim());
}

TEST(SharedReaderSim, DisconnectedReaderRefusesClaimsAndCalls) {
    SharedReaderSim shared(config());
    auto a = shared.open_handle();
    ASSERT_TRUE(a->claim());
    shared.sim().disconnect();
    std::array<std::uint8_t, 64> buf{};
    EXPECT_EQ(a->bulk_in(buf, 10ms).error(), TransportError::NoDevice);
    auto b = shared.open_handle();
    EXPECT_EQ(b->claim().error(), TransportError::NoDevice);
}

TEST(SharedReaderSim, HandlesOutliveTheSharedReader) {
    std::unique_ptr<ccid::Transport> a;
    {
        SharedReaderSim shared(config());
        a = shared.open_handle();
        ASSERT_TRUE(a->claim());
    }
    EXPECT_TRUE(a->claimed());
    std::array<std::uint8_t, 64> buf{};
    EXPECT_EQ(a->bulk_in(buf, 10ms).error(), TransportError::Timeout);
    EXPECT_EQ(a->bulk_in_max_packet(), config().max_packet_size);
}

TEST(SharedReaderSim, ManyHandlesContendingNeverShareTheClaim) {
    SharedReaderSim shared(config());
    constexpr int kThreads = 4;
    std::atomic<int> holders{0};
    std::atomic<int> max_holders{0};
    std::atomic<int> rounds{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            auto h = shared.open_handle();
            for (int i = 0; i < 200; ++i) {
                if (!h->claim()) continue;
                const int now = ++holders;
                int seen = max_holders.load();
                while (now > seen && !max_holders.compare_exchange_weak(seen, now)) {
                }
                --holders;
                h->release();
                ++rounds;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(max_holders.load(), 1);
    EXPECT_GT(rounds.load(), 0);
}

}  // namespace
}  // namespace ccidkit::sim

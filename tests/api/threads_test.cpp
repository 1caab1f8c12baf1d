// Thread safety: any function from any thread. Many threads hammering SCardTransmit on shared
// handles, connection churn next to traffic, and status waits cancelled from other threads.
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "api/api_fixture.h"

namespace ccidkit::api::testing {
namespace {

using namespace std::chrono_literals;

class Threads : public ApiTest {
protected:
    void SetUp() override {
        ApiTest::SetUp();
        reader = reader_with_card(name);
        reader->set_io_delay(20us);  // widens the windows in which races would show
        ctx = establish();
    }
    void TearDown() override {
        SCardReleaseContext(ctx);
        ApiTest::TearDown();
    }
    std::shared_ptr<FakeReader> reader;
    std::string name;
    SCARDCONTEXT ctx = 0;
};

TEST_F(Threads, ManyThreadsHammerTransmit) {
    constexpr int kThreads = 8;
    constexpr int kRounds = 150;
    SCARDHANDLE shared = 0;
    ASSERT_EQ(connect(ctx, name, shared), SCARD_S_SUCCESS);
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            // Half the threads share one handle, the others have their own (own context too).
            SCARDCONTEXT own_ctx = 0;
            SCARDHANDLE h = shared;
            if (t % 2 == 1) {
                if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &own_ctx) != SCARD_S_SUCCESS ||
                    connect(own_ctx, name, h) != SCARD_S_SUCCESS) {
                    ++bad;
                    return;
                }
            }
            for (int i = 0; i < kRounds; ++i) {
                const Bytes apdu{0x80, 0x10, static_cast<std::uint8_t>(t), static_cast<std::uint8_t>(i)};
                BYTE out[16];
                DWORD len = sizeof(out);
                if (SCardTransmit(h, SCARD_PCI_T1, apdu.data(), 4, nullptr, out, &len) != SCARD_S_SUCCESS || len != 6 ||
                    out[2] != t || out[3] != static_cast<std::uint8_t>(i))
                    ++bad;  // an answer to somebody else's command would show here
            }
            if (own_ctx) {
                // LEAVE: releasing a context with a connected card would reset it for everybody.
                SCardDisconnect(h, SCARD_LEAVE_CARD);
                SCardReleaseContext(own_ctx);
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_FALSE(reader->overlapped_io());
    EXPECT_EQ(reader->commands().size(), static_cast<std::size_t>(kThreads * kRounds));
}

TEST_F(Threads, ConnectionChurnNextToTraffic) {
    SCARDHANDLE worker = 0;
    ASSERT_EQ(connect(ctx, name, worker), SCARD_S_SUCCESS);
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    std::thread traffic([&] {
        while (!stop) {
            Bytes r;
            if (transmit(worker, {0x00, 0xCA, 0x00, 0x02, 0x00}, r) != SCARD_S_SUCCESS) ++bad;
        }
    });
    std::vector<std::thread> churn;
    for (int t = 0; t < 3; ++t) {
        churn.emplace_back([&] {
            for (int i = 0; i < 60; ++i) {
                SCARDHANDLE h = 0;
                if (connect(ctx, name, h) != SCARD_S_SUCCESS) {
                    ++bad;
                    continue;
                }
                DWORD len = 0;
                if (SCardStatus(h, nullptr, &len, nullptr, nullptr, nullptr, nullptr) != SCARD_S_SUCCESS) ++bad;
                if (SCardDisconnect(h, SCARD_LEAVE_CARD) != SCARD_S_SUCCESS) ++bad;
            }
        });
    }
    for (auto& th : churn) th.join();
    stop = true;
    traffic.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_FALSE(reader->overlapped_io());
}

TEST_F(Threads, TransmitsRespectTransactionsOfOtherThreads) {
    SCARDHANDLE a = 0, b = 0;
    ASSERT_EQ(connect(ctx, name, a), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(ctx, name, b), SCARD_S_SUCCESS);
    std::atomic<bool> stop{false};
    std::thread other([&] {
        while (!stop) {
            Bytes r;
            (void)transmit(b, {0x80, 0xBB, 0x00, 0x00}, r);
        }
    });
    constexpr int kRounds = 30;
    for (int i = 0; i < kRounds; ++i) {
        ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
        Bytes r;
        ASSERT_EQ(transmit(a, {0x80, 0xAA, 0x01, static_cast<std::uint8_t>(i)}, r), SCARD_S_SUCCESS);
        std::this_thread::sleep_for(200us);
        ASSERT_EQ(transmit(a, {0x80, 0xAA, 0x02, static_cast<std::uint8_t>(i)}, r), SCARD_S_SUCCESS);
        ASSERT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    }
    stop = true;
    other.join();
    // In the card's log, a's two commands of a transaction are never separated by one of b's.
    int opened = 0;
    int intruders = 0;
    for (const Bytes& c : reader->commands()) {
        if (c[1] == 0xAA) opened = c[2] == 0x01;
        else if (c[1] == 0xBB && opened) ++intruders;
    }
    EXPECT_EQ(intruders, 0);
}

TEST_F(Threads, StatusWaitsCancelledWhileOthersWork) {
    std::vector<std::future<LONG>> waits;
    std::vector<SCARDCONTEXT> contexts;
    for (int i = 0; i < 4; ++i) {
        contexts.push_back(establish());
        // By value: the vector grows (and moves) while the earlier waiters run.
        waits.push_back(std::async(std::launch::async, [this, c = contexts.back()] {
            SCARD_READERSTATE s{};
            s.szReader = name.c_str();
            s.dwCurrentState = SCARD_STATE_PRESENT;
            return SCardGetStatusChange(c, INFINITE, &s, 1);
        }));
    }
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    Bytes r;
    ASSERT_EQ(transmit(h, kVerify, r), SCARD_S_SUCCESS);
    for (int round = 0; round < 200; ++round) {
        bool all = true;
        for (std::size_t i = 0; i < waits.size(); ++i) {
            if (waits[i].wait_for(0ms) != std::future_status::ready) {
                all = false;
                SCardCancel(contexts[i]);
            }
        }
        if (all) break;
        std::this_thread::sleep_for(5ms);
    }
    for (auto& w : waits) {
        ASSERT_EQ(w.wait_for(5s), std::future_status::ready);
        EXPECT_EQ(w.get(), SCARD_E_CANCELLED);
    }
    for (SCARDCONTEXT c : contexts) SCardReleaseContext(c);
}

}  // namespace
}  // namespace ccidkit::api::testing

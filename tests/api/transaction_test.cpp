// SCardBeginTransaction / SCardEndTransaction: nesting, blocking of the other handles (on a
// condition variable: waiters wake as soon as the lock is released), dispositions.
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "api/api_fixture.h"

namespace ccidkit::api::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Transaction : public ApiTest {
protected:
    void SetUp() override {
        ApiTest::SetUp();
        reader = reader_with_card(name);
        ctx = establish();
        ASSERT_EQ(connect(ctx, name, a), SCARD_S_SUCCESS);
        ASSERT_EQ(connect(ctx, name, b), SCARD_S_SUCCESS);
    }
    void TearDown() override {
        SCardReleaseContext(ctx);
        ApiTest::TearDown();
    }
    // True when fut is still pending after `d`: the call is blocked.
    template <typename T>
    static bool still_blocked(std::future<T>& fut, std::chrono::milliseconds d = 100ms) {
        return fut.wait_for(d) == std::future_status::timeout;
    }

    std::shared_ptr<FakeReader> reader;
    std::string name;
    SCARDCONTEXT ctx = 0;
    SCARDHANDLE a = 0;
    SCARDHANDLE b = 0;
};

TEST_F(Transaction, NestingAndNotTransacted) {
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_E_NOT_TRANSACTED);
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardEndTransaction(a, 7), SCARD_E_INVALID_VALUE);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    // Still held once: the other handle is refused where pcsc-lite refuses.
    BYTE buf[64];
    DWORD len = 0;
    EXPECT_EQ(SCardControl(b, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, buf, sizeof(buf), &len),
              SCARD_E_SHARING_VIOLATION);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_E_NOT_TRANSACTED);
    EXPECT_EQ(SCardControl(b, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, buf, sizeof(buf), &len), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardBeginTransaction(a + b + 1), SCARD_E_INVALID_HANDLE);
    EXPECT_EQ(SCardEndTransaction(a + b + 1, SCARD_LEAVE_CARD), SCARD_E_INVALID_HANDLE);
}

TEST_F(Transaction, WhatTheOtherHandleGetsMeanwhile) {
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    BYTE buf[64];
    DWORD len = sizeof(buf);
    EXPECT_EQ(SCardGetAttrib(b, SCARD_ATTR_ATR_STRING, buf, &len), SCARD_E_SHARING_VIOLATION);
    EXPECT_EQ(SCardSetAttrib(b, FakeReader::kSettableAttribute, buf, 1), SCARD_E_SHARING_VIOLATION);
    EXPECT_EQ(SCardEndTransaction(b, SCARD_LEAVE_CARD), SCARD_E_SHARING_VIOLATION);
    EXPECT_EQ(SCardEndTransaction(b, SCARD_RESET_CARD), SCARD_E_SHARING_VIOLATION);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
}

TEST_F(Transaction, TransmitStatusAndBeginWaitThenWakeAtOnce) {
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    std::atomic<Clock::rep> woke{0};
    auto t = std::async(std::launch::async, [&] {
        Bytes r;
        const LONG rc = transmit(b, kVerify, r);  // SCardStatus then SCardTransmit: both wait
        woke = Clock::now().time_since_epoch().count();
        return rc;
    });
    auto begin = std::async(std::launch::async, [&] { return SCardBeginTransaction(b); });
    EXPECT_TRUE(still_blocked(t));
    EXPECT_TRUE(still_blocked(begin, 10ms));
    Bytes r;
    ASSERT_EQ(transmit(a, {0x00, 0xCA, 0x00, 0x01, 0x00}, r), SCARD_S_SUCCESS);  // the owner goes on
    const auto ended = Clock::now();
    ASSERT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    // One of the two waiters gets the reader first; both finish.
    ASSERT_EQ(begin.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(begin.get(), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardEndTransaction(b, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    ASSERT_EQ(t.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(t.get(), SCARD_S_SUCCESS);
    const auto latency = Clock::time_point(Clock::duration(woke.load())) - ended;
    // pcsc-lite's client polls every 100 ms; a condition variable wakes the waiter at once.
    EXPECT_LT(latency, 100ms);
    RecordProperty("handoff_us", static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(latency).count()));
}

TEST_F(Transaction, NoBlockingOption) {
    install_provider(provider, ServiceOptions{.no_blocking = true, .lock_dir = {}});
    ctx = establish();
    ASSERT_EQ(connect(ctx, name, a), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(ctx, name, b), SCARD_S_SUCCESS);
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    BYTE out[16];
    DWORD len = sizeof(out);
    EXPECT_EQ(SCardTransmit(b, SCARD_PCI_T1, kVerify.data(), 9, nullptr, out, &len), SCARD_E_SHARING_VIOLATION);
    EXPECT_EQ(SCardStatus(b, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), SCARD_E_SHARING_VIOLATION);
    DWORD p = 0;
    EXPECT_EQ(SCardReconnect(b, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_E_SHARING_VIOLATION);
    // SCardBeginTransaction always waits, as in pcsc-lite.
    auto begin = std::async(std::launch::async, [&] { return SCardBeginTransaction(b); });
    EXPECT_TRUE(still_blocked(begin));
    ASSERT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(begin.get(), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardEndTransaction(b, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
}

TEST_F(Transaction, EndWithResetResetsEveryHandleIncludingItsOwn) {
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    Bytes r;
    ASSERT_EQ(transmit(a, kVerify, r), SCARD_S_SUCCESS);
    ASSERT_EQ(SCardEndTransaction(a, SCARD_RESET_CARD), SCARD_S_SUCCESS);
    // pcsc-lite marks all handles of the reader, the caller's too (Windows spares the caller).
    EXPECT_EQ(transmit(a, kVerify, r), SCARD_W_RESET_CARD);
    EXPECT_EQ(transmit(b, kVerify, r), SCARD_W_RESET_CARD);
    DWORD p = 0;
    ASSERT_EQ(SCardReconnect(a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(logged_in(a), 0);
}

TEST_F(Transaction, EndWithUnpowerCyclesThePower) {
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    const int ons = reader->power_ons();
    ASSERT_EQ(SCardEndTransaction(a, SCARD_UNPOWER_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(reader->power_offs(), 1);
    EXPECT_EQ(reader->power_ons(), ons + 1);
    EXPECT_TRUE(reader->powered());
    ASSERT_EQ(SCardBeginTransaction(b), SCARD_W_RESET_CARD);
}

TEST_F(Transaction, EndWithEjectReportsAReaderThatCannotEjectButEnds) {
    reader->set_can_eject(false);
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    // pcscd returns the eject's failure here (libccid cannot eject), yet unlocks the reader.
    EXPECT_EQ(SCardEndTransaction(a, SCARD_EJECT_CARD), SCARD_E_UNSUPPORTED_FEATURE);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_E_NOT_TRANSACTED);
    Bytes r;
    EXPECT_EQ(transmit(b, kVerify, r), SCARD_S_SUCCESS);  // neither locked out nor reset
    // SCardDisconnect ignores the same failure, as pcscd does.
    EXPECT_EQ(SCardDisconnect(b, SCARD_EJECT_CARD), SCARD_S_SUCCESS);
}

TEST_F(Transaction, EndWithEjectOnAReaderThatEjects) {
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_EJECT_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(reader->ejects(), 1);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_E_NOT_TRANSACTED);
}

TEST_F(Transaction, DisconnectReleasesTheTransaction) {
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    auto t = std::async(std::launch::async, [&] {
        Bytes r;
        return transmit(b, kVerify, r);
    });
    EXPECT_TRUE(still_blocked(t));
    ASSERT_EQ(SCardDisconnect(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(t.get(), SCARD_S_SUCCESS);
}

TEST_F(Transaction, ResettingDisconnectWaitsForTheOthersTransaction) {
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    auto d = std::async(std::launch::async, [&] { return SCardDisconnect(b, SCARD_RESET_CARD); });
    EXPECT_TRUE(still_blocked(d));
    Bytes r;
    EXPECT_EQ(transmit(a, kVerify, r), SCARD_S_SUCCESS);
    EXPECT_EQ(logged_in(a), 1);  // nobody reset the card inside the transaction
    ASSERT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(d.get(), SCARD_S_SUCCESS);
    EXPECT_EQ(transmit(a, kVerify, r), SCARD_W_RESET_CARD);
}

TEST_F(Transaction, NewConnectionsWaitForTheEnd) {
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    auto c = std::async(std::launch::async, [&] {
        SCARDHANDLE h = 0;
        return connect(ctx, name, h);
    });
    EXPECT_TRUE(still_blocked(c));
    ASSERT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(c.get(), SCARD_S_SUCCESS);
}

TEST_F(Transaction, CardRemovalReleasesTheLockAndWakesWaiters) {
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    auto begin = std::async(std::launch::async, [&] { return SCardBeginTransaction(b); });
    EXPECT_TRUE(still_blocked(begin));
    reader->remove();
    ASSERT_EQ(begin.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(begin.get(), SCARD_W_REMOVED_CARD);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_W_REMOVED_CARD);
}

TEST_F(Transaction, ExclusiveConnectionHoldsOneLevel) {
    SCardDisconnect(b, SCARD_LEAVE_CARD);
    DWORD p = 0;
    ASSERT_EQ(SCardReconnect(a, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_E_NOT_TRANSACTED);
    ASSERT_EQ(SCardBeginTransaction(a), SCARD_S_SUCCESS);
    ASSERT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_E_NOT_TRANSACTED);
}

TEST_F(Transaction, HandOffBetweenManyThreads) {
    constexpr int kThreads = 6;
    constexpr int kRounds = 40;
    std::vector<SCARDHANDLE> handles(kThreads);
    for (auto& h : handles) ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    std::atomic<int> inside{0};
    std::atomic<int> max_inside{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
                if (SCardBeginTransaction(handles[t]) != SCARD_S_SUCCESS) {
                    ++errors;
                    continue;
                }
                const int now = ++inside;
                int seen = max_inside.load();
                while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
                }
                Bytes r;
                if (transmit(handles[t], {0x00, 0xCA, 0x00, 0x02, 0x00}, r) != SCARD_S_SUCCESS) ++errors;
                --inside;
                if (SCardEndTransaction(handles[t], SCARD_LEAVE_CARD) != SCARD_S_SUCCESS) ++errors;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(max_inside.load(), 1);
    EXPECT_FALSE(reader->overlapped_io());
}

}  // namespace
}  // namespace ccidkit::api::testing

// Concurrency stress through the C ABI on virtual readers: many threads, contexts and handles
// at once — transmits on shared and own handles, transactions, SCardCancel of status-change
// waits, contexts released under their waiters, card removal and insertion, and a reader
// unplugged in the middle. Asserts that nothing deadlocks (a watchdog aborts the process
// with a message), that every call answers one of the codes its situation allows, and that an
// answered ECHO is always the right answer. Built for `make test-tsan` (ThreadSanitizer), it
// also runs in the plain and ASan builds; the busy phase lasts kRunTime.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "api/virtual_reader_fixture.h"

namespace ccidkit::api::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kRunTime = 2500ms;
constexpr auto kWatchdog = 60s;  // far above the run time, even under ThreadSanitizer

// Aborts the process (the test cannot fail otherwise when a call never returns) unless
// disarmed in time.
class Watchdog {
public:
    explicit Watchdog(std::chrono::seconds limit)
        : thread_([this, limit] {
              std::unique_lock lk(m_);
              if (!cv_.wait_for(lk, limit, [this] { return done_; })) {
                  std::fprintf(stderr, "concurrency_stress: no progress for %llds: deadlock\n",
                               static_cast<long long>(limit.count()));
                  std::abort();
              }
          }) {}
    ~Watchdog() {
        {
            std::lock_guard lk(m_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

// Codes that a call may answer while cards come and go and a reader leaves.
const std::set<LONG> kCardCodes{SCARD_S_SUCCESS,           SCARD_W_REMOVED_CARD,     SCARD_W_RESET_CARD,
                                SCARD_E_NO_SMARTCARD,      SCARD_E_READER_UNAVAILABLE, SCARD_E_NOT_TRANSACTED,
                                SCARD_W_UNRESPONSIVE_CARD, SCARD_E_SHARING_VIOLATION, SCARD_E_PROTO_MISMATCH,
                                SCARD_E_UNKNOWN_READER,    SCARD_W_UNPOWERED_CARD,   SCARD_E_INVALID_HANDLE};
const std::set<LONG> kWaitCodes{SCARD_S_SUCCESS, SCARD_E_TIMEOUT, SCARD_E_CANCELLED, SCARD_E_INVALID_HANDLE,
                                SCARD_E_UNKNOWN_READER};

class ConcurrencyStress : public VirtualReaderTest {
protected:
    // Records an unexpected code (gtest assertions are thread-safe, but a summary reads better).
    void check(const char* what, LONG rc, const std::set<LONG>& allowed) {
        if (!allowed.contains(rc)) {
            std::lock_guard lk(failures_mutex);
            ADD_FAILURE() << what << " answered 0x" << std::hex << rc;
        }
    }
    // ECHO is case 4: through T=0 (no automatic GET RESPONSE, as pcsc-lite) the card says
    // 61 03, "3 bytes waiting".
    static Bytes echo_answer(DWORD protocol) { return protocol == SCARD_PROTOCOL_T0 ? Bytes{0x61, 0x03} : kEchoAnswer; }
    void check_echo(LONG rc, const Bytes& r, DWORD protocol) {
        check("SCardTransmit", rc, kCardCodes);
        if (rc == SCARD_S_SUCCESS && r != echo_answer(protocol)) {
            std::lock_guard lk(failures_mutex);
            ADD_FAILURE() << "wrong ECHO answer of " << r.size() << " bytes";
        }
        if (rc == SCARD_S_SUCCESS) ++echoes;
    }

    std::atomic<bool> stop{false};
    std::atomic<std::size_t> echoes{0};
    std::atomic<std::size_t> waits{0};
    std::mutex failures_mutex;
};

TEST_F(ConcurrencyStress, ManyThreadsContextsHandlesAndHotUnplug) {
    start("tpdu:t1,short:t1,tpdu:t0,extended:t1");
    ASSERT_EQ(names.size(), 4u);
    Watchdog watchdog(kWatchdog);
    std::vector<std::thread> threads;

    // Own context, connection churn with transactions, on every reader in turn.
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([this, t] {
            SCARDCONTEXT c = 0;
            if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &c) != SCARD_S_SUCCESS) return;
            for (std::size_t i = static_cast<std::size_t>(t); !stop; ++i) {
                const std::string& name = names[i % names.size()];
                SCARDHANDLE h = 0;
                DWORD active = 0;
                LONG rc = SCardConnect(c, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                                       &active);
                check("SCardConnect", rc, kCardCodes);
                if (rc != SCARD_S_SUCCESS) continue;
                const bool transaction = (i & 1) != 0;
                if (transaction) check("SCardBeginTransaction", SCardBeginTransaction(h), kCardCodes);
                for (int k = 0; k < 3; ++k) {
                    Bytes r;
                    check_echo(transmit(h, active, kEchoApdu, r), r, active);
                }
                if (transaction) check("SCardEndTransaction", SCardEndTransaction(h, SCARD_LEAVE_CARD), kCardCodes);
                check("SCardDisconnect", SCardDisconnect(h, (i % 5 == 0) ? SCARD_RESET_CARD : SCARD_LEAVE_CARD),
                      kCardCodes);
            }
            SCardReleaseContext(c);
        });
    }

    // Two threads on one shared handle (and its context), with Status next to Transmit.
    SCARDCONTEXT shared_ctx = 0;
    ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &shared_ctx), SCARD_S_SUCCESS);
    SCARDHANDLE shared_h = 0;
    DWORD shared_protocol = 0;
    ASSERT_EQ(SCardConnect(shared_ctx, names[1].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &shared_h,
                           &shared_protocol),
              SCARD_S_SUCCESS);
    for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
            while (!stop) {
                Bytes r;
                LONG rc = transmit(shared_h, shared_protocol, kEchoApdu, r);
                check_echo(rc, r, shared_protocol);
                if (rc == SCARD_W_RESET_CARD || rc == SCARD_W_REMOVED_CARD) {
                    DWORD p = 0;
                    check("SCardReconnect",
                          SCardReconnect(shared_h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p),
                          kCardCodes);
                }
                if (t == 1) {
                    char name[MAX_READERNAME];
                    BYTE atr[MAX_ATR_SIZE];
                    DWORD name_len = sizeof name, state = 0, protocol = 0, atr_len = sizeof atr;
                    check("SCardStatus", SCardStatus(shared_h, name, &name_len, &state, &protocol, atr, &atr_len),
                          kCardCodes);
                }
            }
        });
    }

    // Status-change waiters on their own contexts, cancelled by another thread; one context
    // is released under its waiter from time to time.
    constexpr int kWaiters = 3;
    std::array<std::atomic<SCARDCONTEXT>, kWaiters> wait_ctx{};
    for (int t = 0; t < kWaiters; ++t) {
        threads.emplace_back([&, t] {
            while (!stop) {
                SCARDCONTEXT c = 0;
                if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &c) != SCARD_S_SUCCESS) continue;
                wait_ctx[static_cast<std::size_t>(t)] = c;
                std::vector<SCARD_READERSTATE> rs(names.size() + 1);
                for (std::size_t i = 0; i < names.size(); ++i) rs[i].szReader = names[i].c_str();
                rs.back().szReader = "\\\\?PnP?\\Notification";
                for (int round = 0; round < 20 && !stop; ++round) {
                    const LONG rc = SCardGetStatusChange(c, 300, rs.data(), static_cast<DWORD>(rs.size()));
                    check("SCardGetStatusChange", rc, kWaitCodes);
                    ++waits;
                    if (rc == SCARD_E_INVALID_HANDLE) break;  // released by the canceller
                    for (auto& s : rs) s.dwCurrentState = s.dwEventState & ~SCARD_STATE_CHANGED;
                }
                wait_ctx[static_cast<std::size_t>(t)] = 0;
                SCardReleaseContext(c);
            }
        });
    }
    threads.emplace_back([&] {
        for (unsigned i = 0; !stop; ++i) {
            for (auto& c : wait_ctx) {
                const SCARDCONTEXT v = c.load();
                if (!v) continue;
                // Mostly cancel; sometimes pull the context away under the waiter.
                if (i % 16 == 0)
                    SCardReleaseContext(v);
                else
                    SCardCancel(v);
            }
            std::this_thread::sleep_for(5ms);
        }
    });

    // The world changes: cards leave and come back; half-way, reader 3 is unplugged.
    threads.emplace_back([&] {
        const auto t0 = std::chrono::steady_clock::now();
        bool unplugged = false;
        for (unsigned i = 0; !stop; ++i) {
            if (i % 2 == 0)
                sim(0).remove_card(0);
            else
                sim(0).insert_card(0, sim::SimCard::t1_default());
            if (i % 7 == 0) sim(2).insert_card(0, sim::SimCard::t0_default());
            if (!unplugged && std::chrono::steady_clock::now() - t0 > kRunTime / 2) {
                sim(3).disconnect();
                unplugged = true;
            }
            std::this_thread::sleep_for(15ms);
        }
        sim(0).insert_card(0, sim::SimCard::t1_default());
    });

    std::this_thread::sleep_for(kRunTime);
    stop = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(SCardDisconnect(shared_h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    SCardReleaseContext(shared_ctx);

    RecordProperty("echoes", static_cast<int>(echoes.load()));
    RecordProperty("waits", static_cast<int>(waits.load()));
    EXPECT_GT(echoes.load(), 0u);
    EXPECT_GT(waits.load(), 0u);

    // Afterwards: the readers that are still there work, the unplugged one says so.
    for (std::size_t i = 0; i < 3; ++i) {
        SCOPED_TRACE(names[i]);
        ASSERT_TRUE(wait_for(names[i], SCARD_STATE_PRESENT).dwEventState & SCARD_STATE_PRESENT);
        SCARDHANDLE h = 0;
        DWORD active = 0;
        ASSERT_EQ(connect(i, h, active), SCARD_S_SUCCESS);
        Bytes r;
        EXPECT_EQ(transmit(h, active, kEchoApdu, r), SCARD_S_SUCCESS);
        EXPECT_EQ(r, echo_answer(active));
        EXPECT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    }
    EXPECT_TRUE(wait_for(names[3], SCARD_STATE_UNAVAILABLE).dwEventState & SCARD_STATE_UNAVAILABLE);
}

}  // namespace
}  // namespace ccidkit::api::testing

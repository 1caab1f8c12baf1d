// Several processes sharing one simulated reader and card through ccid-simd, as they would
// share one USB reader: each child process uses only the C ABI with
// CCID_VIRTUAL_READERS=socket=PATH and a private CCIDKIT_LOCK_DIR. Transactions exclude each
// other, an exclusive connection keeps the others out, a reset and a card removal reach every
// process, and a hammer of concurrent transactions loses, duplicates or interleaves nothing,
// even when one process is killed while it holds a transaction.
//
// The test process itself never calls SCard*: every child forks from a process without a
// service, so each starts its own, as a separate program would.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "PCSC/winscard.h"
#include "api/service_registry.h"
#include "api/simd_process.h"
#include "sim/socket/sim_control_client.h"

namespace ccidkit::api::testing {
namespace {

using namespace std::chrono_literals;
using ccidkit::testing::SimdProcess;

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);  // one clock for every process
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// One-byte messages between the test and one child, both ways.
class Channel {
public:
    Channel() {
        if (::pipe(to_child_) != 0 || ::pipe(to_parent_) != 0) std::abort();
    }
    ~Channel() {
        for (int fd : {to_child_[0], to_child_[1], to_parent_[0], to_parent_[1]}) ::close(fd);
    }
    void tell_child(char c) { (void)!::write(to_child_[1], &c, 1); }
    void tell_parent(char c) { (void)!::write(to_parent_[1], &c, 1); }
    char from_child(int timeout_ms = 15000) { return read_one(to_parent_[0], timeout_ms); }
    char from_parent() { return read_one(to_child_[0], 30000); }

private:
    // '!' when nothing comes in time (the other side died or hangs).
    static char read_one(int fd, int timeout_ms) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) != 1) return '!';
        char c = 0;
        return ::read(fd, &c, 1) == 1 ? c : '!';
    }
    int to_child_[2]{-1, -1};
    int to_parent_[2]{-1, -1};
};

// What children report, in memory shared with the test.
struct Shared {
    std::int64_t t[16][8];
    long code[16][8];
};

// A child's view of the shared reader, C ABI only.
struct Card {
    SCARDCONTEXT ctx = 0;
    SCARDHANDLE h = 0;
    DWORD protocol = 0;
    std::string reader;

    LONG open(DWORD share = SCARD_SHARE_SHARED) {
        LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx);
        if (rv != SCARD_S_SUCCESS) return rv;
        char names[512];
        DWORD len = sizeof(names);
        rv = SCardListReaders(ctx, nullptr, names, &len);
        if (rv != SCARD_S_SUCCESS) return rv;
        reader = names;
        return connect(share);
    }
    LONG connect(DWORD share) {
        return SCardConnect(ctx, reader.c_str(), share, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &protocol);
    }
    // The status word, or the SCard error (negative values are never status words).
    LONG transmit(std::vector<BYTE> apdu, std::vector<BYTE>* data = nullptr) {
        BYTE out[300];
        DWORD len = sizeof(out);
        const SCARD_IO_REQUEST* pci = protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
        const LONG rv = SCardTransmit(h, pci, apdu.data(), static_cast<DWORD>(apdu.size()), nullptr, out, &len);
        if (rv != SCARD_S_SUCCESS) return rv == 0 ? -1 : rv;
        if (len < 2) return -2;
        if (data) data->assign(out, out + len - 2);
        return out[len - 2] << 8 | out[len - 1];
    }
    LONG select_ef() { return transmit({0x00, 0xA4, 0x00, 0x0C, 0x02, 0x01, 0x01}); }
};

constexpr LONG kSw9000 = 0x9000;

class SimdCrossProcess : public ::testing::Test {
protected:
    void SetUp() override { start("tpdu:t1"); }
    void TearDown() override {
        for (pid_t p : children_) {
            ::kill(p, SIGKILL);
            ::waitpid(p, nullptr, 0);
        }
        if (shared_) ::munmap(shared_, sizeof(Shared));
    }
    void start(const std::string& reader) {
        server_ = std::make_unique<SimdProcess>(reader);
        ASSERT_TRUE(server_->ready()) << "ccid-simd did not start";
        void* m = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(m, MAP_FAILED);
        shared_ = new (m) Shared{};
    }

    // Runs body in a child process set up like a separate program on the served reader.
    // Its exit code is the first failing step (0: all fine).
    pid_t spawn(const std::function<int()>& body) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::setenv("CCID_VIRTUAL_READERS", ("socket=" + server_->socket()).c_str(), 1);
            ::setenv("CCIDKIT_LOCK_DIR", server_->dir().c_str(), 1);
            ::setenv("CCIDKIT_USB", "0", 1);
            const int code = body();
            // Stop the service as a program's normal exit does (exit() runs the registry's
            // destructor; _exit() does not): ThreadSanitizer fails a process whose finished
            // threads were never joined, e.g. a transport's receiver after the server went.
            install_provider(nullptr);
            ::_exit(code);
        }
        children_.push_back(pid);
        return pid;
    }
    // The child's exit code; -1 when it did not exit normally within `bound`.
    int exit_code(pid_t pid, std::chrono::milliseconds bound = 20s) {
        const auto end = std::chrono::steady_clock::now() + bound;
        int status = 0;
        for (;;) {
            const pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid) break;
            if (r < 0 || std::chrono::steady_clock::now() > end) return -1;
            std::this_thread::sleep_for(5ms);
        }
        std::erase(children_, pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::string control(ccid::socket::Op op) {
        auto r = sim::send_sim_control(server_->socket(), op);
        EXPECT_TRUE(r) << r.error();
        return r.value_or("");
    }
    // The number after "key: " in the server's status.
    long status_number(const std::string& key) {
        const std::string s = control(ccid::socket::Op::Status);
        const auto at = s.find(key + ": ");
        return at == std::string::npos ? -1 : std::atol(s.c_str() + at + key.size() + 2);
    }

    std::unique_ptr<SimdProcess> server_;
    Shared* shared_ = nullptr;
    std::vector<pid_t> children_;
};

TEST_F(SimdCrossProcess, ATransactionHoldsOffTheOtherProcessesBeginAndTransmit) {
    Channel a, b, c;
    const pid_t pa = spawn([&] {
        Card k;
        if (k.open() != SCARD_S_SUCCESS) return 1;
        a.tell_parent('c');
        if (a.from_parent() != 'b') return 6;
        if (SCardBeginTransaction(k.h) != SCARD_S_SUCCESS) return 2;
        if (k.select_ef() != kSw9000) return 3;
        a.tell_parent('T');
        if (a.from_parent() != 'e') return 4;
        shared_->t[0][0] = now_ns();
        if (SCardEndTransaction(k.h, SCARD_LEAVE_CARD) != SCARD_S_SUCCESS) return 5;
        return 0;
    });
    // B waits in BeginTransaction, C in a plain transmit.
    const auto waiter = [&](Channel& ch, int slot, bool transaction) {
        return [&ch, slot, transaction, this] {
            Card k;
            if (k.open() != SCARD_S_SUCCESS) return 1;
            ch.tell_parent('c');
            if (ch.from_parent() != 'g') return 2;
            shared_->t[slot][0] = now_ns();
            const LONG rv = transaction ? SCardBeginTransaction(k.h) : k.select_ef();
            shared_->t[slot][1] = now_ns();
            shared_->code[slot][0] = rv;
            if (rv != (transaction ? SCARD_S_SUCCESS : kSw9000)) return 3;
            if (transaction && SCardEndTransaction(k.h, SCARD_LEAVE_CARD) != SCARD_S_SUCCESS) return 4;
            return 0;
        };
    };
    const pid_t pb = spawn(waiter(b, 1, true));
    const pid_t pc = spawn(waiter(c, 2, false));
    // Everybody connected first: a connect waits for a running transaction, as in pcsc-lite
    // (AConnectDuringAnotherProcessTransactionWaitsForItsEnd), and here the waits of
    // BeginTransaction and of a transmit are measured.
    ASSERT_EQ(a.from_child(), 'c');
    ASSERT_EQ(b.from_child(), 'c');
    ASSERT_EQ(c.from_child(), 'c');
    a.tell_child('b');
    ASSERT_EQ(a.from_child(), 'T') << "A exited with " << exit_code(pa, 1s);
    b.tell_child('g');
    c.tell_child('g');
    std::this_thread::sleep_for(300ms);  // how long A holds the transaction: B and C must wait it out
    a.tell_child('e');
    EXPECT_EQ(exit_code(pa), 0);
    EXPECT_EQ(exit_code(pb), 0) << "BeginTransaction: " << std::hex << shared_->code[1][0];
    EXPECT_EQ(exit_code(pc), 0) << "transmit: " << std::hex << shared_->code[2][0];
    const std::int64_t a_end = shared_->t[0][0];
    for (int slot : {1, 2}) {
        EXPECT_GE(shared_->t[slot][1], a_end) << "process " << slot << " got in before A's EndTransaction";
        EXPECT_GE(shared_->t[slot][1] - shared_->t[slot][0], 200'000'000) << "process " << slot << " did not wait";
    }
}

// A process alone on the reader transmits without taking the slot's io lock (its I/O pins the
// device, docs/design/api.md): a newcomer's transaction must still exclude it. A streams
// transmits; B joins, begins a transaction, sends APDUs and ends it. Every transmit of A that
// started after B's BeginTransaction returned ends after B's EndTransaction, and A goes on.
TEST_F(SimdCrossProcess, ALoneProcessStreamingTransmitsIsHeldOffByANewcomersTransaction) {
    struct Stream {
        std::atomic<int> stop;
        std::atomic<int> count;
        std::int64_t start[20000];
        std::int64_t end[20000];
    };
    void* m = ::mmap(nullptr, sizeof(Stream), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(m, MAP_FAILED);
    auto* stream = new (m) Stream{};
    struct Unmap {
        void* m;
        ~Unmap() { ::munmap(m, sizeof(Stream)); }
    } unmap{m};
    Channel a;
    const pid_t pa = spawn([&] {
        Card k;
        if (k.open() != SCARD_S_SUCCESS) return 1;
        if (k.select_ef() != kSw9000) return 2;
        a.tell_parent('c');
        while (!stream->stop.load()) {
            const int i = stream->count.load();
            if (i >= 20000) return 3;
            stream->start[i] = now_ns();
            if (k.select_ef() != kSw9000) return 4;
            stream->end[i] = now_ns();
            stream->count.store(i + 1);
        }
        return 0;
    });
    ASSERT_EQ(a.from_child(), 'c');
    // A is alone and streaming.
    const auto streaming = std::chrono::steady_clock::now() + 5s;
    while (stream->count.load() < 50 && std::chrono::steady_clock::now() < streaming) std::this_thread::sleep_for(1ms);
    ASSERT_GE(stream->count.load(), 50) << "A does not stream";
    const pid_t pb = spawn([&] {
        Card k;
        if (k.open() != SCARD_S_SUCCESS) return 1;
        if (SCardBeginTransaction(k.h) != SCARD_S_SUCCESS) return 2;
        shared_->t[1][0] = now_ns();
        for (int i = 0; i < 3; ++i) {
            if (k.select_ef() != kSw9000) return 3;
            std::this_thread::sleep_for(20ms);  // A has time to try to get in between
        }
        shared_->t[1][1] = now_ns();
        if (SCardEndTransaction(k.h, SCARD_LEAVE_CARD) != SCARD_S_SUCCESS) return 4;
        return 0;
    });
    EXPECT_EQ(exit_code(pb), 0);
    const int before_end = stream->count.load();
    const auto more = std::chrono::steady_clock::now() + 5s;
    while (stream->count.load() < before_end + 20 && std::chrono::steady_clock::now() < more)
        std::this_thread::sleep_for(1ms);
    stream->stop.store(1);
    EXPECT_EQ(exit_code(pa), 0);
    const std::int64_t began = shared_->t[1][0], ended = shared_->t[1][1];
    ASSERT_GT(began, 0);
    const int n = stream->count.load();
    EXPECT_GE(n, before_end + 20) << "A did not go on after B's transaction";
    int inside = 0;
    for (int i = 0; i < n; ++i) {
        if (stream->start[i] >= began && stream->start[i] < ended) {
            ++inside;
            EXPECT_GE(stream->end[i], ended) << "A's transmit " << i << " ran inside B's transaction";
        }
    }
    EXPECT_LE(inside, 1) << "A's transmits wait for the transaction, one at a time";
}

// pcsc-lite's SCardConnect waits while any handle holds a transaction on the reader (winscard.c:
// "wait until a possible transaction is finished", polling hLockId), whoever holds it and even
// when the card is already powered; pcscd's reader context is global, so this holds across
// applications. Here: B's connect ends after A's EndTransaction, and succeeds.
TEST_F(SimdCrossProcess, AConnectDuringAnotherProcessTransactionWaitsForItsEnd) {
    Channel a, b;
    const pid_t pa = spawn([&] {
        Card k;
        if (k.open() != SCARD_S_SUCCESS) return 1;
        if (SCardBeginTransaction(k.h) != SCARD_S_SUCCESS) return 2;
        if (k.select_ef() != kSw9000) return 3;
        a.tell_parent('T');
        if (a.from_parent() != 'e') return 4;
        shared_->t[0][0] = now_ns();
        return SCardEndTransaction(k.h, SCARD_LEAVE_CARD) == SCARD_S_SUCCESS ? 0 : 5;
    });
    ASSERT_EQ(a.from_child(), 'T') << "A exited with " << exit_code(pa, 1s);
    const pid_t pb = spawn([&] {
        Card k;
        shared_->code[1][0] = k.open();
        shared_->t[1][0] = now_ns();
        b.tell_parent('c');
        if (shared_->code[1][0] != SCARD_S_SUCCESS) return 1;
        return k.select_ef() == kSw9000 ? 0 : 2;
    });
    const char early = b.from_child(700);
    a.tell_child('e');
    EXPECT_EQ(early, '!') << "B's SCardConnect did not wait for A's transaction";
    if (early == '!') {
        EXPECT_EQ(b.from_child(), 'c');
    }
    EXPECT_EQ(exit_code(pa), 0);
    EXPECT_EQ(exit_code(pb), 0) << std::hex << shared_->code[1][0];
    EXPECT_GE(shared_->t[1][0], shared_->t[0][0]) << "B connected before A's EndTransaction";
}

// The same when the connecting process needs no card I/O at all (it already has a handle on
// the powered card, protocol settled): its second SCardConnect still waits, as pcsc-lite's.
TEST_F(SimdCrossProcess, ASecondConnectNeedingNoCardIoAlsoWaitsForAnotherProcessTransaction) {
    Channel a, b;
    const pid_t pb = spawn([&] {
        Card k;
        if (k.open() != SCARD_S_SUCCESS) return 1;
        b.tell_parent('c');
        if (b.from_parent() != 'g') return 2;
        shared_->code[1][0] = k.connect(SCARD_SHARE_SHARED);
        shared_->t[1][0] = now_ns();
        b.tell_parent('2');
        return shared_->code[1][0] == SCARD_S_SUCCESS ? 0 : 3;
    });
    ASSERT_EQ(b.from_child(), 'c');
    const pid_t pa = spawn([&] {
        Card k;
        if (k.open() != SCARD_S_SUCCESS) return 1;
        if (SCardBeginTransaction(k.h) != SCARD_S_SUCCESS) return 2;
        if (k.select_ef() != kSw9000) return 3;
        a.tell_parent('T');
        if (a.from_parent() != 'e') return 4;
        shared_->t[0][0] = now_ns();
        return SCardEndTransaction(k.h, SCARD_LEAVE_CARD) == SCARD_S_SUCCESS ? 0 : 5;
    });
    ASSERT_EQ(a.from_child(), 'T') << "A exited with " << exit_code(pa, 1s);
    b.tell_child('g');
    const char early = b.from_child(700);
    a.tell_child('e');
    EXPECT_EQ(early, '!') << "B's second SCardConnect did not wait for A's transaction";
    EXPECT_EQ(exit_code(pa), 0);
    EXPECT_EQ(exit_code(pb), 0) << std::hex << shared_->code[1][0];
    EXPECT_GE(shared_->t[1][0], shared_->t[0][0]) << "B connected before A's EndTransaction";
}

TEST_F(SimdCrossProcess, AnExclusiveConnectionInOneProcessIsASharingViolationInAnother) {
    Channel a, b;
    const pid_t pa = spawn([&] {
        Card k;
        if (k.open(SCARD_SHARE_EXCLUSIVE) != SCARD_S_SUCCESS) return 1;
        a.tell_parent('x');
        if (a.from_parent() != 'q') return 2;
        return SCardDisconnect(k.h, SCARD_LEAVE_CARD) == SCARD_S_SUCCESS ? 0 : 3;
    });
    ASSERT_EQ(a.from_child(), 'x');
    const pid_t pb = spawn([&] {
        Card k;
        shared_->code[1][0] = k.open(SCARD_SHARE_SHARED);
        b.tell_parent('1');
        if (b.from_parent() != 'g') return 1;
        shared_->code[1][1] = k.connect(SCARD_SHARE_SHARED);
        if (shared_->code[1][1] != SCARD_S_SUCCESS) return 2;
        return k.select_ef() == kSw9000 ? 0 : 3;
    });
    ASSERT_EQ(b.from_child(), '1');
    EXPECT_EQ(shared_->code[1][0], SCARD_E_SHARING_VIOLATION);
    a.tell_child('q');
    EXPECT_EQ(exit_code(pa), 0);
    b.tell_child('g');
    EXPECT_EQ(exit_code(pb), 0) << std::hex << shared_->code[1][1];
}

// pcscd's reader state is global: a card that process A connected to (and so powered) shows
// to process B, which did not connect, as in use with its ATR, and B's direct connection
// reports it powered, with no reset (A's session goes on).
TEST_F(SimdCrossProcess, AnotherProcessConnectionShowsAsInUseAndPowered) {
    Channel a, b;
    const pid_t pa = spawn([&] {
        Card k;
        if (k.open() != SCARD_S_SUCCESS) return 1;
        if (k.select_ef() != kSw9000) return 2;
        a.tell_parent('c');
        if (a.from_parent() != 'q') return 3;
        // Still the same session: no reset from B's look.
        return k.select_ef() == kSw9000 ? 0 : 4;
    });
    ASSERT_EQ(a.from_child(), 'c');
    const pid_t pb = spawn([&] {
        SCARDCONTEXT ctx = 0;
        if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx) != SCARD_S_SUCCESS) return 1;
        char names[512];
        DWORD len = sizeof(names);
        if (SCardListReaders(ctx, nullptr, names, &len) != SCARD_S_SUCCESS) return 2;
        SCARD_READERSTATE rs{};
        rs.szReader = names;
        rs.dwCurrentState = SCARD_STATE_UNAWARE;
        if (SCardGetStatusChange(ctx, 0, &rs, 1) != SCARD_S_SUCCESS) return 3;
        shared_->code[1][0] = static_cast<long>(rs.dwEventState);
        shared_->code[1][1] = static_cast<long>(rs.cbAtr);
        if (!(rs.dwEventState & SCARD_STATE_PRESENT) || !(rs.dwEventState & SCARD_STATE_INUSE)) return 4;
        if (rs.cbAtr == 0) return 5;
        SCARDHANDLE h = 0;
        DWORD protocol = 0;
        if (SCardConnect(ctx, names, SCARD_SHARE_DIRECT, 0, &h, &protocol) != SCARD_S_SUCCESS) return 6;
        DWORD state = 0, proto = 0, atr_len = 33, name_len = 0;
        BYTE atr[33];
        if (SCardStatus(h, nullptr, &name_len, &state, &proto, atr, &atr_len) != SCARD_S_SUCCESS) return 7;
        shared_->code[1][2] = static_cast<long>(state);
        return (state & SCARD_POWERED) ? 0 : 8;
    });
    EXPECT_EQ(exit_code(pb), 0) << "event state " << std::hex << shared_->code[1][0] << ", ATR length "
                                << std::dec << shared_->code[1][1] << ", SCardStatus state " << std::hex
                                << shared_->code[1][2];
    a.tell_child('q');
    EXPECT_EQ(exit_code(pa), 0);
}

TEST_F(SimdCrossProcess, AResetByOneProcessIsSeenByTheOther) {
    Channel a, b;
    const pid_t pb = spawn([&] {
        Card k;
        if (k.open() != SCARD_S_SUCCESS) return 1;
        if (k.select_ef() != kSw9000) return 2;
        b.tell_parent('r');
        if (b.from_parent() != 'g') return 3;
        shared_->code[1][0] = k.select_ef();
        if (shared_->code[1][0] != SCARD_W_RESET_CARD) return 4;
        DWORD p = 0;
        if (SCardReconnect(k.h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p) != SCARD_S_SUCCESS) return 5;
        return k.select_ef() == kSw9000 ? 0 : 6;
    });
    ASSERT_EQ(b.from_child(), 'r');
    const pid_t pa = spawn([&] {
        Card k;
        if (k.open() != SCARD_S_SUCCESS) return 1;
        DWORD p = 0;
        if (SCardReconnect(k.h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &p) != SCARD_S_SUCCESS) return 2;
        return k.select_ef() == kSw9000 ? 0 : 3;
    });
    EXPECT_EQ(exit_code(pa), 0);
    b.tell_child('g');
    EXPECT_EQ(exit_code(pb), 0) << std::hex << shared_->code[1][0];
}

TEST_F(SimdCrossProcess, ACardRemovalReachesEveryProcess) {
    Channel ch[2];
    std::vector<pid_t> pids;
    for (int i = 0; i < 2; ++i) {
        pids.push_back(spawn([&, i] {
            Card k;
            if (k.open() != SCARD_S_SUCCESS) return 1;
            SCARD_READERSTATE rs{};
            rs.szReader = k.reader.c_str();
            rs.dwCurrentState = SCARD_STATE_UNAWARE;
            if (SCardGetStatusChange(k.ctx, 0, &rs, 1) != SCARD_S_SUCCESS) return 2;
            if (!(rs.dwEventState & SCARD_STATE_PRESENT)) return 3;
            rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
            ch[i].tell_parent('w');
            const LONG rv = SCardGetStatusChange(k.ctx, 10000, &rs, 1);
            shared_->t[i][0] = now_ns();
            if (rv != SCARD_S_SUCCESS) return 4;
            if (!(rs.dwEventState & SCARD_STATE_EMPTY)) return 5;
            shared_->code[i][0] = k.select_ef();
            return shared_->code[i][0] == SCARD_W_REMOVED_CARD ? 0 : 6;
        }));
    }
    ASSERT_EQ(ch[0].from_child(), 'w');
    ASSERT_EQ(ch[1].from_child(), 'w');
    const std::int64_t removed = now_ns();
    control(ccid::socket::Op::Remove);
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(exit_code(pids[i]), 0) << "process " << i << ": " << std::hex << shared_->code[i][0];
        EXPECT_LT(shared_->t[i][0] - removed, 3'000'000'000) << "process " << i << " saw the removal late";
    }
}

class SimdUnplug : public SimdCrossProcess {
protected:
    // `clients` processes watch the reader; the server is unplugged; each must see the reader
    // unavailable and fail to transmit.
    void unplug_with(int clients) {
        std::vector<std::unique_ptr<Channel>> ch;
        std::vector<pid_t> pids;
        for (int i = 0; i < clients; ++i) {
            ch.push_back(std::make_unique<Channel>());
            Channel& mine = *ch.back();
            pids.push_back(spawn([&mine, i, this] {
                Card k;
                if (k.open() != SCARD_S_SUCCESS) return 1;
                SCARD_READERSTATE rs{};
                rs.szReader = k.reader.c_str();
                rs.dwCurrentState = SCARD_STATE_UNAWARE;
                if (SCardGetStatusChange(k.ctx, 0, &rs, 1) != SCARD_S_SUCCESS) return 2;
                mine.tell_parent('w');
                const auto end = now_ns() + 5'000'000'000;
                while (!(rs.dwEventState & SCARD_STATE_UNAVAILABLE) && now_ns() < end) {
                    rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
                    const LONG rv = SCardGetStatusChange(k.ctx, 1000, &rs, 1);
                    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) break;
                }
                shared_->code[i][1] = static_cast<long>(rs.dwEventState);
                if (!(rs.dwEventState & SCARD_STATE_UNAVAILABLE)) return 3;
                shared_->code[i][0] = k.select_ef();
                return shared_->code[i][0] != kSw9000 ? 0 : 4;
            }));
        }
        for (auto& c : ch) ASSERT_EQ(c->from_child(), 'w');
        control(ccid::socket::Op::Unplug);
        EXPECT_EQ(server_->reap(), 0);
        for (int i = 0; i < clients; ++i)
            EXPECT_EQ(exit_code(pids[i]), 0) << "process " << i << ": state " << std::hex << shared_->code[i][1]
                                             << ", transmit " << shared_->code[i][0];
    }
};

TEST_F(SimdUnplug, TheOneClientSeesTheReaderUnavailable) { unplug_with(1); }

// Two and three clients: a process that is not polling when the server goes finds the claim
// refused (NoDevice), which must count as the device gone, not as "busy".
TEST_F(SimdUnplug, EveryClientSeesTheReaderUnavailable) { unplug_with(2); }
TEST_F(SimdUnplug, EveryOneOfThreeClientsSeesTheReaderUnavailable) { unplug_with(3); }

TEST_F(SimdCrossProcess, NoServerMeansNoReaderNotAFailedContext) {
    server_->stop();
    const pid_t p = spawn([] {
        SCARDCONTEXT ctx = 0;
        if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx) != SCARD_S_SUCCESS) return 1;
        DWORD len = 0;
        const LONG rv = SCardListReaders(ctx, nullptr, nullptr, &len);
        return rv == SCARD_E_NO_READERS_AVAILABLE ? 0 : 2;
    });
    EXPECT_EQ(exit_code(p), 0);
}

// ---- The hammer (issue 7): N processes, many transactions each, one shared card ----

// Each round, in a transaction: select EF 0101, write 8 bytes naming the process and the round,
// read them back. Another process's APDU slipping in between would change the selection or
// the content; a lost or repeated APDU would break the sequence.
int hammer_rounds(int id, int rounds, Shared* shared) {
    Card k;
    if (const LONG rv = k.open(); rv != SCARD_S_SUCCESS) {
        shared->code[id][0] = rv;
        return 1;
    }
    for (int r = 0; r < rounds; ++r) {
        const std::vector<BYTE> stamp = {static_cast<BYTE>(id), static_cast<BYTE>(r >> 8), static_cast<BYTE>(r),
                                         0xA5, 0x5A, static_cast<BYTE>(~id), static_cast<BYTE>(r), 0x42};
        std::vector<BYTE> update = {0x00, 0xD6, 0x00, 0x00, 0x08};
        update.insert(update.end(), stamp.begin(), stamp.end());
        std::vector<BYTE> read;
        LONG rv = SCardBeginTransaction(k.h);
        if (rv != SCARD_S_SUCCESS) return shared->code[id][0] = rv, 2;
        if ((rv = k.select_ef()) != kSw9000) return shared->code[id][0] = rv, 3;
        if ((rv = k.transmit(update)) != kSw9000) return shared->code[id][0] = rv, 4;
        if ((rv = k.transmit({0x00, 0xB0, 0x00, 0x00, 0x08}, &read)) != kSw9000) return shared->code[id][0] = rv, 5;
        if (read != stamp) return shared->code[id][1] = r, 6;
        if ((rv = SCardEndTransaction(k.h, SCARD_LEAVE_CARD)) != SCARD_S_SUCCESS) return shared->code[id][0] = rv, 7;
    }
    return 0;
}

class SimdHammer : public SimdCrossProcess, public ::testing::WithParamInterface<const char*> {
protected:
    void SetUp() override { start(GetParam()); }
};

TEST_P(SimdHammer, ConcurrentTransactionsNeitherInterleaveNorLoseAnything) {
    constexpr int kProcesses = 4;
    constexpr int kRounds = 150;
    const long before = status_number("xfr_blocks");
    std::vector<pid_t> pids;
    for (int i = 0; i < kProcesses; ++i) pids.push_back(spawn([i, this] { return hammer_rounds(i, kRounds, shared_); }));
    for (int i = 0; i < kProcesses; ++i)
        EXPECT_EQ(exit_code(pids[i], 60s), 0) << "process " << i << " (-1: hung or crashed); code " << std::hex
                                              << shared_->code[i][0] << " round " << std::dec << shared_->code[i][1];
    // On an APDU-level reader each APDU is one XfrBlock: exactly three per round, nothing
    // lost, nothing sent twice.
    if (std::string(GetParam()).starts_with("short")) {
        EXPECT_EQ(status_number("xfr_blocks") - before, kProcesses * kRounds * 3);
    }
}

INSTANTIATE_TEST_SUITE_P(Readers, SimdHammer, ::testing::Values("tpdu:t1", "short:t1", "tpdu:t0"));

TEST_F(SimdCrossProcess, AProcessKilledInsideATransactionDoesNotBlockTheOthers) {
    Channel k, b;
    const pid_t victim = spawn([&] {
        Card c;
        if (c.open() != SCARD_S_SUCCESS) return 1;
        k.tell_parent('c');
        if (k.from_parent() != 'b') return 5;
        if (SCardBeginTransaction(c.h) != SCARD_S_SUCCESS) return 2;
        if (c.select_ef() != kSw9000) return 3;
        k.tell_parent('T');
        ::pause();  // killed here, holding the transaction
        return 4;
    });
    ASSERT_EQ(k.from_child(), 'c');
    const pid_t survivor = spawn([&] {
        Card c;
        if (c.open() != SCARD_S_SUCCESS) return 1;
        b.tell_parent('c');
        if (b.from_parent() != 'g') return 6;
        if (SCardBeginTransaction(c.h) != SCARD_S_SUCCESS) return 2;
        shared_->t[1][0] = now_ns();
        if (c.select_ef() != kSw9000) return 3;
        if (SCardEndTransaction(c.h, SCARD_LEAVE_CARD) != SCARD_S_SUCCESS) return 4;
        return hammer_rounds(2, 5, shared_) == 0 ? 0 : 5;
    });
    ASSERT_EQ(b.from_child(), 'c');
    k.tell_child('b');
    ASSERT_EQ(k.from_child(), 'T') << "the victim exited with " << exit_code(victim, 1s);
    b.tell_child('g');
    // A latecomer connects during the transaction: its SCardConnect waits for it (pcsc-lite).
    const pid_t latecomer = spawn([&] {
        Card c;
        shared_->code[3][0] = c.open();
        shared_->t[3][0] = now_ns();
        if (shared_->code[3][0] != SCARD_S_SUCCESS) return 1;
        return c.select_ef() == kSw9000 ? 0 : 2;
    });
    std::this_thread::sleep_for(200ms);  // the survivor and the latecomer are now waiting
    const std::int64_t killed = now_ns();
    ::kill(victim, SIGKILL);
    EXPECT_EQ(exit_code(victim), -1);
    EXPECT_EQ(exit_code(survivor, 15s), 0) << std::hex << shared_->code[2][0];
    EXPECT_LT(shared_->t[1][0] - killed, 3'000'000'000) << "the survivor waited too long after the kill";
    EXPECT_EQ(exit_code(latecomer, 15s), 0) << std::hex << shared_->code[3][0];
    EXPECT_GE(shared_->t[3][0], killed) << "the latecomer connected during the dead process's transaction";
    EXPECT_LT(shared_->t[3][0] - killed, 3'000'000'000) << "the latecomer waited too long after the kill";
}

}  // namespace
}  // namespace ccidkit::api::testing

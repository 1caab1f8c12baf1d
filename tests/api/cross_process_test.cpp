// Sharing rules between processes (no daemon): exclusive connections, transactions and card
// resets are seen by another process using the same reader, through the lock files of
// cross_process.h. The other process is a fork()ed child driving the C API; pipes order the
// steps. A child that exits without cleaning up stands for a crashed application.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "api/api_fixture.h"
#include "api/cross_process.h"

namespace ccidkit::api::testing {
namespace {

using namespace std::chrono_literals;

// One byte messages between the test and its child, in both directions.
class Channel {
public:
    Channel() {
        if (::pipe(to_child_) != 0 || ::pipe(to_parent_) != 0) std::abort();
    }
    ~Channel() {
        for (int fd : {to_child_[0], to_child_[1], to_parent_[0], to_parent_[1]})
            if (fd >= 0) ::close(fd);
    }
    void tell_child(char c) { (void)!::write(to_child_[1], &c, 1); }
    void tell_parent(char c) { (void)!::write(to_parent_[1], &c, 1); }
    char from_child() { return read_one(to_parent_[0]); }
    char from_parent() { return read_one(to_child_[0]); }

private:
    // '!' when nothing comes within 10 s (the other side died or hangs).
    static char read_one(int fd) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10000) != 1) return '!';
        char c = 0;
        return ::read(fd, &c, 1) == 1 ? c : '!';
    }
    int to_child_[2]{-1, -1};
    int to_parent_[2]{-1, -1};
};

class CrossProcess : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/ccidkit-xproc-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        install_fake();
        ctx = establish();
    }
    void TearDown() override {
        SCardReleaseContext(ctx);
        install_provider(nullptr);
        std::filesystem::remove_all(dir);
    }

    // Both processes see "the same" reader: same device id, hence the same lock file.
    void install_fake() {
        provider = std::make_shared<FakeProvider>();
        reader = provider->add(FakeReader::describe("Shared", "X1"));
        reader->insert(kAtrT1);
        install_provider(provider, ServiceOptions{.no_blocking = false, .lock_dir = dir});
    }
    static SCARDCONTEXT establish() {
        SCARDCONTEXT c = 0;
        (void)SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &c);
        return c;
    }
    static LONG connect(SCARDCONTEXT c, SCARDHANDLE& h, DWORD share = SCARD_SHARE_SHARED) {
        DWORD p = 0;
        return SCardConnect(c, kName, share, SCARD_PROTOCOL_T1, &h, &p);
    }
    static LONG transmit(SCARDHANDLE h) {
        BYTE out[16];
        DWORD len = sizeof(out);
        return SCardTransmit(h, SCARD_PCI_T1, kVerify.data(), static_cast<DWORD>(kVerify.size()), nullptr, out, &len);
    }

    // Runs body in a child process with its own service; returns its pid. The child's exit
    // code is the first failing step (0: all fine).
    pid_t spawn(const std::function<int()>& body) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            install_fake();  // a fresh service (and file descriptions) in the child
            ::_exit(body());
        }
        return pid;
    }
    static int exit_code(pid_t pid) {
        int status = 0;
        if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
        return WEXITSTATUS(status);
    }

    static constexpr const char* kName = "Fake Shared (X1) 00 00";
    std::string dir;
    std::shared_ptr<FakeProvider> provider;
    std::shared_ptr<FakeReader> reader;
    SCARDCONTEXT ctx = 0;
    Channel ch;
};

TEST_F(CrossProcess, ExclusiveConnectionKeepsOthersOutUntilTheProcessDies) {
    const pid_t child = spawn([this] {
        const SCARDCONTEXT c = establish();
        SCARDHANDLE h = 0;
        if (connect(c, h, SCARD_SHARE_EXCLUSIVE) != SCARD_S_SUCCESS) return 1;
        ch.tell_parent('x');
        (void)ch.from_parent();
        return 0;  // exits holding the connection, like a crash
    });
    ASSERT_EQ(ch.from_child(), 'x');
    SCARDHANDLE h = 0;
    EXPECT_EQ(connect(ctx, h), SCARD_E_SHARING_VIOLATION);
    EXPECT_EQ(connect(ctx, h, SCARD_SHARE_EXCLUSIVE), SCARD_E_SHARING_VIOLATION);
    // Watching the reader does not wait for the other process (the ATR is just not known yet).
    SCARD_READERSTATE rs{};
    rs.szReader = kName;
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(SCardGetStatusChange(ctx, 0, &rs, 1), SCARD_S_SUCCESS);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_TRUE(rs.dwEventState & SCARD_STATE_PRESENT);
    EXPECT_EQ(rs.cbAtr, 0u);
    ch.tell_child('q');
    EXPECT_EQ(exit_code(child), 0);
    ASSERT_EQ(connect(ctx, h), SCARD_S_SUCCESS);  // the kernel dropped the dead process's lock
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

TEST_F(CrossProcess, SharedConnectionBlocksAnExclusiveOneElsewhere) {
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, h), SCARD_S_SUCCESS);
    const pid_t child = spawn([this] {
        const SCARDCONTEXT c = establish();
        SCARDHANDLE e = 0, s = 0;
        if (connect(c, e, SCARD_SHARE_EXCLUSIVE) != SCARD_E_SHARING_VIOLATION) return 1;
        if (connect(c, s) != SCARD_S_SUCCESS) return 2;  // sharing is fine
        DWORD p = 0;
        if (SCardReconnect(s, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p) !=
            SCARD_E_SHARING_VIOLATION)
            return 3;
        ch.tell_parent('s');
        (void)ch.from_parent();
        // The parent has gone: now the reader can be ours alone.
        if (SCardReconnect(s, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p) != SCARD_S_SUCCESS)
            return 4;
        return 0;
    });
    ASSERT_EQ(ch.from_child(), 's');
    ASSERT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    ch.tell_child('g');
    EXPECT_EQ(exit_code(child), 0);
}

TEST_F(CrossProcess, TransactionInAnotherProcessBlocksTransmitUntilItEnds) {
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, h), SCARD_S_SUCCESS);
    const pid_t child = spawn([this] {
        const SCARDCONTEXT c = establish();
        SCARDHANDLE t = 0;
        if (connect(c, t) != SCARD_S_SUCCESS) return 1;
        if (SCardBeginTransaction(t) != SCARD_S_SUCCESS) return 2;
        ch.tell_parent('b');
        (void)ch.from_parent();
        if (SCardEndTransaction(t, SCARD_LEAVE_CARD) != SCARD_S_SUCCESS) return 3;
        ch.tell_parent('e');
        (void)ch.from_parent();
        // Now the parent holds a transaction: ours waits for it.
        const auto start = std::chrono::steady_clock::now();
        if (SCardBeginTransaction(t) != SCARD_S_SUCCESS) return 4;
        if (std::chrono::steady_clock::now() - start < 50ms) return 5;
        return 0;
    });
    ASSERT_EQ(ch.from_child(), 'b');
    auto tx = std::async(std::launch::async, [&] { return transmit(h); });
    EXPECT_EQ(tx.wait_for(150ms), std::future_status::timeout);
    ch.tell_child('1');
    ASSERT_EQ(tx.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(tx.get(), SCARD_S_SUCCESS);
    ASSERT_EQ(ch.from_child(), 'e');

    ASSERT_EQ(SCardBeginTransaction(h), SCARD_S_SUCCESS);
    ch.tell_child('2');
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(SCardEndTransaction(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(exit_code(child), 0);
}

TEST_F(CrossProcess, CrashInsideATransactionReleasesIt) {
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, h), SCARD_S_SUCCESS);
    const pid_t child = spawn([this] {
        const SCARDCONTEXT c = establish();
        SCARDHANDLE t = 0;
        if (connect(c, t) != SCARD_S_SUCCESS || SCardBeginTransaction(t) != SCARD_S_SUCCESS) return 1;
        ch.tell_parent('b');
        (void)ch.from_parent();
        return 0;  // no SCardEndTransaction
    });
    ASSERT_EQ(ch.from_child(), 'b');
    auto tx = std::async(std::launch::async, [&] { return transmit(h); });
    EXPECT_EQ(tx.wait_for(100ms), std::future_status::timeout);
    ch.tell_child('q');
    EXPECT_EQ(exit_code(child), 0);
    ASSERT_EQ(tx.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(tx.get(), SCARD_S_SUCCESS);
}

TEST_F(CrossProcess, ResetInAnotherProcessIsSeenAsResetCard) {
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, h), SCARD_S_SUCCESS);
    ASSERT_EQ(transmit(h), SCARD_S_SUCCESS);
    const pid_t child = spawn([] {
        const SCARDCONTEXT c = establish();
        SCARDHANDLE t = 0;
        if (connect(c, t) != SCARD_S_SUCCESS) return 1;
        if (SCardDisconnect(t, SCARD_RESET_CARD) != SCARD_S_SUCCESS) return 2;
        return 0;
    });
    EXPECT_EQ(exit_code(child), 0);
    EXPECT_EQ(transmit(h), SCARD_W_RESET_CARD);
    DWORD p = 0;
    ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(transmit(h), SCARD_S_SUCCESS);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

TEST(CrossProcessFiles, LockFileNames) {
    EXPECT_EQ(lock_file_name("08E6:3437:ABC123", 0), "08E6_3437_ABC123-00.lock");
    const std::string hostile = lock_file_name("../../etc/passwd", 1);
    EXPECT_EQ(hostile.find('/'), std::string::npos);
    EXPECT_NE(hostile.front(), '.');
    const std::string long_id(200, 'a');
    EXPECT_LE(lock_file_name(long_id, 3).size(), 24u);
    EXPECT_NE(lock_file_name(long_id, 3), lock_file_name(long_id + "b", 3));
}

TEST(CrossProcessFiles, RefusesDirectoriesOthersCanWrite) {
    char tmpl[] = "/tmp/ccidkit-xdir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    ASSERT_NE(SharedReaderFile::open(dir, "dev", 0), nullptr);
    ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
    EXPECT_EQ(SharedReaderFile::open(dir, "dev", 0), nullptr);
    ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
    // A symbolic link planted as the lock file is not followed.
    ASSERT_EQ(::symlink("/etc/hostname", (dir + "/" + lock_file_name("other", 0)).c_str()), 0);
    EXPECT_EQ(SharedReaderFile::open(dir, "other", 0), nullptr);
    EXPECT_EQ(SharedReaderFile::open("", "dev", 0), nullptr);
    std::filesystem::remove_all(dir);
}

TEST(CrossProcessFiles, ConnectionLocksConflictBetweenOpenFiles) {
    char tmpl[] = "/tmp/ccidkit-xlock-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    // Two opens are two open file descriptions: they conflict like two processes.
    auto a = SharedReaderFile::open(dir, "dev", 0);
    auto b = SharedReaderFile::open(dir, "dev", 0);
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a->set_connection(SharedReaderFile::Connection::Shared));
    EXPECT_TRUE(b->set_connection(SharedReaderFile::Connection::Shared));
    EXPECT_FALSE(b->set_connection(SharedReaderFile::Connection::Exclusive));
    EXPECT_EQ(b->connection(), SharedReaderFile::Connection::Shared);  // unchanged on failure
    EXPECT_TRUE(a->set_connection(SharedReaderFile::Connection::None));
    EXPECT_TRUE(b->set_connection(SharedReaderFile::Connection::Exclusive));
    EXPECT_FALSE(a->set_connection(SharedReaderFile::Connection::Shared));
    EXPECT_EQ(a->reset_generation(), b->reset_generation());
    const std::uint32_t g = b->bump_reset_generation();
    EXPECT_EQ(a->reset_generation(), g);
    a.reset();
    b.reset();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ccidkit::api::testing

// The program side of tests/vm/fd-reader-sandbox.sh: runs in the USB test VM, unprivileged
// (nobody), in a mount namespace where /dev/bus/usb and /sys are empty, with only an inherited
// usbfs descriptor of ccid-gadget's device named by $CCIDKIT_USB_FD. Through the plain C API
// it must see the reader, its ATR and card movements, exchange APDUs, and, when the gadget is
// unplugged in the middle of a transfer, get the documented error without hanging.
//
// Environment (set by the script): CCIDKIT_USB_FD, CCIDKIT_FD_TEST_ATR (hex ATR of the
// gadget's card), CCIDKIT_FD_TEST_CONTROL / CCIDKIT_FD_TEST_ACK (the gadget's control FIFO
// and acknowledgement file). Anywhere else every test skips.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "PCSC/ccidkit_ext.h"
#include "PCSC/winscard.h"
#include "common/bytes.h"
#include "vm/gadget_process.h"

using namespace std::chrono_literals;
using ccidkit::vmtest::Clock;
using ccidkit::vmtest::scaled;

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

#define FD_SANDBOX_ONLY()                                                                      \
    do {                                                                                       \
        CCIDKIT_VM_ONLY();                                                                     \
        if (env("CCIDKIT_FD_TEST_CONTROL").empty())                                            \
            GTEST_SKIP() << "runs only under tests/vm/fd-reader-sandbox.sh (make test-usb)"; \
    } while (0)

std::size_t entries_of(const char* dir) {
    DIR* d = ::opendir(dir);
    if (d == nullptr) return 0;
    std::size_t n = 0;
    while (const dirent* e = ::readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
    ::closedir(d);
    return n;
}

// One line to the gadget's control FIFO, then its acknowledgement ("ok ..." or "error: ...").
std::string gadget(const std::string& line) {
    static std::size_t sent = 0;
    // Acknowledgements of earlier runs of this program (each run is a new process).
    if (sent == 0) {
        std::ifstream in(env("CCIDKIT_FD_TEST_ACK"));
        for (std::string l; std::getline(in, l);) ++sent;
    }
    const auto deadline = Clock::now() + scaled(5s);
    int fd = -1;
    while (fd < 0 && Clock::now() < deadline) {
        fd = ::open(env("CCIDKIT_FD_TEST_CONTROL").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) std::this_thread::sleep_for(10ms);
    }
    if (fd < 0) return "no control FIFO";
    const std::string text = line + "\n";
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!written) return "write failed";
    ++sent;
    while (Clock::now() < deadline) {
        std::ifstream in(env("CCIDKIT_FD_TEST_ACK"));
        std::size_t n = 0;
        for (std::string ack; std::getline(in, ack);)
            if (++n == sent) return ack.substr(ack.find(" -> ") == std::string::npos ? 0 : ack.find(" -> ") + 4);
        std::this_thread::sleep_for(10ms);
    }
    return "timeout";
}

class FdSandbox : public ::testing::Test {
protected:
    void SetUp() override {
        FD_SANDBOX_ONLY();
        ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx_), SCARD_S_SUCCESS);
    }
    void TearDown() override {
        if (ctx_ != 0) SCardReleaseContext(ctx_);
    }

    std::vector<std::string> readers() const {
        char buffer[1024];
        DWORD len = sizeof buffer;
        const LONG rc = SCardListReaders(ctx_, nullptr, buffer, &len);
        std::vector<std::string> out;
        if (rc != SCARD_S_SUCCESS) return out;
        for (const char* p = buffer; *p != '\0'; p += out.back().size() + 1) out.emplace_back(p);
        return out;
    }

    // Waits until the reader's state has `bit` (or the deadline); returns the last state.
    DWORD wait_for_state(const std::string& reader, DWORD bit, std::chrono::milliseconds timeout = 10s) const {
        SCARD_READERSTATE rs{};
        rs.szReader = reader.c_str();
        rs.dwCurrentState = SCARD_STATE_UNAWARE;
        const auto deadline = Clock::now() + scaled(timeout);
        while (Clock::now() < deadline) {
            const LONG rc = SCardGetStatusChange(ctx_, 500, &rs, 1);
            if (rc != SCARD_S_SUCCESS && rc != SCARD_E_TIMEOUT) break;
            if (rs.dwEventState & bit) break;
            rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
        }
        return rs.dwEventState;
    }

    SCARDCONTEXT ctx_ = 0;
};

// The echo application of the simulated card (CLA 80, INS 10; sim/card/echo_app.h): case 1
// for 0 bytes, else case 4 with the data back.
ccidkit::Bytes echo_apdu(std::size_t n) {
    if (n == 0) return {0x80, 0x10, 0x00, 0x00};
    ccidkit::Bytes apdu = {0x80, 0x10, 0x00, 0x00, static_cast<std::uint8_t>(n)};
    for (std::size_t i = 0; i < n; ++i) apdu.push_back(static_cast<std::uint8_t>(i * 13 + n));
    apdu.push_back(static_cast<std::uint8_t>(n));
    return apdu;
}

LONG transmit_echo(SCARDHANDLE h, DWORD protocol, std::size_t n, bool& echoed) {
    const ccidkit::Bytes apdu = echo_apdu(n);
    std::uint8_t reply[300];
    DWORD len = sizeof reply;
    const LONG rc = SCardTransmit(h, protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1, apdu.data(),
                                  static_cast<DWORD>(apdu.size()), nullptr, reply, &len);
    echoed = rc == SCARD_S_SUCCESS && len == n + 2 && (n == 0 || std::equal(apdu.begin() + 5, apdu.end() - 1, reply)) &&
             reply[n] == 0x90 && reply[n + 1] == 0x00;
    return rc;
}

}  // namespace

// The premise: no way to the device but the inherited descriptor.
TEST_F(FdSandbox, RunsUnprivilegedWithoutUsbNodesOrSysfs) {
    EXPECT_NE(::getuid(), 0u);
    EXPECT_EQ(entries_of("/dev/bus/usb"), 0u);
    EXPECT_EQ(entries_of("/sys"), 0u);
    const int fd = std::atoi(env("CCIDKIT_USB_FD").c_str());
    EXPECT_NE(::fcntl(fd, F_GETFD), -1) << "descriptor " << fd << " not inherited";
}

TEST_F(FdSandbox, ReaderIsListedWithTheCardsAtr) {
    const auto names = readers();
    ASSERT_EQ(names.size(), 1u);
    EXPECT_NE(names[0].find("ccidkit"), std::string::npos) << names[0];
    EXPECT_TRUE(names[0].ends_with(" 00 00")) << names[0];
    SCARD_READERSTATE rs{};
    rs.szReader = names[0].c_str();
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    ASSERT_EQ(SCardGetStatusChange(ctx_, 0, &rs, 1), SCARD_S_SUCCESS);
    EXPECT_TRUE(rs.dwEventState & SCARD_STATE_PRESENT) << std::hex << rs.dwEventState;
    EXPECT_EQ(ccidkit::to_hex(ccidkit::ByteView(rs.rgbAtr, rs.cbAtr), '\0'), env("CCIDKIT_FD_TEST_ATR"));
}

TEST_F(FdSandbox, ConnectStatusTransmit) {
    const auto names = readers();
    ASSERT_EQ(names.size(), 1u);
    SCARDHANDLE h = 0;
    DWORD protocol = 0;
    ASSERT_EQ(SCardConnect(ctx_, names[0].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                           &protocol),
              SCARD_S_SUCCESS);
    char name[256];
    DWORD name_len = sizeof name;
    DWORD state = 0, proto = 0;
    std::uint8_t atr[33];
    DWORD atr_len = sizeof atr;
    ASSERT_EQ(SCardStatus(h, name, &name_len, &state, &proto, atr, &atr_len), SCARD_S_SUCCESS);
    EXPECT_EQ(std::string(name), names[0]);
    // pcsc-lite's bits for a connected card (it never reports SCARD_SPECIFIC here).
    EXPECT_EQ(state & 0xFFFF, static_cast<DWORD>(SCARD_PRESENT | SCARD_POWERED | SCARD_NEGOTIABLE));
    EXPECT_EQ(proto, protocol);
    EXPECT_EQ(ccidkit::to_hex(ccidkit::ByteView(atr, atr_len), '\0'), env("CCIDKIT_FD_TEST_ATR"));
    for (std::size_t n : {0u, 1u, 64u, 250u}) {
        bool echoed = false;
        EXPECT_EQ(transmit_echo(h, protocol, n, echoed), SCARD_S_SUCCESS) << n;
        EXPECT_TRUE(echoed) << n << " bytes";
    }
    EXPECT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
}

// No hotplug monitor watches this device: card movements come from its interrupt pipe.
TEST_F(FdSandbox, StatusChangeSeesRemovalAndInsertion) {
    const auto names = readers();
    ASSERT_EQ(names.size(), 1u);
    ASSERT_TRUE(wait_for_state(names[0], SCARD_STATE_PRESENT) & SCARD_STATE_PRESENT);
    ASSERT_EQ(gadget("remove").substr(0, 2), "ok");
    EXPECT_TRUE(wait_for_state(names[0], SCARD_STATE_EMPTY) & SCARD_STATE_EMPTY);
    ASSERT_EQ(gadget("insert").substr(0, 2), "ok");
    EXPECT_TRUE(wait_for_state(names[0], SCARD_STATE_PRESENT) & SCARD_STATE_PRESENT);
}

// Run last (the device is gone afterwards): the unplug ends a transfer loop with
// SCARD_E_READER_UNAVAILABLE (ReaderGone) or SCARD_W_REMOVED_CARD, promptly; the reader then
// leaves the list; the descriptor stays open and can be handed back with the remove call.
TEST_F(FdSandbox, UnplugDuringTransfersEndsWithTheDocumentedError) {
    const auto names = readers();
    ASSERT_EQ(names.size(), 1u);
    SCARDHANDLE h = 0;
    DWORD protocol = 0;
    ASSERT_EQ(SCardConnect(ctx_, names[0].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                           &protocol),
              SCARD_S_SUCCESS);
    std::atomic<int> done{0};
    auto loop = std::async(std::launch::async, [&] {
        for (;;) {
            bool echoed = false;
            const LONG rc = transmit_echo(h, protocol, 250, echoed);
            if (rc != SCARD_S_SUCCESS) return rc;
            ++done;
        }
    });
    while (done < 3) std::this_thread::sleep_for(5ms);
    const auto unplugged = Clock::now();
    EXPECT_EQ(gadget("unplug").substr(0, 2), "ok");
    ASSERT_EQ(loop.wait_for(scaled(10s)), std::future_status::ready) << "transfer loop hangs after the unplug";
    const LONG rc = loop.get();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - unplugged);
    EXPECT_TRUE(rc == SCARD_E_READER_UNAVAILABLE || rc == SCARD_W_REMOVED_CARD)
        << std::hex << rc << " " << pcsc_stringify_error(rc);
    std::printf("fd-sandbox: transfer ended %lld ms after the unplug with %s (%d exchanges before)\n",
                static_cast<long long>(took.count()), pcsc_stringify_error(rc), done.load());

    // The reader leaves the list (SCardGetStatusChange on the PnP pseudo-reader wakes up).
    const auto deadline = Clock::now() + scaled(10s);
    while (!readers().empty() && Clock::now() < deadline) {
        SCARD_READERSTATE pnp{};
        pnp.szReader = "\\\\?PnP?\\Notification";
        pnp.dwCurrentState = SCARD_STATE_UNAWARE;
        SCardGetStatusChange(ctx_, 500, &pnp, 1);
    }
    EXPECT_TRUE(readers().empty());
    DWORD len = 0;
    EXPECT_EQ(SCardListReaders(ctx_, nullptr, nullptr, &len), SCARD_E_NO_READERS_AVAILABLE);
    bool echoed = false;
    const LONG after = transmit_echo(h, protocol, 1, echoed);
    EXPECT_TRUE(after == SCARD_E_READER_UNAVAILABLE || after == SCARD_W_REMOVED_CARD) << std::hex << after;
    SCardDisconnect(h, SCARD_LEAVE_CARD);

    const int fd = std::atoi(env("CCIDKIT_USB_FD").c_str());
    EXPECT_EQ(ccidkit_SCardRemoveReaderFromFd(ctx_, fd), SCARD_S_SUCCESS);
    EXPECT_EQ(ccidkit_SCardRemoveReaderFromFd(ctx_, fd), SCARD_E_UNKNOWN_READER);
    EXPECT_NE(::fcntl(fd, F_GETFD), -1) << "the caller's descriptor was closed";
}

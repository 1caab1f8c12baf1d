// The libusb transport without USB hardware: opening failures must be clean (no crash, no
// leaked descriptor, thread or memory; the caller's file descriptor untouched), and a closed
// transport must answer every call with NoDevice and tolerate cancel() from any thread.
#include "ccid/usb/libusb_transport.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "ccid/usb/libusb_context.h"
#include "ccid/usb/libusb_transport_impl.h"

namespace ccidkit::ccid::usb {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int open_fd_count() {
    int n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

class TempFile {
public:
    TempFile() {
        char name[] = "/tmp/ccidkit-usb-test-XXXXXX";
        fd_ = ::mkstemp(name);
        path_ = name;
    }
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        std::filesystem::remove(path_);
    }
    int fd() const { return fd_; }

private:
    int fd_ = -1;
    std::string path_;
};

int thread_count() {
    int n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
    return n;
}

// Threads that creating one discovering context adds (libusb's hotplug monitor thread on Linux).
int threads_started_by_a_context() {
    const int before = thread_count();
    auto ctx = LibusbContext::create(LibusbContext::Discovery::Enabled, LibusbContext::EventThread::None);
    if (!ctx) return -1;
    return thread_count() - before;
}

// First in this file on purpose: it must run before any other fd-mode call in the process.
// libusb 1.0.26 keeps LIBUSB_OPTION_NO_DEVICE_DISCOVERY in a process-wide variable; had fd mode
// set it, every later context would skip device discovery and start no hotplug monitor.
TEST(UsbOpenFromFd, KeepsDeviceDiscoveryForOtherContexts) {
    const int before = threads_started_by_a_context();
    ASSERT_GE(before, 0);
    TempFile file;
    ASSERT_FALSE(open_transport_from_fd(file.fd()));
    EXPECT_EQ(threads_started_by_a_context(), before);
}

TEST(UsbOpenFromFd, NegativeDescriptor) {
    const auto t = open_transport_from_fd(-1);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), TransportError::Io);
}

TEST(UsbOpenFromFd, RegularFileIsRefusedAndLeftOpen) {
    TempFile file;
    ASSERT_GE(file.fd(), 0);
    const int before = open_fd_count();
    const auto t = open_transport_from_fd(file.fd());
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), TransportError::Io);
    EXPECT_TRUE(fd_is_open(file.fd()));
    EXPECT_EQ(::write(file.fd(), "ok", 2), 2);  // still the caller's, still usable
    EXPECT_EQ(open_fd_count(), before);
}

TEST(UsbOpenFromFd, OtherNonUsbDescriptorsAreRefused) {
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ASSERT_GE(null_fd, 0);
    std::array<int, 2> pipe_fds{};
    ASSERT_EQ(::pipe(pipe_fds.data()), 0);
    for (int fd : {null_fd, pipe_fds[0], pipe_fds[1]}) {
        const auto t = open_transport_from_fd(fd);
        ASSERT_FALSE(t);
        EXPECT_EQ(t.error(), TransportError::Io);
        EXPECT_TRUE(fd_is_open(fd));
    }
    ::close(null_fd);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

TEST(UsbOpenFromFd, ClosedDescriptorNumber) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ::close(fd);
    const auto t = open_transport_from_fd(fd);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), TransportError::Io);
}

TEST(UsbOpenFromFd, RepeatedFailuresLeakNothing) {
    TempFile file;
    ASSERT_TRUE(!open_transport_from_fd(file.fd()));  // warm-up: libusb's one-time setup
    const int before = open_fd_count();
    for (int i = 0; i < 20; ++i) ASSERT_FALSE(open_transport_from_fd(file.fd()));
    EXPECT_EQ(open_fd_count(), before);
}

TEST(UsbOpenTransport, AbsentDeviceIsNoDevice) {
    auto t = open_transport(255, 255, 0);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), TransportError::NoDevice);

    UsbReaderCandidate c;
    c.bus = 255;
    c.address = 254;
    c.vendor_id = 0x08E6;
    c.product_id = 0x4433;
    t = open_transport(c);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), TransportError::NoDevice);
}

UsbReaderCandidate typical_reader() {
    UsbReaderCandidate c;
    c.bus = 1;
    c.address = 4;
    c.interface_number = 2;
    c.bulk_out = UsbEndpoint{0x02, 64};
    c.bulk_in = UsbEndpoint{0x81, 64};
    c.interrupt_in = UsbEndpoint{0x83, 8};
    return c;
}

std::unique_ptr<LibusbTransport> closed_transport(UsbReaderCandidate reader = typical_reader()) {
    auto ctx = LibusbContext::create(LibusbContext::Discovery::Enabled, LibusbContext::EventThread::Dedicated);
    if (!ctx) return nullptr;
    return std::make_unique<LibusbTransport>(std::move(*ctx), nullptr, std::move(reader), TransportOptions{});
}

TEST(UsbClosedTransport, EveryCallIsNoDevice) {
    auto t = closed_transport();
    ASSERT_TRUE(t);
    std::array<std::uint8_t, 64> buffer{};
    const Bytes message(64, 0x6F);
    EXPECT_EQ(t->bulk_out(message, 100ms).error(), TransportError::NoDevice);
    EXPECT_EQ(t->bulk_in(buffer, 100ms).error(), TransportError::NoDevice);
    EXPECT_EQ(t->interrupt_in(buffer, 100ms).error(), TransportError::NoDevice);
    EXPECT_EQ(t->control_in(ControlSetup{0xA1, 0x02, 0, 0}, buffer, 100ms).error(), TransportError::NoDevice);
    EXPECT_EQ(t->control_out(ControlSetup{0x21, 0x01, 0, 0}, {}, 100ms).error(), TransportError::NoDevice);
    EXPECT_EQ(t->clear_halt().error(), TransportError::NoDevice);
}

TEST(UsbClosedTransport, DescribesItsInterface) {
    auto t = closed_transport();
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->has_interrupt_in());
    EXPECT_EQ(t->bulk_in_max_packet(), 64);
    EXPECT_EQ(t->interface_number(), 2);
    EXPECT_EQ(t->reader().bulk_out->address, 0x02);

    UsbReaderCandidate iccd = typical_reader();
    iccd.bulk_in.reset();
    iccd.bulk_out.reset();
    iccd.interrupt_in.reset();
    auto control_only = closed_transport(iccd);
    ASSERT_TRUE(control_only);
    EXPECT_FALSE(control_only->has_interrupt_in());
    EXPECT_EQ(control_only->bulk_in_max_packet(), 0);
}

TEST(UsbClosedTransport, CancelAndCloseAreAlwaysSafe) {
    auto t = closed_transport();
    ASSERT_TRUE(t);
    t->cancel();
    t->close();
    t->close();
    t->cancel();
    std::array<std::uint8_t, 8> buffer{};
    EXPECT_EQ(t->interrupt_in(buffer, 10ms).error(), TransportError::NoDevice);
}

TEST(UsbClosedTransport, ClaimAndReleaseWithoutADevice) {
    EXPECT_TRUE(TransportOptions{}.claim_on_open);  // unchanged default: claimed while open
    auto claimed = closed_transport();
    ASSERT_TRUE(claimed);
    EXPECT_EQ(claimed->claim().error(), TransportError::NoDevice);
    claimed->release();  // nothing to give back: harmless

    auto ctx = LibusbContext::create(LibusbContext::Discovery::Enabled, LibusbContext::EventThread::Dedicated);
    ASSERT_TRUE(ctx);
    LibusbTransport unclaimed(std::move(*ctx), nullptr, typical_reader(), TransportOptions{}, false);
    EXPECT_FALSE(unclaimed.claimed());
    EXPECT_EQ(unclaimed.claim().error(), TransportError::NoDevice);
    EXPECT_FALSE(unclaimed.claimed());
    std::array<std::uint8_t, 8> buffer{};
    EXPECT_EQ(unclaimed.interrupt_in(buffer, 10ms).error(), TransportError::NoDevice);  // gone beats Busy
    unclaimed.release();
    unclaimed.close();
}

TEST(UsbClosedTransport, FailsFast) {
    auto t = closed_transport();
    ASSERT_TRUE(t);
    std::array<std::uint8_t, 64> buffer{};
    const auto t0 = Clock::now();
    for (int i = 0; i < 10000; ++i) ASSERT_FALSE(t->bulk_in(buffer, 5s));
    EXPECT_LT(Clock::now() - t0, 1s);  // no call waits for its timeout
}

TEST(UsbClosedTransport, ConcurrentCallsCancelAndClose) {
    auto t = closed_transport();
    ASSERT_TRUE(t);
    std::atomic<bool> go{false};
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int k = 0; k < 3; ++k) {
        threads.emplace_back([&] {
            while (!go.load()) std::this_thread::yield();
            std::array<std::uint8_t, 64> buffer{};
            for (int i = 0; i < 2000; ++i) {
                auto r = t->bulk_in(buffer, 1s);
                if (r || r.error() != TransportError::NoDevice) ++wrong;
                t->cancel();
            }
        });
    }
    threads.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < 100; ++i) t->close();
    });
    go = true;
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST(UsbContext, EventThreadStopsPromptly) {
    auto ctx = LibusbContext::create(LibusbContext::Discovery::Enabled, LibusbContext::EventThread::Dedicated);
    ASSERT_TRUE(ctx);
    EXPECT_TRUE((*ctx)->has_event_thread());
    std::this_thread::sleep_for(20ms);  // let the thread enter libusb_handle_events
    const auto t0 = Clock::now();
    ctx->reset();
    EXPECT_LT(Clock::now() - t0, 500ms);
}

TEST(UsbContext, WithoutEventThread) {
    auto ctx = LibusbContext::create(LibusbContext::Discovery::Enabled, LibusbContext::EventThread::None);
    ASSERT_TRUE(ctx);
    EXPECT_FALSE((*ctx)->has_event_thread());
    EXPECT_NE((*ctx)->get(), nullptr);
}

}  // namespace
}  // namespace ccidkit::ccid::usb

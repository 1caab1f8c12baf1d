#include "ccid/usb/usb_hotplug.h"

#include <gtest/gtest.h>
#include <libusb.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

namespace ccidkit::ccid::usb {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

UsbReaderCandidate reader(std::uint8_t address, std::string product) {
    UsbReaderCandidate c;
    c.bus = 1;
    c.address = address;
    c.vendor_id = 0x04E6;
    c.product_id = 0x5116;
    c.product = std::move(product);
    return c;
}

// A bus the test controls, seen through an injected scanner.
class FakeBus {
public:
    void set(std::vector<UsbReaderCandidate> readers) {
        std::lock_guard lock(mutex_);
        readers_ = std::move(readers);
    }
    void set_failing(bool failing) {
        std::lock_guard lock(mutex_);
        failing_ = failing;
    }
    ReaderScanner scanner() {
        return [this](const EnumerateOptions& options) -> std::expected<std::vector<UsbReaderCandidate>, TransportError> {
            std::lock_guard lock(mutex_);
            last_options_ = options;
            if (failing_) return std::unexpected(TransportError::Io);
            return readers_;
        };
    }
    EnumerateOptions last_options() {
        std::lock_guard lock(mutex_);
        return last_options_;
    }

private:
    std::mutex mutex_;
    std::vector<UsbReaderCandidate> readers_;
    bool failing_ = false;
    EnumerateOptions last_options_;
};

// Collects callback events; lets the test wait for them.
class Events {
public:
    HotplugCallback callback() {
        return [this](HotplugEvent e, const UsbReaderCandidate& c) {
            std::lock_guard lock(mutex_);
            log_.push_back((e == HotplugEvent::Added ? "+" : "-") + c.product);
            cv_.notify_all();
        };
    }
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return log_.size() >= count; });
    }
    std::vector<std::string> log() {
        std::lock_guard lock(mutex_);
        return log_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::string> log_;
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
    const auto end = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() > end) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

HotplugOptions polling(FakeBus& bus, std::chrono::milliseconds interval = 10ms) {
    HotplugOptions o;
    o.mode = HotplugMode::Polling;
    o.poll_interval = interval;
    o.scanner = bus.scanner();
    return o;
}

TEST(UsbHotplug, ReportsPresentReadersThenChanges) {
    FakeBus bus;
    bus.set({reader(2, "a"), reader(3, "b")});
    Events events;
    auto monitor = HotplugMonitor::start(polling(bus), events.callback());
    ASSERT_TRUE(monitor);
    EXPECT_FALSE((*monitor)->uses_libusb_hotplug());
    ASSERT_TRUE(events.wait_for(2));
    EXPECT_EQ(events.log(), (std::vector<std::string>{"+a", "+b"}));

    bus.set({reader(3, "b"), reader(4, "c")});
    ASSERT_TRUE(events.wait_for(4));
    EXPECT_EQ(events.log(), (std::vector<std::string>{"+a", "+b", "-a", "+c"}));
    ASSERT_TRUE(wait_until([&] { return (*monitor)->readers().size() == 2; }));
    EXPECT_EQ((*monitor)->readers()[1].product, "c");
}

TEST(UsbHotplug, PresentReadersCanBeLeftUnreported) {
    FakeBus bus;
    bus.set({reader(2, "a")});
    Events events;
    HotplugOptions o = polling(bus);
    o.report_present = false;
    auto monitor = HotplugMonitor::start(o, events.callback());
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 1; }));
    EXPECT_EQ((*monitor)->readers().size(), 1u);
    bus.set({reader(2, "a"), reader(5, "d")});
    ASSERT_TRUE(events.wait_for(1));
    EXPECT_EQ(events.log(), (std::vector<std::string>{"+d"}));
}

TEST(UsbHotplug, BaselineIsTheFirstSuccessfulScan) {
    FakeBus bus;
    bus.set({reader(2, "a")});
    bus.set_failing(true);
    Events events;
    HotplugOptions o = polling(bus);
    o.report_present = false;
    auto monitor = HotplugMonitor::start(o, events.callback());
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 2; }));
    bus.set_failing(false);
    ASSERT_TRUE(wait_until([&] { return (*monitor)->readers().size() == 1; }));
    bus.set({reader(2, "a"), reader(3, "b")});
    ASSERT_TRUE(events.wait_for(1));
    EXPECT_EQ(events.log(), (std::vector<std::string>{"+b"}));  // "a" was present, not plugged
}

TEST(UsbHotplug, FailedScansDoNotLookLikeRemovals) {
    FakeBus bus;
    bus.set({reader(2, "a")});
    Events events;
    auto monitor = HotplugMonitor::start(polling(bus), events.callback());
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(events.wait_for(1));
    bus.set_failing(true);
    const auto scans = (*monitor)->scans_completed();
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= scans + 3; }));
    EXPECT_EQ((*monitor)->readers().size(), 1u);
    bus.set_failing(false);
    const auto more = (*monitor)->scans_completed();
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= more + 2; }));
    EXPECT_EQ(events.log(), (std::vector<std::string>{"+a"}));
}

// Polling with a bus fingerprint: while it stands still, polls cost no enumeration; a change
// of fingerprint, rescan() and a failed scan each bring one.
TEST(UsbHotplug, PollsSkipTheEnumerationWhileTheBusIsUnchanged) {
    FakeBus bus;
    Events events;
    std::mutex mutex;
    std::string fingerprint = "1-1=2\n";
    HotplugOptions o = polling(bus, 5ms);
    o.bus_signature = [&]() -> std::optional<std::string> {
        std::lock_guard lock(mutex);
        return fingerprint;
    };
    bus.set({reader(2, "a")});
    auto monitor = HotplugMonitor::start(o, events.callback());
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(events.wait_for(1));
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 10; }));
    EXPECT_EQ((*monitor)->enumerations(), 1u);

    // A device appears: the fingerprint changes, one enumeration reports it.
    bus.set({reader(2, "a"), reader(3, "b")});
    {
        std::lock_guard lock(mutex);
        fingerprint = "1-1=2\n1-2=3\n";
    }
    ASSERT_TRUE(events.wait_for(2));
    const auto after_change = (*monitor)->scans_completed();
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= after_change + 10; }));
    EXPECT_EQ((*monitor)->enumerations(), 2u);

    // rescan() enumerates even with the fingerprint unchanged.
    (*monitor)->rescan();
    ASSERT_TRUE(wait_until([&] { return (*monitor)->enumerations() >= 3; }));

    // A failed scan is retried at every poll until one succeeds.
    bus.set_failing(true);
    (*monitor)->rescan();
    ASSERT_TRUE(wait_until([&] { return (*monitor)->enumerations() >= 6; }));
    bus.set_failing(false);
    const auto settled = (*monitor)->scans_completed();
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= settled + 10; }));
    const auto enumerations = (*monitor)->enumerations();
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= settled + 20; }));
    EXPECT_EQ((*monitor)->enumerations(), enumerations);
    EXPECT_EQ(events.log(), (std::vector<std::string>{"+a", "+b"}));
}

TEST(UsbHotplug, RescanWakesTheWorkerAtOnce) {
    FakeBus bus;
    Events events;
    auto monitor = HotplugMonitor::start(polling(bus, 60s), events.callback());
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 1; }));
    bus.set({reader(7, "late")});
    const auto t0 = Clock::now();
    (*monitor)->rescan();
    ASSERT_TRUE(events.wait_for(1, 5s));
    EXPECT_LT(Clock::now() - t0, 2s);
    EXPECT_EQ(events.log(), (std::vector<std::string>{"+late"}));
}

TEST(UsbHotplug, StopIsPromptEvenWithALongInterval) {
    FakeBus bus;
    Events events;
    auto monitor = HotplugMonitor::start(polling(bus, 60s), events.callback());
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 1; }));
    const auto t0 = Clock::now();
    (*monitor)->stop();
    EXPECT_LT(Clock::now() - t0, 1s);
    (*monitor)->stop();  // idempotent
}

TEST(UsbHotplug, NoCallbackAfterStopReturns) {
    FakeBus bus;
    std::atomic<int> calls{0};
    std::atomic<bool> inside{false};
    std::atomic<bool> overlap{false};
    // Every scan sees a different device, so every scan produces callbacks.
    std::atomic<int> generation{0};
    HotplugOptions o;
    o.mode = HotplugMode::Polling;
    o.poll_interval = 10ms;
    o.scanner = [&](const EnumerateOptions&) -> std::expected<std::vector<UsbReaderCandidate>, TransportError> {
        const int g = generation.fetch_add(1);
        return std::vector<UsbReaderCandidate>{reader(static_cast<std::uint8_t>(1 + g % 100), "x")};
    };
    auto monitor = HotplugMonitor::start(o, [&](HotplugEvent, const UsbReaderCandidate&) {
        if (inside.exchange(true)) overlap = true;
        std::this_thread::sleep_for(5ms);
        ++calls;
        inside = false;
    });
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(wait_until([&] { return calls.load() >= 5; }));
    (*monitor)->stop();
    EXPECT_FALSE(inside.load());
    const int at_stop = calls.load();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(calls.load(), at_stop);
    EXPECT_FALSE(overlap.load());
}

TEST(UsbHotplug, StopFromInsideTheCallback) {
    FakeBus bus;
    bus.set({reader(2, "a"), reader(3, "b"), reader(4, "c")});
    std::atomic<int> calls{0};
    HotplugMonitor* self = nullptr;
    std::mutex self_mutex;
    HotplugOptions o = polling(bus);
    o.report_present = false;  // the first callback comes after `self` is set
    auto monitor = HotplugMonitor::start(o, [&](HotplugEvent, const UsbReaderCandidate&) {
        ++calls;
        std::lock_guard lock(self_mutex);
        if (self != nullptr) self->stop();
    });
    ASSERT_TRUE(monitor);
    {
        std::lock_guard lock(self_mutex);
        self = monitor->get();
    }
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 1; }));
    bus.set({reader(5, "d"), reader(6, "e")});  // five changes: three removals, two additions
    ASSERT_TRUE(wait_until([&] { return calls.load() >= 1; }));
    bus.set({reader(7, "f")});
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(calls.load(), 1);  // nothing after the stop made from the first callback
    monitor->reset();               // joins the worker from this thread
}

TEST(UsbHotplug, StringsAreReadOnlyForNewReaders) {
    FakeBus bus;
    bus.set({reader(2, "a")});
    Events events;
    auto monitor = HotplugMonitor::start(polling(bus), events.callback());
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(events.wait_for(1));
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 3; }));
    const EnumerateOptions o = bus.last_options();
    EXPECT_TRUE(o.read_strings);
    ASSERT_TRUE(o.read_strings_for);
    EXPECT_FALSE(o.read_strings_for(reader(2, "")));  // known
    EXPECT_TRUE(o.read_strings_for(reader(9, "")));   // new
}

// The caller's own enumeration as the starting point: the first scan reads no strings of
// those readers and reports only what changed since (one arrived, one left in between).
TEST(UsbHotplug, KnownReadersAreTheStartingPoint) {
    FakeBus bus;
    bus.set({reader(2, "a"), reader(7, "new")});
    Events events;
    HotplugOptions o = polling(bus, 1h);  // the first scan only
    o.known = std::vector<UsbReaderCandidate>{reader(2, "a"), reader(3, "gone")};
    auto monitor = HotplugMonitor::start(o, events.callback());
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(events.wait_for(2));
    EXPECT_EQ(events.log(), (std::vector<std::string>{"-gone", "+new"}));
    const EnumerateOptions first = bus.last_options();
    ASSERT_TRUE(first.read_strings_for);
    EXPECT_FALSE(first.read_strings_for(reader(2, "")));  // known from the caller
    EXPECT_TRUE(first.read_strings_for(reader(7, "")));
    ASSERT_EQ((*monitor)->readers().size(), 2u);
    EXPECT_EQ((*monitor)->readers()[0].product, "a");  // the caller's candidate is kept
}

TEST(UsbHotplug, VendorPredicateReachesTheScan) {
    FakeBus bus;
    HotplugOptions o = polling(bus);
    o.is_vendor_class_reader = [](std::uint16_t vid, std::uint16_t, std::uint16_t) { return vid == 0x0C4B; };
    auto monitor = HotplugMonitor::start(o, {});
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 1; }));
    const EnumerateOptions seen = bus.last_options();
    ASSERT_TRUE(seen.is_vendor_class_reader);
    EXPECT_TRUE(seen.is_vendor_class_reader(0x0C4B, 0x0500, 0));
    EXPECT_FALSE(seen.is_vendor_class_reader(0x1234, 0x0500, 0));
}

// The real machine: libusb's hotplug where the platform has it, polling otherwise; both start,
// scan and stop within a bound. Without USB hardware nothing is reported.
bool machine_has_usb() { return std::filesystem::exists("/dev/bus/usb") || std::filesystem::exists("/sys/bus/usb"); }

TEST(UsbHotplugOnThisMachine, AutoModeStartsAndStops) {
    Events events;
    HotplugOptions o;
    auto monitor = HotplugMonitor::start(o, events.callback());
    ASSERT_TRUE(monitor);
    const bool udevd = std::filesystem::exists(kUdevControlSocket);
    if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) != 0 && udevd) {
        EXPECT_TRUE((*monitor)->uses_libusb_hotplug());
    }
    if (!udevd) {
        EXPECT_FALSE((*monitor)->uses_libusb_hotplug());
        std::printf("[   NOTE   ] no udev daemon here (%s missing): the monitor polls\n", kUdevControlSocket);
    }
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 1; }));
    if (!machine_has_usb()) {
        EXPECT_TRUE(events.log().empty());
    }
    const auto t0 = Clock::now();
    monitor->reset();
    EXPECT_LT(Clock::now() - t0, 2s);
}

// libusb's hotplug events come from udevd's broadcast (Debian's libusb): without a udev daemon
// (containers) they never come, so Auto mode polls; with one, it takes libusb's events.
TEST(UsbHotplugOnThisMachine, AutoModePollsWhereNoUdevDaemonRuns) {
    Events events;
    HotplugOptions o;
    o.udev_control = (std::filesystem::temp_directory_path() / "ccidkit-test-no-such-dir" / "control").string();
    o.poll_interval = 20ms;
    auto monitor = HotplugMonitor::start(o, events.callback());
    ASSERT_TRUE(monitor);
    EXPECT_FALSE((*monitor)->uses_libusb_hotplug());
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 3; }));
    monitor->reset();
}

TEST(UsbHotplugOnThisMachine, AutoModeTakesLibusbEventsWhereUdevRuns) {
    if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) == 0) GTEST_SKIP() << "libusb has no hotplug here";
    // Any existing file stands for udevd's socket.
    const auto marker = std::filesystem::temp_directory_path() / ("ccidkit-udev-control-" + std::to_string(::getpid()));
    { std::ofstream(marker) << ""; }
    Events events;
    HotplugOptions o;
    o.udev_control = marker.string();
    o.poll_interval = 20ms;
    auto monitor = HotplugMonitor::start(o, events.callback());
    ASSERT_TRUE(monitor);
    EXPECT_TRUE((*monitor)->uses_libusb_hotplug());
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 1; }));
    // Event-driven: no scan every poll interval.
    const auto scans = (*monitor)->scans_completed();
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ((*monitor)->scans_completed(), scans);
    monitor->reset();
    std::filesystem::remove(marker);
}

TEST(UsbHotplugOnThisMachine, PollingFallbackScansRepeatedly) {
    Events events;
    HotplugOptions o;
    o.mode = HotplugMode::Polling;
    o.poll_interval = 20ms;
    auto monitor = HotplugMonitor::start(o, events.callback());
    ASSERT_TRUE(monitor);
    EXPECT_FALSE((*monitor)->uses_libusb_hotplug());
    ASSERT_TRUE(wait_until([&] { return (*monitor)->scans_completed() >= 3; }));
    if (!machine_has_usb()) {
        EXPECT_TRUE(events.log().empty());
    }
    const auto t0 = Clock::now();
    monitor->reset();
    EXPECT_LT(Clock::now() - t0, 2s);
}

}  // namespace
}  // namespace ccidkit::ccid::usb

// Watches for CCID reader candidates being plugged in and out.
//
// A worker thread owns all scanning and calls the callback; it rescans (a full enumeration,
// diffed against the previous one) when libusb reports a hotplug event, or every poll interval
// when libusb has no hotplug support here, no udev daemon runs, or polling was asked for (a
// poll that finds sysfs's list of devices unchanged skips the enumeration). libusb's own
// hotplug callback only wakes the worker: it runs on libusb's event thread, where opening a
// device to read its strings is not allowed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ccid/transport.h"
#include "ccid/usb/usb_enumerate.h"
#include "ccid/usb/usb_reader_candidate.h"

namespace ccidkit::ccid::usb {

class LibusbContext;

enum class HotplugEvent { Added, Removed };

enum class HotplugMode {
    // libusb hotplug events when libusb has them (LIBUSB_CAP_HAS_HOTPLUG) and a udev daemon
    // runs, else polling. Debian's libusb learns of devices from udevd's broadcast: where no
    // udevd runs (most containers, minimal systems) it would never report a reader plugged in.
    Auto,
    Polling,  // always poll
};

// Where udevd's control socket is; its presence is how Auto mode tells that a udev daemon runs.
inline constexpr const char* kUdevControlSocket = "/run/udev/control";

using HotplugCallback = std::function<void(HotplugEvent, const UsbReaderCandidate&)>;
// Produces the current reader list; enumerate_readers unless a test or simulator injects one.
using ReaderScanner =
    std::function<std::expected<std::vector<UsbReaderCandidate>, TransportError>(const EnumerateOptions&)>;

struct HotplugOptions {
    VendorClassPredicate is_vendor_class_reader;
    HotplugMode mode = HotplugMode::Auto;
    // Polling period; also the retry delay after a failed scan. Values below 10 ms are raised.
    std::chrono::milliseconds poll_interval{500};
    // Report the readers present at start as Added (first thing the callback sees).
    bool report_present = true;
    // Readers the caller has just enumerated itself: the first scan starts from them, so their
    // strings are not read again (no control transfers on a reader that is already in use)
    // and only the differences are reported (report_present then does not matter).
    std::optional<std::vector<UsbReaderCandidate>> known;
    ReaderScanner scanner;
    // Auto mode: the file whose presence shows a running udev daemon (tests point it elsewhere).
    std::string udev_control = kUdevControlSocket;
    // Polling: a cheap fingerprint of the bus; a poll that finds it unchanged skips the scan
    // (a failed scan, rescan() and the first scan always scan). Empty: usb_bus_signature()
    // (usb_bus_signature.h) with the default scanner, none (always scan) with an injected one.
    std::function<std::optional<std::string>()> bus_signature;
};

class HotplugMonitor {
public:
    // Starts the worker (and, in Auto mode, a libusb context with an event thread and a hotplug
    // registration; any failure there falls back to polling). Fails only if no thread can be
    // started.
    static std::expected<std::unique_ptr<HotplugMonitor>, TransportError> start(HotplugOptions options,
                                                                               HotplugCallback callback);

    // Stops (see stop()). Must not run on the callback's thread, i.e. never destroy the monitor
    // from inside its own callback.
    ~HotplugMonitor();
    HotplugMonitor(const HotplugMonitor&) = delete;
    HotplugMonitor& operator=(const HotplugMonitor&) = delete;

    // After stop() returns, the callback is never called again. Joins the worker (waiting for a
    // callback in progress to return) and releases libusb. Called from inside the callback, it
    // only marks the monitor stopped: the worker ends when the callback returns.
    void stop();

    // Asks for a scan now (e.g. after the application learned about a device by other means).
    void rescan();

    bool uses_libusb_hotplug() const { return hotplug_handle_ >= 0; }
    // Number of scans finished (successful or not), polls that found the bus unchanged
    // included; for diagnostics and tests.
    std::uint64_t scans_completed() const { return scans_.load(); }
    // Full enumerations run (scans_completed() minus the polls skipped on an unchanged bus).
    std::uint64_t enumerations() const { return enumerations_.load(); }
    // The readers known after the last successful scan.
    std::vector<UsbReaderCandidate> readers() const;

private:
    HotplugMonitor(HotplugOptions options, HotplugCallback callback);
    void run();
    void scan_once(bool& failed);
    void release_libusb();

    HotplugOptions options_;
    bool default_scanner_ = false;  // options_.scanner is ours (enumerate_readers), not the caller's
    HotplugCallback callback_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool rescan_requested_ = false;
    bool have_baseline_ = false;  // worker thread only
    std::vector<UsbReaderCandidate> current_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> scans_{0};
    std::atomic<std::uint64_t> enumerations_{0};
    std::optional<std::string> last_signature_;  // worker thread only: the bus at the last good scan

    std::mutex stop_mutex_;  // serialises stop() callers
    std::unique_ptr<LibusbContext> context_;
    int hotplug_handle_ = -1;  // libusb_hotplug_callback_handle, -1 when not registered
    std::thread worker_;
};

}  // namespace ccidkit::ccid::usb

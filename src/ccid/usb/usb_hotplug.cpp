#include "ccid/usb/usb_hotplug.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "ccid/logging.h"
#include "ccid/usb/libusb_context.h"
#include "ccid/usb/usb_bus_signature.h"
#include "ccid/usb/usb_reader_diff.h"

namespace ccidkit::ccid::usb {

namespace {

constexpr std::chrono::milliseconds kMinPollInterval{10};

int LIBUSB_CALL on_hotplug(libusb_context*, libusb_device*, libusb_hotplug_event event, void* user_data) {
    ccid::logger()->trace("usb: hotplug event {}", event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED ? "arrived" : "left");
    static_cast<HotplugMonitor*>(user_data)->rescan();
    return 0;  // stay registered
}

}  // namespace

HotplugMonitor::HotplugMonitor(HotplugOptions options, HotplugCallback callback)
    : options_(std::move(options)), callback_(std::move(callback)) {
    options_.poll_interval = std::max(options_.poll_interval, kMinPollInterval);
    default_scanner_ = !options_.scanner;
    if (default_scanner_) options_.scanner = [](const EnumerateOptions& o) { return enumerate_readers(o); };
    if (!options_.bus_signature && default_scanner_) options_.bus_signature = [] { return usb_bus_signature(); };
    if (options_.known) {
        current_ = std::move(*options_.known);
        options_.known.reset();
        have_baseline_ = true;
    }
}

std::expected<std::unique_ptr<HotplugMonitor>, TransportError> HotplugMonitor::start(HotplugOptions options,
                                                                                     HotplugCallback callback) {
    std::unique_ptr<HotplugMonitor> monitor(new HotplugMonitor(std::move(options), std::move(callback)));

    std::error_code no_throw;
    const bool udevd = std::filesystem::exists(monitor->options_.udev_control, no_throw);
    if (monitor->options_.mode == HotplugMode::Auto && !udevd) {
        ccid::logger()->debug("usb: no udev daemon ({} missing): libusb would see no hotplug events; polling",
                      monitor->options_.udev_control);
    }
    if (monitor->options_.mode == HotplugMode::Auto && udevd && libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) != 0) {
        auto context = LibusbContext::create(LibusbContext::Discovery::Enabled, LibusbContext::EventThread::Dedicated);
        if (context) {
            libusb_hotplug_callback_handle handle = -1;
            const int r = libusb_hotplug_register_callback(
                (*context)->get(), LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
                LIBUSB_HOTPLUG_NO_FLAGS, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
                on_hotplug, monitor.get(), &handle);
            if (r == LIBUSB_SUCCESS) {
                monitor->context_ = std::move(*context);
                monitor->hotplug_handle_ = handle;
                // Scans list the devices of this context (kept current by libusb's hotplug),
                // instead of a new context each time. The context outlives the worker (stop()).
                if (monitor->default_scanner_) {
                    monitor->options_.scanner = [ctx = monitor->context_->get()](const EnumerateOptions& o) {
                        return enumerate_readers_in(ctx, o);
                    };
                }
            } else {
                ccid::logger()->debug("usb: hotplug registration failed ({}); polling instead", libusb_error_name(r));
            }
        } else {
            ccid::logger()->debug("usb: no libusb context for hotplug ({}); polling instead", to_string(context.error()));
        }
    }
    ccid::logger()->debug("usb: reader monitor uses {}", monitor->uses_libusb_hotplug() ? "libusb hotplug" : "polling");

    try {
        monitor->worker_ = std::thread([m = monitor.get()] { m->run(); });
    } catch (const std::system_error& e) {
        ccid::logger()->debug("usb: cannot start the reader monitor thread: {}", e.what());
        monitor->release_libusb();
        return std::unexpected(TransportError::Io);
    }
    return monitor;
}

HotplugMonitor::~HotplugMonitor() { stop(); }

void HotplugMonitor::rescan() {
    std::lock_guard lock(mutex_);
    rescan_requested_ = true;
    wake_.notify_all();
}

std::vector<UsbReaderCandidate> HotplugMonitor::readers() const {
    std::lock_guard lock(mutex_);
    return current_;
}

void HotplugMonitor::release_libusb() {
    if (hotplug_handle_ >= 0) {
        libusb_hotplug_deregister_callback(context_->get(), hotplug_handle_);
        hotplug_handle_ = -1;
    }
    // Joins the event thread: a libusb callback that was running has returned after this.
    context_.reset();
}

void HotplugMonitor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_.store(true);
        wake_.notify_all();
    }
    if (worker_.joinable() && worker_.get_id() == std::this_thread::get_id()) return;  // from the callback
    std::lock_guard serial(stop_mutex_);
    if (worker_.joinable()) worker_.join();
    release_libusb();
}

void HotplugMonitor::run() {
    bool first = true;
    bool failed = false;
    while (!stopping_.load()) {
        bool asked = false;
        {
            std::unique_lock lock(mutex_);
            auto woken = [&] { return stopping_.load() || rescan_requested_; };
            if (first) {
                // Scan at once.
            } else if (uses_libusb_hotplug() && !failed) {
                wake_.wait(lock, woken);
            } else {
                wake_.wait_for(lock, options_.poll_interval, woken);
            }
            if (stopping_.load()) break;
            // Events that arrive from here on are covered by this scan or trigger the next one.
            asked = rescan_requested_;
            rescan_requested_ = false;
        }
        // Taken before the scan: a change during the scan shows at the next poll.
        std::optional<std::string> signature;
        if (options_.bus_signature && !uses_libusb_hotplug()) signature = options_.bus_signature();
        if (!first && !failed && !asked && signature && signature == last_signature_) {
            scans_.fetch_add(1);  // polled: nothing was plugged or unplugged
            continue;
        }
        scan_once(failed);
        last_signature_ = failed ? std::nullopt : signature;
        first = false;
    }
}

void HotplugMonitor::scan_once(bool& failed) {
    std::vector<UsbReaderCandidate> before = readers();
    EnumerateOptions enumerate;
    enumerate.is_vendor_class_reader = options_.is_vendor_class_reader;
    // Strings only for readers not seen yet: re-reading them on every poll would put control
    // transfers on readers that are busy.
    // The keys are captured by value: the options may outlive this scan (a scanner may keep them).
    std::set<ReaderKey> known;
    for (const UsbReaderCandidate& c : before) known.insert(key_of(c));
    enumerate.read_strings_for = [known = std::move(known)](const UsbReaderCandidate& c) {
        return known.count(key_of(c)) == 0;
    };
    enumerations_.fetch_add(1);
    auto scanned = options_.scanner(enumerate);
    if (!scanned) {
        // Keep the previous list: a failed scan must not look like every reader left.
        ccid::logger()->debug("usb: reader scan failed: {}", to_string(scanned.error()));
        failed = true;
        scans_.fetch_add(1);
        return;
    }
    failed = false;
    ReaderChanges changes = diff_readers(before, *scanned);
    {
        std::lock_guard lock(mutex_);
        current_ = std::move(changes.current);
    }
    scans_.fetch_add(1);  // after readers() shows the result
    // The first successful scan is the baseline (a failed first scan does not count).
    const bool baseline = !have_baseline_;
    have_baseline_ = true;
    if (baseline && !options_.report_present) return;
    if (!callback_) return;
    for (const UsbReaderCandidate& c : changes.removed) {
        if (stopping_.load()) return;
        callback_(HotplugEvent::Removed, c);
    }
    for (const UsbReaderCandidate& c : changes.added) {
        if (stopping_.load()) return;
        callback_(HotplugEvent::Added, c);
    }
}

}  // namespace ccidkit::ccid::usb

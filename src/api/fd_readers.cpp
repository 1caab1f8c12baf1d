#include "api/fd_readers.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "api/ccid_backend_provider.h"
#include "ccid/descriptor.h"
#include "ccid/logging.h"
#include "ccid/quirks_lookup.h"
#include "ccid/reader.h"
#include "ccid/usb/libusb_transport.h"

namespace ccidkit::api {
namespace {

// Linux's USB_DEVICE_MAJOR: /dev/bus/usb/BBB/DDD (Android's too).
constexpr unsigned kUsbDeviceMajor = 189;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

struct OpenedFdDevice {
    std::shared_ptr<CcidDevice> device;
    ccid::usb::UsbTransport* transport = nullptr;
};

std::expected<OpenedFdDevice, FdReaderError> open_fd_device(int fd, const std::function<void()>& on_change) {
    ccid::usb::FdOpenOptions options;
    options.is_vendor_class_reader = [](std::uint16_t v, std::uint16_t p, std::uint16_t b) {
        return ccid::is_vendor_class_reader(v, p, b);
    };
    auto transport = ccid::usb::open_transport_from_fd(fd, options);
    if (!transport) {
        ccid::logger()->warn("api: USB descriptor {}: cannot open: {}", fd, to_string(transport.error()));
        return std::unexpected(fd_error_from_transport(transport.error()));
    }
    const ccid::usb::UsbReaderCandidate candidate = (*transport)->reader();
    auto descriptor = ccid::decode_ccid_descriptor(candidate.class_descriptor);
    if (!descriptor) {
        ccid::logger()->warn("api: USB descriptor {}: unusable CCID descriptor: {}", fd, to_string(descriptor.error()));
        return std::unexpected(FdReaderError::NotAReader);
    }
    OpenedFdDevice opened;
    opened.transport = transport->get();
    ccid::ReaderOptions reader_options;
    reader_options.quirks = ccid::quirks_for(candidate.vendor_id, candidate.product_id, candidate.bcd_device);
    reader_options.bcd_device = candidate.bcd_device;
    // The descriptor was given to this process alone (a portal, a launcher): the claim is
    // kept, no hand-off to other processes.
    auto device = open_ccid_device(
        CcidDeviceSource{std::move(*transport), *descriptor, reader_options, identity_of_usb(candidate), false},
        on_change);
    if (!device) {
        ccid::logger()->warn("api: USB descriptor {}: {}", fd, device.error());
        return std::unexpected(FdReaderError::Unresponsive);
    }
    opened.device = std::move(*device);
    return opened;
}

}  // namespace

// What the descriptor is, before libusb sees it: a pipe or a regular file must get a clear
// answer, not whatever a usbfs ioctl on it happens to do.
std::expected<std::uint64_t, FdReaderError> usb_device_node(int fd) {
    if (fd < 0) return std::unexpected(FdReaderError::InvalidDescriptor);
    if (::fcntl(fd, F_GETFD) == -1) return std::unexpected(FdReaderError::NotOpen);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::unexpected(FdReaderError::NotOpen);
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != kUsbDeviceMajor)
        return std::unexpected(FdReaderError::NotUsbDevice);
    return static_cast<std::uint64_t>(st.st_rdev);
}

FdReaderError fd_error_from_transport(ccid::TransportError e) {
    switch (e) {
        case ccid::TransportError::NoDevice: return FdReaderError::Gone;
        case ccid::TransportError::Busy: return FdReaderError::Busy;
        case ccid::TransportError::Access: return FdReaderError::Access;
        case ccid::TransportError::NotSupported: return FdReaderError::NotAReader;
        default: return FdReaderError::Unresponsive;
    }
}

std::string_view to_string(FdReaderError e) {
    switch (e) {
        case FdReaderError::InvalidDescriptor: return "not a valid file descriptor number";
        case FdReaderError::NotOpen: return "no open file behind this descriptor";
        case FdReaderError::NotUsbDevice: return "not a USB device node (/dev/bus/usb/BBB/DDD)";
        case FdReaderError::NotAReader: return "the USB device has no usable CCID reader interface";
        case FdReaderError::Duplicate: return "this USB device is already a reader of the process";
        case FdReaderError::Busy: return "another program or driver holds the reader interface";
        case FdReaderError::Access: return "no permission on the USB device";
        case FdReaderError::Gone: return "the USB device is gone";
        case FdReaderError::Unresponsive: return "the reader did not answer its initialisation";
        case FdReaderError::Unknown: return "no reader was added from this descriptor";
    }
    return "unknown error";
}

FdList parse_usb_fd_list(std::string_view text) {
    FdList out;
    while (true) {
        const auto comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        int fd = -1;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), fd);
        if (item.empty()) {
            out.errors.push_back("empty entry (expected descriptor numbers such as \"3\" or \"3,4\")");
        } else if (ec == std::errc::result_out_of_range) {
            out.errors.push_back(fmt::format("'{}': descriptor number out of range", item));
        } else if (ec != std::errc() || end != item.data() + item.size()) {
            out.errors.push_back(fmt::format("'{}' is not a descriptor number", item));
        } else if (fd < 0) {
            out.errors.push_back(fmt::format("'{}': descriptor numbers are not negative", item));
        } else if (std::find(out.fds.begin(), out.fds.end(), fd) != out.fds.end()) {
            out.errors.push_back(fmt::format("descriptor {} is named twice", fd));
        } else {
            out.fds.push_back(fd);
        }
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

FdReaderSet::FdReaderSet(std::function<void()> on_change) : on_change_(std::move(on_change)) {}

FdReaderSet::~FdReaderSet() {
    std::vector<Entry> entries;
    {
        std::lock_guard lock(mutex_);
        entries.swap(entries_);
    }
    for (auto& e : entries) close_entry(e);
}

void FdReaderSet::close_entry(Entry& e) {
    e.device->mark_gone();
    e.device->stop();
    // The backends may outlive this entry (held by the SCard core until its next look at the
    // list); with the transport closed they answer ReaderGone without touching the descriptor.
    e.transport->close();
    e.closed = true;
}

std::expected<void, FdReaderError> FdReaderSet::add(int fd) {
    const auto node = usb_device_node(fd);
    if (!node) return std::unexpected(node.error());
    {
        std::lock_guard lock(mutex_);
        // Entries closed because their device left no longer hold their descriptor.
        std::erase_if(entries_, [](const Entry& e) { return e.closed; });
        for (const auto& e : entries_)
            if ((e.fd == fd || e.node == *node) && !e.device->gone()) return std::unexpected(FdReaderError::Duplicate);
    }
    auto opened = open_fd_device(fd, on_change_);
    if (!opened) return std::unexpected(opened.error());
    {
        std::lock_guard lock(mutex_);
        entries_.push_back(Entry{fd, *node, std::move(opened->device), opened->transport, false});
    }
    ccid::logger()->info("api: reader added from USB descriptor {}", fd);
    if (on_change_) on_change_();
    return {};
}

std::expected<void, FdReaderError> FdReaderSet::remove(int fd) {
    std::optional<Entry> removed;
    {
        std::lock_guard lock(mutex_);
        const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.fd == fd; });
        if (it == entries_.end()) return std::unexpected(FdReaderError::Unknown);
        removed = std::move(*it);
        entries_.erase(it);
    }
    // Even when backends() is closing it already: both calls are idempotent, and this one
    // returns only once the descriptor is out of use.
    close_entry(*removed);
    if (on_change_) on_change_();
    return {};
}

void FdReaderSet::add_from_environment() {
    const char* value = std::getenv(kUsbFdEnvVar);
    if (value == nullptr || *value == '\0') return;
    const FdList list = parse_usb_fd_list(value);
    // Printed even with logging off: the launcher misconfigured us, and otherwise the program
    // would only see "no readers".
    for (const auto& error : list.errors) fmt::print(stderr, "ccidkit: {}: {}; skipped\n", kUsbFdEnvVar, error);
    for (int fd : list.fds) {
        if (auto added = add(fd); !added)
            fmt::print(stderr, "ccidkit: {}: descriptor {}: {}; skipped\n", kUsbFdEnvVar, fd, to_string(added.error()));
    }
}

std::vector<std::shared_ptr<ReaderBackend>> FdReaderSet::backends() {
    std::vector<std::shared_ptr<CcidDevice>> present;
    std::vector<Entry*> to_close;
    std::unique_lock lock(mutex_);
    for (auto& e : entries_) {
        if (e.closed) continue;
        if (e.device->gone()) {
            to_close.push_back(&e);
        } else {
            present.push_back(e.device);
        }
    }
    // Closing joins the device's event thread, whose change callback may be running: not
    // under the lock. The entries stay in place (only add/remove/destructor erase, and they
    // also take the lock), so mark them first and close a copy of what close_entry needs.
    std::vector<Entry> closing;
    for (Entry* e : to_close) {
        closing.push_back(Entry{e->fd, e->node, e->device, e->transport, false});
        e->closed = true;
    }
    lock.unlock();
    for (auto& e : closing) {
        ccid::logger()->info("api: reader from USB descriptor {} is gone; descriptor released", e.fd);
        close_entry(e);
    }
    std::vector<std::shared_ptr<ReaderBackend>> out;
    for (const auto& d : present)
        for (auto& b : d->backends()) out.push_back(std::move(b));
    return out;
}

}  // namespace ccidkit::api

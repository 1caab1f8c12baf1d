// Readers handed over as an open usbfs file descriptor (Android UsbManager, the Flatpak USB
// portal, a privileged launcher): the application cannot open /dev/bus/usb itself, someone
// else did and passed the descriptor on. Reached through ccidkit_SCardAddReaderFromFd
// (include/PCSC/ccidkit_ext.h) and $CCIDKIT_USB_FD; documented in docs/API.md.
//
// Each descriptor becomes one CcidDevice (its first CCID interface, every slot of it), listed
// by the CcidProvider next to the enumerated readers under the same naming rules. No hotplug
// monitor watches such a device: its departure is seen by the device's own event thread
// (libusb NoDevice on the interrupt pipe or on any transfer), which marks it gone; from then
// on it is no longer listed, and its transport is closed at the next look at the list, so
// that the descriptor is not used any more.
//
// The descriptor stays the caller's: it is never closed here. It is used until remove() (or
// the device leaving, or the provider ending, i.e. process exit or library unload).
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/backend.h"
#include "api/ccid_backend.h"
#include "ccid/transport.h"

namespace ccidkit::ccid::usb {
class UsbTransport;
}

namespace ccidkit::api {

// "3" or "3,4": descriptors inherited from the launcher (read when the provider starts).
inline constexpr const char* kUsbFdEnvVar = "CCIDKIT_USB_FD";

enum class FdReaderError : std::uint8_t {
    InvalidDescriptor,  // negative number
    NotOpen,            // no open file behind the number
    NotUsbDevice,       // open, but not a usbfs device node (pipe, regular file, /dev/null...)
    NotAReader,         // a USB device without a (usable) CCID interface
    Duplicate,          // this device is already a reader of the process
    Busy,               // another program or driver holds the interface
    Access,             // no permission on the device
    Gone,               // the device left (or the descriptor became stale)
    Unresponsive,       // the device did not answer the CCID initialisation
    Unknown,            // remove(): no reader was added from this descriptor
};
std::string_view to_string(FdReaderError e);

// Checks that fd is an open usbfs device node (character device, major 189) before libusb
// sees it; returns its device number (st_rdev). InvalidDescriptor, NotOpen or NotUsbDevice.
std::expected<std::uint64_t, FdReaderError> usb_device_node(int fd);
// The FdReaderError a failed ccid::usb::open_transport_from_fd stands for.
FdReaderError fd_error_from_transport(ccid::TransportError e);

// The numbers of $CCIDKIT_USB_FD ("3", "3,4", blanks allowed around each). A bad entry (not a
// decimal number, negative, out of range, repeated) is reported in `errors`, one message
// each, and left out; the others are kept.
struct FdList {
    std::vector<int> fds;
    std::vector<std::string> errors;
};
FdList parse_usb_fd_list(std::string_view text);

// The readers of one provider that came from descriptors. Thread-safe.
class FdReaderSet {
public:
    // on_change: called when the list or a slot status changed (from a device's event thread
    // or from the caller's thread); must not call back into this set.
    explicit FdReaderSet(std::function<void()> on_change);
    ~FdReaderSet();  // stops and closes every device
    FdReaderSet(const FdReaderSet&) = delete;
    FdReaderSet& operator=(const FdReaderSet&) = delete;

    // Opens the device behind fd as a reader. Checks the descriptor first (fcntl/fstat), so a
    // pipe or a closed number never reaches libusb.
    std::expected<void, FdReaderError> add(int fd);
    // Stops using fd: the reader leaves the list, its handles answer "reader gone", and the
    // descriptor is no longer touched when this returns (the caller may close it).
    std::expected<void, FdReaderError> remove(int fd);
    // Opens every descriptor of $CCIDKIT_USB_FD; each problem gets one line on stderr
    // ("ccidkit: CCIDKIT_USB_FD: ...", even with logging off: a misconfiguration) and the
    // descriptor is skipped.
    void add_from_environment();

    // The slots of the devices still present. Devices found gone are dropped from the list
    // here, and their transports closed.
    std::vector<std::shared_ptr<ReaderBackend>> backends();

private:
    struct Entry {
        int fd = -1;
        std::uint64_t node = 0;  // st_rdev: the same device opened twice has the same node
        std::shared_ptr<CcidDevice> device;
        ccid::usb::UsbTransport* transport = nullptr;  // owned by the device's reader
        bool closed = false;
    };
    static void close_entry(Entry& e);

    std::function<void()> on_change_;
    std::mutex mutex_;
    std::vector<Entry> entries_;
};

}  // namespace ccidkit::api

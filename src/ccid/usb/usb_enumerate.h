// Lists the USB interfaces that may be CCID readers: interface class 0x0B, or vendor class 0xFF
// on devices the caller's predicate recognises. Each interface of a composite device is its own
// candidate.
#pragma once

#include <expected>
#include <functional>
#include <vector>

#include "ccid/transport.h"
#include "ccid/usb/usb_reader_candidate.h"

struct libusb_context;

namespace ccidkit::ccid::usb {

struct EnumerateOptions {
    VendorClassPredicate is_vendor_class_reader;  // may be empty: class 0x0B only
    // Open each device that has candidates to read its strings (best effort: a device that
    // cannot be opened keeps empty strings and strings_read = false).
    bool read_strings = true;
    // When set (and read_strings), only devices with a candidate for which this returns true
    // are opened — e.g. the hotplug monitor skips readers it already knows.
    std::function<bool(const UsbReaderCandidate&)> read_strings_for;
};

// Uses a fresh libusb context per call, so the list reflects the bus now even where no udev
// daemon keeps libusb's cached device list current. One unreadable device never fails the
// whole call: it is skipped (logged at debug level). Fails only when libusb itself cannot start
// or cannot list devices. Candidates come in libusb's device order, then interface order.
std::expected<std::vector<UsbReaderCandidate>, TransportError> enumerate_readers(const EnumerateOptions& options = {});
// The same on an existing context. With libusb's hotplug support the context keeps its device
// list current, so this reads no sysfs/udev data (libusb_init of a new context walks them all,
// which is slow on small machines and under emulation).
std::expected<std::vector<UsbReaderCandidate>, TransportError> enumerate_readers_in(libusb_context* ctx,
                                                                                    const EnumerateOptions& options);

}  // namespace ccidkit::ccid::usb

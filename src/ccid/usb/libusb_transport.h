// Opening a CCID reader interface through libusb, as a Transport. The only header above
// src/ccid/usb that the rest of ccidkit needs; it does not include libusb.h.
//
// Design (details in docs/design/usb.md): every transport owns its own libusb context, without
// an event thread. Each call submits an asynchronous libusb transfer and reaps its completion on
// its own thread (handling the context's events, or waiting while another call does; bulk and
// control calls take precedence over a waiting interrupt_in: libusb_transport_wait.h).
// cancel() calls libusb_cancel_transfer on whatever is in flight, so a blocked
// bulk_in/interrupt_in returns Cancelled as soon as the host controller gives the transfer
// back. Once the device is reported gone, every call returns NoDevice without touching libusb.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>

#include "ccid/transport.h"
#include "ccid/usb/usb_reader_candidate.h"

namespace ccidkit::ccid::usb {

struct TransportOptions {
    // Let libusb detach a kernel driver bound to the interface (and re-attach it on close).
    bool detach_kernel_driver = true;
    // Follow a bulk-OUT message that is a non-zero multiple of wMaxPacketSize with a
    // zero-length packet (USB 2.0 clause 5.8.3). A reader quirk may turn it off.
    bool zero_length_packets = true;
    // Claim the interface when opening. Off: the transport opens without it (another process
    // may hold it) and every transfer fails with Busy until claim() (Transport::claim());
    // release() gives it back. Processes sharing a reader hand it over (api/shared_device.h).
    bool claim_on_open = true;
};

// A Transport on a USB interface, with what enumeration knows about it.
class UsbTransport : public Transport {
public:
    // The interface as read from the device when it was opened (endpoints, class descriptor,
    // strings). For a transport opened from a file descriptor this is the only way to learn it.
    virtual const UsbReaderCandidate& reader() const = 0;

    // Cancels blocked calls (they return Cancelled), waits for them to return, releases the
    // interface and closes the device. Later calls return NoDevice; cancel() stays harmless.
    // Idempotent and thread-safe; the destructor calls it.
    virtual void close() = 0;

    // control_in/control_out (from Transport) address this interface: the recipient bits of
    // request_type are forced to "interface", the direction bit to the call's direction, and
    // wIndex to interface_number() (USB 2.0 clause 9.3.4); setup.index is ignored.
};

// Opens the candidate's interface and alternate setting. Fails with NoDevice when the device at
// that bus/address is gone or has another VID/PID (the address was reused), Busy when another
// program or driver holds the interface (only with claim_on_open), Access without permission.
std::expected<std::unique_ptr<UsbTransport>, TransportError> open_transport(const UsbReaderCandidate& candidate,
                                                                           const TransportOptions& options = {});

// Opens interface `interface_number` (first alternate setting, any class) of the device at
// bus/address. NotSupported when the device has no such interface.
std::expected<std::unique_ptr<UsbTransport>, TransportError> open_transport(std::uint8_t bus, std::uint8_t address,
                                                                           std::uint8_t interface_number,
                                                                           const TransportOptions& options = {});

struct FdOpenOptions {
    TransportOptions transport;
    // Pick this interface (any class); otherwise the first CCID (or predicate-approved vendor
    // class) interface of the active configuration.
    std::optional<std::uint8_t> interface_number;
    VendorClassPredicate is_vendor_class_reader;
};

// Opens a reader from a usbfs file descriptor that someone else opened (Android UsbManager,
// the xdg-desktop-portal USB portal, a privileged helper). No /dev/bus/usb or sysfs access is
// needed. The descriptor stays the caller's: it is never closed here, and must stay open until
// the transport is closed. Invalid descriptors fail cleanly (Io) without leaking anything.
std::expected<std::unique_ptr<UsbTransport>, TransportError> open_transport_from_fd(int fd,
                                                                                   const FdOpenOptions& options = {});

}  // namespace ccidkit::ccid::usb

// The one interface between the CCID layer and a USB device: bulk OUT/IN, interrupt IN and
// control transfers on one CCID interface. libusb lives behind it (src/ccid/usb/), and so do
// the device-side reader simulator and fault-injecting wrappers. Nothing above this header
// knows libusb.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "common/bytes.h"

namespace ccidkit::ccid {

enum class TransportError {
    Timeout,      // nothing (or not everything) arrived before the deadline
    NoDevice,     // the device is gone (unplugged, LIBUSB_ERROR_NO_DEVICE)
    Stall,        // endpoint halted (LIBUSB_ERROR_PIPE)
    Overflow,     // the device sent more than the buffer could take
    Busy,         // interface claimed by someone else
    Access,       // permission denied
    Cancelled,    // cancel() was called
    NotSupported, // e.g. no interrupt endpoint
    Io,           // any other transfer error
};

std::string_view to_string(TransportError e);

// USB SETUP packet fields for a control transfer (USB 2.0 clause 9.3).
struct ControlSetup {
    std::uint8_t request_type = 0;
    std::uint8_t request = 0;
    std::uint16_t value = 0;
    std::uint16_t index = 0;
};

using Millis = std::chrono::milliseconds;

class Transport {
public:
    virtual ~Transport() = default;

    // Sends one whole bulk-OUT message (the transport splits it into packets and adds a
    // zero-length packet when the message is a non-zero multiple of wMaxPacketSize).
    virtual std::expected<void, TransportError> bulk_out(ByteView message, Millis timeout) = 0;

    // Receives one bulk-IN transfer (ends at a short or zero-length packet, or when `buffer`
    // is full). Returns the number of bytes written into `buffer`.
    virtual std::expected<std::size_t, TransportError> bulk_in(std::span<std::uint8_t> buffer,
                                                               Millis timeout) = 0;

    // Receives one interrupt-IN transfer (RDR_to_PC_NotifySlotChange / HardwareError).
    virtual std::expected<std::size_t, TransportError> interrupt_in(std::span<std::uint8_t> buffer,
                                                                    Millis timeout) = 0;

    // Class/vendor control transfers on endpoint 0 addressed to this interface.
    virtual std::expected<std::size_t, TransportError> control_in(const ControlSetup& setup,
                                                                  std::span<std::uint8_t> buffer,
                                                                  Millis timeout) = 0;
    virtual std::expected<void, TransportError> control_out(const ControlSetup& setup, ByteView data,
                                                            Millis timeout) = 0;

    // Clears a halt on the bulk or interrupt endpoints after a stall.
    virtual std::expected<void, TransportError> clear_halt() = 0;

    virtual bool has_interrupt_in() const = 0;
    virtual std::uint16_t bulk_in_max_packet() const = 0;
    virtual std::uint8_t interface_number() const = 0;

    // Wakes every blocked call on this transport with TransportError::Cancelled. Thread-safe.
    virtual void cancel() = 0;

    // Said before a bulk_out whose reply will be read next, into a buffer of `length` bytes.
    // A transport may start that read now, so that the reply never waits for the host to ask
    // for it (on USB: the IN transfer is queued before the OUT one, and the host process wakes
    // once per command instead of twice). The next bulk_in returns what that read got, and its
    // errors. A read started this way and never collected is dropped by cancel(), release() and
    // close(). Default: nothing (every bulk_in reads when called).
    virtual void prepare_bulk_in(std::size_t /*length*/) {}

    // Exclusive use of the interface, with the rule of a USB interface claim: at most one
    // holder at a time across every process; bulk, interrupt and class control transfers of a
    // handle that does not hold the claim fail with Busy. Several processes share one reader by
    // handing the claim over (src/api/shared_device.h). Transports that cannot be shared are
    // always claimed: the defaults below.
    // claim(): Busy while someone else holds it; idempotent for the holder.
    virtual std::expected<void, TransportError> claim() { return {}; }
    // Gives the claim back (calls in flight on this handle should have returned first).
    virtual void release() {}
    virtual bool claimed() const { return true; }
};

}  // namespace ccidkit::ccid

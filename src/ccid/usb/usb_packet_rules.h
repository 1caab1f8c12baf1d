// Pure sizing rules for bulk and interrupt transfers: when a zero-length packet must follow a
// message, how big an IN request must be so that libusb never reports LIBUSB_ERROR_OVERFLOW for
// a well-behaved device, and how caller timeouts become libusb timeouts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ccidkit::ccid::usb {

// Upper bound for one libusb transfer made by this transport. libusb lengths are `int`; CCID
// messages are at most dwMaxCCIDMessageLength (65544 + 10 for extended APDU readers), so 1 MiB
// is far above any real message while keeping every allocation bounded.
inline constexpr std::size_t kMaxTransferBytes = std::size_t{1} << 20;

// USB 2.0 clause 5.8.3: a bulk transfer ends at a short packet. A message whose length is a
// non-zero multiple of wMaxPacketSize has no short packet, so a zero-length one must follow.
// max_packet == 0 (a broken descriptor) never asks for one.
bool needs_zero_length_packet(std::size_t length, std::uint16_t max_packet);

// Smallest multiple of max_packet that is >= length and >= max_packet (so that even an empty
// request can take one packet). max_packet == 0 returns length unchanged.
std::size_t round_up_to_packets(std::size_t length, std::uint16_t max_packet);

// How to receive into a caller buffer of `buffer_size` bytes. The host controller accepts
// whole packets only: if the request is not a multiple of wMaxPacketSize and the device sends a
// full packet, the kernel reports an overflow and the data are lost (libccid issue #161). So the
// request is rounded up and, when that exceeds the caller's buffer, an internal buffer is used;
// anything that then does not fit the caller's buffer is reported as Overflow.
struct InPlan {
    std::size_t request_length = 0;  // bytes asked from libusb (<= kMaxTransferBytes + max_packet)
    bool internal_buffer = false;    // true when request_length > buffer_size
};
InPlan plan_in_transfer(std::size_t buffer_size, std::uint16_t max_packet);

// libusb treats a timeout of 0 as "wait forever"; this transport never waits forever, so values
// <= 0 become 1 ms, and values beyond libusb's unsigned int range are capped.
unsigned int to_libusb_timeout(std::chrono::milliseconds timeout);

}  // namespace ccidkit::ccid::usb

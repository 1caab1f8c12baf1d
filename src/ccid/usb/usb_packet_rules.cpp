#include "ccid/usb/usb_packet_rules.h"

#include <algorithm>
#include <limits>

namespace ccidkit::ccid::usb {

bool needs_zero_length_packet(std::size_t length, std::uint16_t max_packet) {
    return max_packet != 0 && length != 0 && length % max_packet == 0;
}

std::size_t round_up_to_packets(std::size_t length, std::uint16_t max_packet) {
    if (max_packet == 0) return length;
    if (length <= max_packet) return max_packet;
    const std::size_t remainder = length % max_packet;
    if (remainder == 0) return length;
    const std::size_t pad = max_packet - remainder;
    // Saturate instead of wrapping; callers clamp to kMaxTransferBytes before this matters.
    if (length > std::numeric_limits<std::size_t>::max() - pad) return length - remainder;
    return length + pad;
}

InPlan plan_in_transfer(std::size_t buffer_size, std::uint16_t max_packet) {
    if (max_packet == 0) {
        // No packet size known (broken descriptor): ask for what fits, capped, and never for
        // nothing, so that a stray byte is reported as Overflow rather than read as nothing.
        if (buffer_size == 0) return {1, true};
        return {std::min(buffer_size, kMaxTransferBytes), false};
    }
    if (buffer_size >= kMaxTransferBytes) {
        // The caller's buffer is larger than we ever ask for: ask for the largest whole number
        // of packets within the cap (at least one), read straight into the caller's buffer.
        std::size_t n = kMaxTransferBytes - kMaxTransferBytes % max_packet;
        if (n == 0) n = max_packet;
        return {n, n > buffer_size};
    }
    const std::size_t n = round_up_to_packets(buffer_size, max_packet);
    return {n, n > buffer_size};
}

unsigned int to_libusb_timeout(std::chrono::milliseconds timeout) {
    const auto ms = timeout.count();
    if (ms <= 0) return 1;
    constexpr auto kMax = static_cast<long long>(std::numeric_limits<unsigned int>::max());
    return static_cast<unsigned int>(std::min<long long>(ms, kMax));
}

}  // namespace ccidkit::ccid::usb

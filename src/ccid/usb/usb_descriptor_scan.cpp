#include "ccid/usb/usb_descriptor_scan.h"

namespace ccidkit::ccid::usb {

std::optional<ByteView> find_descriptor(ByteView run, std::uint8_t type) {
    std::size_t offset = 0;
    // Every step advances by at least 2 bytes, so the loop ends within run.size() / 2 steps.
    while (run.size() - offset >= 2) {
        const std::size_t length = run[offset];
        if (length < 2 || length > run.size() - offset) return std::nullopt;
        if (run[offset + 1] == type) return run.subspan(offset, length);
        offset += length;
    }
    return std::nullopt;
}

}  // namespace ccidkit::ccid::usb

// Finding one descriptor in a run of concatenated USB descriptors (the "extra" bytes libusb
// keeps after an interface or endpoint descriptor). Each descriptor starts with bLength and
// bDescriptorType (USB 2.0 clause 9.5). The bytes come from the device, so they are untrusted.
#pragma once

#include <cstdint>
#include <optional>

#include "common/bytes.h"

namespace ccidkit::ccid::usb {

// bDescriptorType of the CCID class descriptor (CCID 1.1 section 5.1, "Smart Card Device Class
// Descriptor").
inline constexpr std::uint8_t kCcidClassDescriptorType = 0x21;

// Returns the first whole descriptor of `type` in `run` (all bLength bytes, header included).
// Stops at the first malformed entry: bLength < 2 (would never advance) or bLength running past
// the end of `run` (truncated). The result views into `run`.
std::optional<ByteView> find_descriptor(ByteView run, std::uint8_t type);

}  // namespace ccidkit::ccid::usb

// Decoding USB string descriptors (USB 2.0 clause 9.6.7): UTF-16LE text after a 2-byte header,
// and descriptor zero, which lists the supported LANGIDs. The bytes are untrusted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.h"

namespace ccidkit::ccid::usb {

// Type of a string descriptor.
inline constexpr std::uint8_t kStringDescriptorType = 0x03;

// Converts a string descriptor into UTF-8. Uses min(bLength, raw.size()) bytes; an odd trailing
// byte is ignored. Unpaired surrogates become U+FFFD, control characters become '?', NULs and
// trailing spaces are dropped (some readers pad their names). nullopt when the header is missing
// or bDescriptorType is not 0x03.
std::optional<std::string> decode_string_descriptor(ByteView raw);

// First LANGID of string descriptor zero, or nullopt when it lists none.
std::optional<std::uint16_t> first_language_id(ByteView raw);

}  // namespace ccidkit::ccid::usb

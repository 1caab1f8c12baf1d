// The CCID class descriptor (CCID Rev 1.1 section 5.1, table 5.1-1): 54 bytes that a reader
// puts after its interface descriptor (or, on some old readers, after its endpoints). This
// header holds the raw fields and the byte codec; descriptor_meaning.h turns fields into
// meaning and descriptor_checks.h says which values cannot be trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string_view>

#include "common/bytes.h"

namespace ccidkit::ccid {

inline constexpr std::size_t kCcidDescriptorLength = 54;
inline constexpr std::uint8_t kCcidDescriptorType = 0x21;
// Readers made before CCID 1.0 was final (and some vendor-class tokens) use 0xFF.
inline constexpr std::uint8_t kVendorCcidDescriptorType = 0xFF;

// Field names follow the specification so they can be matched against it and against lsusb.
// Clocks are in kHz and data rates in bit/s, as in the specification.
struct CcidDescriptor {
    std::uint8_t bLength = kCcidDescriptorLength;
    std::uint8_t bDescriptorType = kCcidDescriptorType;
    std::uint16_t bcdCCID = 0x0110;
    std::uint8_t bMaxSlotIndex = 0;
    std::uint8_t bVoltageSupport = 0x07;
    std::uint32_t dwProtocols = 0x00000003;
    std::uint32_t dwDefaultClock = 4000;
    std::uint32_t dwMaximumClock = 4000;
    std::uint8_t bNumClockSupported = 0;
    std::uint32_t dwDataRate = 10752;
    std::uint32_t dwMaxDataRate = 344086;
    std::uint8_t bNumDataRatesSupported = 0;
    std::uint32_t dwMaxIFSD = 254;
    std::uint32_t dwSynchProtocols = 0;
    std::uint32_t dwMechanical = 0;
    std::uint32_t dwFeatures = 0x000100BA;
    std::uint32_t dwMaxCCIDMessageLength = 271;
    std::uint8_t bClassGetResponse = 0xFF;
    std::uint8_t bClassEnvelope = 0xFF;
    std::uint16_t wLcdLayout = 0;
    std::uint8_t bPINSupport = 0;
    std::uint8_t bMaxCCIDBusySlots = 1;
    // Bytes after the 54 standard ones when bLength > 54 (kept, never interpreted).
    Bytes trailing;

    bool operator==(const CcidDescriptor&) const = default;
};

enum class DescriptorError {
    Truncated,   // fewer bytes available than the descriptor header or its bLength announce
    TooShort,    // bLength itself is below 54: not a complete CCID descriptor
    WrongType,   // bDescriptorType is neither 0x21 nor 0xFF
};

std::string_view to_string(DescriptorError e);

// Reads the fields of a class descriptor starting at its bLength byte. `raw` may hold more
// bytes than bLength (they are ignored). Never trusts a field: see check_descriptor().
std::expected<CcidDescriptor, DescriptorError> decode_ccid_descriptor(ByteView raw);

// Writes the descriptor: 54 bytes plus `trailing` (cut to fit in 255). bLength is always
// recomputed from that size so the output is self-consistent whatever the struct says.
Bytes encode_ccid_descriptor(const CcidDescriptor& d);

// Byte offsets of the fields (CCID 1.1 table 5.1-1); shared by codec and tests.
namespace ccid_offset {
inline constexpr std::size_t bLength = 0;
inline constexpr std::size_t bDescriptorType = 1;
inline constexpr std::size_t bcdCCID = 2;
inline constexpr std::size_t bMaxSlotIndex = 4;
inline constexpr std::size_t bVoltageSupport = 5;
inline constexpr std::size_t dwProtocols = 6;
inline constexpr std::size_t dwDefaultClock = 10;
inline constexpr std::size_t dwMaximumClock = 14;
inline constexpr std::size_t bNumClockSupported = 18;
inline constexpr std::size_t dwDataRate = 19;
inline constexpr std::size_t dwMaxDataRate = 23;
inline constexpr std::size_t bNumDataRatesSupported = 27;
inline constexpr std::size_t dwMaxIFSD = 28;
inline constexpr std::size_t dwSynchProtocols = 32;
inline constexpr std::size_t dwMechanical = 36;
inline constexpr std::size_t dwFeatures = 40;
inline constexpr std::size_t dwMaxCCIDMessageLength = 44;
inline constexpr std::size_t bClassGetResponse = 48;
inline constexpr std::size_t bClassEnvelope = 49;
inline constexpr std::size_t wLcdLayout = 50;
inline constexpr std::size_t bPINSupport = 52;
inline constexpr std::size_t bMaxCCIDBusySlots = 53;
}  // namespace ccid_offset

}  // namespace ccidkit::ccid

// PC/SC part 10 ("IFDs with Secure PIN Entry Capabilities") answers that the core builds from
// a ReaderDescription: the CM_IOCTL_GET_FEATURE_REQUEST list, FEATURE_IFD_PIN_PROPERTIES and
// FEATURE_GET_TLV_PROPERTIES. Control codes are those of libccid, so that applications which
// hard-code them keep working: SCARD_CTL_CODE(0x330000 + feature) for the class 2 features and
// SCARD_CTL_CODE(1) (IOCTL_SMARTCARD_VENDOR_IFD_EXCHANGE) for FEATURE_CCID_ESC_COMMAND.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "PCSC/reader.h"
#include "PCSC/winscard.h"
#include "api/backend.h"

namespace ccidkit::api::part10 {

inline constexpr DWORD kClass2IoctlMagic = 0x330000;
constexpr DWORD feature_control_code(std::uint8_t feature) {
    return SCARD_CTL_CODE(kClass2IoctlMagic + feature);
}
inline constexpr DWORD kVendorIfdExchange = SCARD_CTL_CODE(1);
// SCARD_CTL_CODE(3400) as Windows computes it; sent by applications running over RDP.
inline constexpr DWORD kWindowsGetFeatureRequest = 0x313520;

struct Feature {
    std::uint8_t tag = 0;  // FEATURE_*
    DWORD control_code = 0;
};

// The features the reader offers, in the order libccid lists them.
std::vector<Feature> features(const ReaderDescription& d);
// The feature a control code selects on this reader, if any.
std::optional<std::uint8_t> feature_of(const ReaderDescription& d, DWORD control_code);

// CM_IOCTL_GET_FEATURE_REQUEST: 6-byte records tag, 04, control code (big endian).
Bytes feature_request_answer(const ReaderDescription& d);
// PIN_PROPERTIES_STRUCTURE: wLcdLayout (little endian), bEntryValidationCondition, bTimeOut2.
Bytes pin_properties_answer(const ReaderDescription& d);
// Tag, length, little-endian value records (PCSCv2_PART10_PROPERTY_*).
Bytes tlv_properties_answer(const ReaderDescription& d);

}  // namespace ccidkit::api::part10

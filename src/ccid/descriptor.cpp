#include "ccid/descriptor.h"

#include <algorithm>

namespace ccidkit::ccid {

std::string_view to_string(DescriptorError e) {
    switch (e) {
        case DescriptorError::Truncated:
            return "CCID class descriptor truncated: fewer bytes than its header or bLength announce";
        case DescriptorError::TooShort:
            return "CCID class descriptor too short: bLength is below the 54 bytes of CCID 1.1 section 5.1";
        case DescriptorError::WrongType:
            return "not a CCID class descriptor: bDescriptorType is neither 0x21 nor 0xFF";
    }
    return "unknown descriptor error";
}

std::expected<CcidDescriptor, DescriptorError> decode_ccid_descriptor(ByteView raw) {
    namespace off = ccid_offset;
    if (raw.size() < 2) return std::unexpected(DescriptorError::Truncated);
    const std::uint8_t length = raw[off::bLength];
    const std::uint8_t type = raw[off::bDescriptorType];
    if (type != kCcidDescriptorType && type != kVendorCcidDescriptorType)
        return std::unexpected(DescriptorError::WrongType);
    if (length < kCcidDescriptorLength) return std::unexpected(DescriptorError::TooShort);
    if (raw.size() < length) return std::unexpected(DescriptorError::Truncated);

    const std::uint8_t* p = raw.data();
    CcidDescriptor d;
    d.bLength = length;
    d.bDescriptorType = type;
    d.bcdCCID = load_le16(p + off::bcdCCID);
    d.bMaxSlotIndex = p[off::bMaxSlotIndex];
    d.bVoltageSupport = p[off::bVoltageSupport];
    d.dwProtocols = load_le32(p + off::dwProtocols);
    d.dwDefaultClock = load_le32(p + off::dwDefaultClock);
    d.dwMaximumClock = load_le32(p + off::dwMaximumClock);
    d.bNumClockSupported = p[off::bNumClockSupported];
    d.dwDataRate = load_le32(p + off::dwDataRate);
    d.dwMaxDataRate = load_le32(p + off::dwMaxDataRate);
    d.bNumDataRatesSupported = p[off::bNumDataRatesSupported];
    d.dwMaxIFSD = load_le32(p + off::dwMaxIFSD);
    d.dwSynchProtocols = load_le32(p + off::dwSynchProtocols);
    d.dwMechanical = load_le32(p + off::dwMechanical);
    d.dwFeatures = load_le32(p + off::dwFeatures);
    d.dwMaxCCIDMessageLength = load_le32(p + off::dwMaxCCIDMessageLength);
    d.bClassGetResponse = p[off::bClassGetResponse];
    d.bClassEnvelope = p[off::bClassEnvelope];
    d.wLcdLayout = load_le16(p + off::wLcdLayout);
    d.bPINSupport = p[off::bPINSupport];
    d.bMaxCCIDBusySlots = p[off::bMaxCCIDBusySlots];
    d.trailing.assign(p + kCcidDescriptorLength, p + length);
    return d;
}

Bytes encode_ccid_descriptor(const CcidDescriptor& d) {
    namespace off = ccid_offset;
    // bLength is one byte: at most 255 - 54 trailing bytes can be represented.
    const std::size_t trailing = std::min<std::size_t>(d.trailing.size(), 0xFF - kCcidDescriptorLength);
    Bytes out(kCcidDescriptorLength + trailing, 0);
    std::uint8_t* p = out.data();
    p[off::bLength] = static_cast<std::uint8_t>(out.size());
    p[off::bDescriptorType] = d.bDescriptorType;
    store_le16(p + off::bcdCCID, d.bcdCCID);
    p[off::bMaxSlotIndex] = d.bMaxSlotIndex;
    p[off::bVoltageSupport] = d.bVoltageSupport;
    store_le32(p + off::dwProtocols, d.dwProtocols);
    store_le32(p + off::dwDefaultClock, d.dwDefaultClock);
    store_le32(p + off::dwMaximumClock, d.dwMaximumClock);
    p[off::bNumClockSupported] = d.bNumClockSupported;
    store_le32(p + off::dwDataRate, d.dwDataRate);
    store_le32(p + off::dwMaxDataRate, d.dwMaxDataRate);
    p[off::bNumDataRatesSupported] = d.bNumDataRatesSupported;
    store_le32(p + off::dwMaxIFSD, d.dwMaxIFSD);
    store_le32(p + off::dwSynchProtocols, d.dwSynchProtocols);
    store_le32(p + off::dwMechanical, d.dwMechanical);
    store_le32(p + off::dwFeatures, d.dwFeatures);
    store_le32(p + off::dwMaxCCIDMessageLength, d.dwMaxCCIDMessageLength);
    p[off::bClassGetResponse] = d.bClassGetResponse;
    p[off::bClassEnvelope] = d.bClassEnvelope;
    store_le16(p + off::wLcdLayout, d.wLcdLayout);
    p[off::bPINSupport] = d.bPINSupport;
    p[off::bMaxCCIDBusySlots] = d.bMaxCCIDBusySlots;
    std::copy_n(d.trailing.begin(), trailing, out.begin() + kCcidDescriptorLength);
    return out;
}

}  // namespace ccidkit::ccid

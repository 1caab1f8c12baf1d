// Walks a whole USB configuration descriptor (the wTotalLength bytes returned by
// GET_DESCRIPTOR(CONFIGURATION), USB 2.0 section 9.6.3) into interfaces, alternate settings and
// endpoints, keeping every class-specific descriptor as "extra" bytes attached to the
// descriptor it follows, the way libusb does. The CCID class descriptor is one of those
// extras: usb_config_ccid.h finds it. Hostile input cannot make it loop or over-read.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace ccidkit::ccid {

inline constexpr std::uint8_t kUsbDescriptorConfiguration = 0x02;
inline constexpr std::uint8_t kUsbDescriptorInterface = 0x04;
inline constexpr std::uint8_t kUsbDescriptorEndpoint = 0x05;
inline constexpr std::uint8_t kUsbConfigurationLength = 9;
inline constexpr std::uint8_t kUsbInterfaceLength = 9;
inline constexpr std::uint8_t kUsbEndpointLength = 7;

enum class UsbTransferType : std::uint8_t { Control = 0, Isochronous = 1, Bulk = 2, Interrupt = 3 };

struct UsbEndpoint {
    std::uint8_t bEndpointAddress = 0;
    std::uint8_t bmAttributes = 0;
    std::uint16_t wMaxPacketSize = 0;
    std::uint8_t bInterval = 0;
    Bytes extra;  // descriptors after this endpoint, up to the next endpoint or interface

    bool is_in() const { return (bEndpointAddress & 0x80) != 0; }
    UsbTransferType transfer_type() const { return static_cast<UsbTransferType>(bmAttributes & 0x03); }
    bool operator==(const UsbEndpoint&) const = default;
};

struct UsbAltSetting {
    std::uint8_t bInterfaceNumber = 0;
    std::uint8_t bAlternateSetting = 0;
    std::uint8_t bNumEndpoints = 0;  // as declared; `endpoints` holds what was actually found
    std::uint8_t bInterfaceClass = 0;
    std::uint8_t bInterfaceSubClass = 0;
    std::uint8_t bInterfaceProtocol = 0;
    std::uint8_t iInterface = 0;
    Bytes extra;  // class-specific descriptors between the interface and its first endpoint
    std::vector<UsbEndpoint> endpoints;

    bool operator==(const UsbAltSetting&) const = default;
};

struct UsbInterface {
    std::uint8_t number = 0;
    std::vector<UsbAltSetting> alt_settings;  // in descriptor order

    bool operator==(const UsbInterface&) const = default;
};

struct UsbConfiguration {
    std::uint16_t wTotalLength = 0;
    std::uint8_t bNumInterfaces = 0;
    std::uint8_t bConfigurationValue = 1;
    std::uint8_t iConfiguration = 0;
    std::uint8_t bmAttributes = 0x80;
    std::uint8_t bMaxPower = 50;
    Bytes extra;  // descriptors before the first interface (interface associations, ...)
    std::vector<UsbInterface> interfaces;  // in order of first appearance
    // Oddities that were tolerated: wTotalLength not matching the bytes, endpoint count not
    // matching bNumEndpoints, endpoint outside any interface, repeated alternate setting.
    std::vector<std::string> notes;
};

enum class UsbConfigError {
    NotAConfiguration,    // first descriptor is not a 9-byte configuration descriptor
    BadDescriptorLength,  // a descriptor with bLength 0 or 1 (the walk could not advance)
    Truncated,            // a descriptor runs past the end of the data
    InterfaceTooShort,    // interface descriptor with bLength < 9
    EndpointTooShort,     // endpoint descriptor with bLength < 7
    TooLarge,             // encode: more than 65535 bytes, or more than 255 interfaces/endpoints
};

std::string_view to_string(UsbConfigError e);

std::expected<UsbConfiguration, UsbConfigError> parse_usb_configuration(ByteView raw);

// Inverse of parse (for the simulator): wTotalLength, bNumInterfaces and every bNumEndpoints
// are recomputed from the content; `notes` is not encoded.
std::expected<Bytes, UsbConfigError> encode_usb_configuration(const UsbConfiguration& config);

// Splits an extra blob into its descriptors. A last descriptor whose bLength runs past the end
// is returned cut at the end (so a parser can report it truncated); bLength < 2 stops the walk.
std::vector<ByteView> split_descriptors(ByteView extra);

}  // namespace ccidkit::ccid

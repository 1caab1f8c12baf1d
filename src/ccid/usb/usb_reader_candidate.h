// What enumeration learns about one USB interface that may be a CCID reader. Plain data, no
// libusb types: the CCID layer, the hotplug monitor and the reader naming use it as is.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace ccidkit::ccid::usb {

// bInterfaceClass values (USB-IF class codes).
inline constexpr std::uint8_t kCcidInterfaceClass = 0x0B;
inline constexpr std::uint8_t kVendorInterfaceClass = 0xFF;

// Says whether a vendor-class (0xFF) interface of this device is a known CCID reader; the
// reader quirks table supplies it. Arguments: idVendor, idProduct, bcdDevice.
using VendorClassPredicate =
    std::function<bool(std::uint16_t vendor_id, std::uint16_t product_id, std::uint16_t bcd_device)>;

struct UsbEndpoint {
    std::uint8_t address = 0;         // bEndpointAddress, direction bit included
    std::uint16_t max_packet_size = 0;  // wMaxPacketSize bits 10..0
    friend bool operator==(const UsbEndpoint&, const UsbEndpoint&) = default;
};

// Where the CCID class descriptor was found. Some readers (O2Micro OZ776, REINER SCT) put it
// after the endpoint descriptors instead of right after the interface descriptor.
enum class ClassDescriptorLocation { None, Interface, Endpoint };

struct UsbReaderCandidate {
    // Device.
    std::uint8_t bus = 0;
    std::uint8_t address = 0;
    std::vector<std::uint8_t> port_path;  // hub port numbers from the root; stable across re-plug
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;
    std::string manufacturer;  // empty when the device has none or could not be opened
    std::string product;
    std::string serial_number;
    bool strings_read = false;  // true when the device was opened to read its strings
    std::uint8_t configuration_value = 0;

    // Interface.
    std::uint8_t interface_number = 0;
    std::uint8_t alternate_setting = 0;
    std::uint8_t interface_class = 0;
    std::uint8_t interface_subclass = 0;
    std::uint8_t interface_protocol = 0;  // 0 = CCID bulk; 1, 2 = ICCD versions A, B (control pipe)
    std::string interface_name;
    std::optional<UsbEndpoint> bulk_in;
    std::optional<UsbEndpoint> bulk_out;
    std::optional<UsbEndpoint> interrupt_in;

    // Raw CCID class descriptor (bDescriptorType 0x21), parsed elsewhere; empty when absent.
    Bytes class_descriptor;
    ClassDescriptorLocation class_descriptor_location = ClassDescriptorLocation::None;
};

// sysfs-style location, stable while the reader stays in the same port:
// "BUS-PORT.PORT:CONFIG.INTERFACE" (e.g. "1-1.4:1.0"). Without a port path (e.g. a device
// opened from a file descriptor) it falls back to "BUS-@ADDRESS:CONFIG.INTERFACE".
std::string location_name(const UsbReaderCandidate& candidate);

// Identity of one plugged-in interface: a re-plug gets a new device address, so it is a new
// reader even in the same port.
struct ReaderKey {
    std::uint8_t bus = 0;
    std::uint8_t address = 0;
    std::uint8_t interface_number = 0;
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    friend auto operator<=>(const ReaderKey&, const ReaderKey&) = default;
};
ReaderKey key_of(const UsbReaderCandidate& candidate);

}  // namespace ccidkit::ccid::usb

// Finds the smart-card reader interfaces of a USB configuration and their CCID class
// descriptors: class 0x0B interfaces (CCID Rev 1.1 section 4.3), and vendor-class (0xFF)
// interfaces that carry a CCID-shaped descriptor (old Gemplus/SCM/Dell/MySmartPad readers).
// The descriptor is looked for after the interface descriptor and, failing that, after each
// endpoint, where O2Micro OZ776, REINER SCT and others put it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "ccid/usb_config.h"
#include "common/bytes.h"

namespace ccidkit::ccid {

inline constexpr std::uint8_t kUsbClassCcid = 0x0B;
inline constexpr std::uint8_t kUsbClassVendor = 0xFF;

enum class CcidDescriptorPlace {
    Missing,         // a class 0x0B interface without any class descriptor
    InterfaceExtra,  // after the interface descriptor, as CCID 1.1 section 5.1 says
    EndpointExtra,   // after one of the endpoint descriptors
};

// bInterfaceProtocol of a CCID-class interface (CCID 1.1 table 4.3-1, ICCD rev 1.0).
enum class CcidInterfaceProtocol { BulkCcid, IccdVersionA, IccdVersionB, Unknown };

struct CcidEndpointRef {
    std::uint8_t address = 0;
    std::uint16_t max_packet_size = 0;
    bool operator==(const CcidEndpointRef&) const = default;
};

struct CcidInterfaceInfo {
    std::uint8_t interface_number = 0;
    std::uint8_t alternate_setting = 0;
    std::uint8_t interface_class = 0;
    std::uint8_t interface_subclass = 0;
    std::uint8_t interface_protocol = 0;
    std::uint8_t string_index = 0;  // iInterface
    CcidInterfaceProtocol protocol = CcidInterfaceProtocol::BulkCcid;
    CcidDescriptorPlace place = CcidDescriptorPlace::Missing;
    std::size_t endpoint_index = 0;  // which endpoint's extra held it (EndpointExtra only)
    Bytes descriptor;                // class descriptor bytes as found (cut if bLength overran)
    std::optional<CcidEndpointRef> bulk_in, bulk_out, interrupt_in;  // first of each kind
};

// Every reader interface of the configuration, one per interface number (the first alternate
// setting that qualifies), in descriptor order.
std::vector<CcidInterfaceInfo> find_ccid_interfaces(const UsbConfiguration& config);

// The CCID class descriptor inside an extra blob, if any. For class 0x0B any descriptor of
// type 0x21 counts (a short one is reported later by the parser); otherwise it must also be
// at least 54 bytes long ("CCID-shaped"), and type 0xFF is accepted too.
std::optional<ByteView> find_class_descriptor(ByteView extra, std::uint8_t interface_class);

}  // namespace ccidkit::ccid

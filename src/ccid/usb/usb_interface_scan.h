// Picks the CCID reader interfaces out of a parsed configuration descriptor. Internal to
// src/ccid/usb (it takes libusb's structures); pure otherwise, so tests feed it hand-made
// descriptors.
#pragma once

#include <libusb.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "ccid/usb/usb_reader_candidate.h"

namespace ccidkit::ccid::usb {

struct DeviceIds {
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;
};

// Which interfaces qualify.
struct InterfaceFilter {
    // Empty: only class 0x0B. Otherwise vendor class 0xFF too, when it returns true.
    VendorClassPredicate is_vendor_class_reader;
    // Explicit selection (a request by number): when either is set, an alternate setting
    // qualifies when it matches the given interface number / alternate setting, whatever its
    // class.
    std::optional<std::uint8_t> only_interface;
    std::optional<std::uint8_t> only_alternate_setting;
};

// One candidate per qualifying interface (composite devices yield several), using its first
// qualifying alternate setting. Fills the interface fields, configuration_value and the device
// ids; bus/address/ports/strings are the caller's job. Null pointers and negative counts from a
// broken descriptor are skipped, never dereferenced. `interface_string_index` receives each
// candidate's iInterface, in the same order.
std::vector<UsbReaderCandidate> find_reader_interfaces(const libusb_config_descriptor& config,
                                                       const DeviceIds& ids,
                                                       const InterfaceFilter& filter,
                                                       std::vector<std::uint8_t>* interface_string_index = nullptr);

}  // namespace ccidkit::ccid::usb

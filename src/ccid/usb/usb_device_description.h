// Reads what a libusb_device says about its reader interfaces. Internal to src/ccid/usb; shared
// by enumeration and by the open functions (which re-read the descriptors rather than trust a
// possibly stale candidate).
#pragma once

#include <libusb.h>

#include <cstdint>
#include <expected>
#include <span>
#include <vector>

#include "ccid/transport.h"
#include "ccid/usb/usb_interface_scan.h"

namespace ccidkit::ccid::usb {

struct DeviceReaders {
    std::vector<UsbReaderCandidate> candidates;
    std::vector<std::uint8_t> interface_string_index;  // iInterface of each candidate
    std::uint8_t manufacturer_index = 0;                // iManufacturer, iProduct, iSerialNumber
    std::uint8_t product_index = 0;
    std::uint8_t serial_index = 0;
};

// Device descriptor + active configuration (configuration index 0 when the device is not
// configured) → candidates with bus, address and port path filled in; strings not read.
std::expected<DeviceReaders, TransportError> describe_device(libusb_device* device, const InterfaceFilter& filter);

// Best effort: fills manufacturer/product/serial/interface names through an open handle and
// sets strings_read. Gives up on the remaining strings after the first timeout, so a wedged
// device costs one control-transfer timeout, not one per string.
void read_device_strings(libusb_device_handle* handle, DeviceReaders& readers);

}  // namespace ccidkit::ccid::usb

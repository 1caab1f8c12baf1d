#include "ccid/usb/usb_device_description.h"

#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "ccid/logging.h"
#include "ccid/usb/usb_error.h"
#include "ccid/usb/usb_strings.h"

namespace ccidkit::ccid::usb {

namespace {

struct ConfigDeleter {
    void operator()(libusb_config_descriptor* c) const { libusb_free_config_descriptor(c); }
};
using ConfigPtr = std::unique_ptr<libusb_config_descriptor, ConfigDeleter>;

std::expected<ConfigPtr, int> load_config(libusb_device* device) {
    libusb_config_descriptor* raw = nullptr;
    int r = libusb_get_active_config_descriptor(device, &raw);
    if (r == LIBUSB_ERROR_NOT_FOUND) r = libusb_get_config_descriptor(device, 0, &raw);  // unconfigured
    if (r != LIBUSB_SUCCESS) return std::unexpected(r);
    return ConfigPtr(raw);
}

// USB string descriptors are at most 255 bytes (bLength is one byte).
using StringBuffer = std::array<unsigned char, 255>;

// Returns the string, or nullopt when reading failed; *timed_out tells why.
std::optional<std::string> read_string(libusb_device_handle* handle, std::uint8_t index, std::uint16_t language,
                                       bool* timed_out) {
    StringBuffer buffer{};
    const int r = libusb_get_string_descriptor(handle, index, language, buffer.data(), static_cast<int>(buffer.size()));
    if (r < 0) {
        *timed_out = r == LIBUSB_ERROR_TIMEOUT;
        ccid::logger()->trace("usb: string descriptor {} unreadable: {}", index, libusb_error_name(r));
        return std::nullopt;
    }
    return decode_string_descriptor(ByteView(buffer.data(), static_cast<std::size_t>(r)));
}

}  // namespace

std::expected<DeviceReaders, TransportError> describe_device(libusb_device* device, const InterfaceFilter& filter) {
    libusb_device_descriptor dd{};
    int r = libusb_get_device_descriptor(device, &dd);
    if (r != LIBUSB_SUCCESS) return std::unexpected(from_libusb_error(r));
    auto config = load_config(device);
    if (!config) return std::unexpected(from_libusb_error(config.error()));

    DeviceReaders out;
    out.manufacturer_index = dd.iManufacturer;
    out.product_index = dd.iProduct;
    out.serial_index = dd.iSerialNumber;
    const DeviceIds ids{dd.idVendor, dd.idProduct, dd.bcdDevice};
    out.candidates = find_reader_interfaces(**config, ids, filter, &out.interface_string_index);
    if (out.candidates.empty()) return out;

    // USB 3.0 allows up to 7 tiers of hubs below the root port.
    std::array<std::uint8_t, 7> ports{};
    const int depth = libusb_get_port_numbers(device, ports.data(), static_cast<int>(ports.size()));
    for (UsbReaderCandidate& c : out.candidates) {
        c.bus = libusb_get_bus_number(device);
        c.address = libusb_get_device_address(device);
        if (depth > 0) c.port_path.assign(ports.begin(), ports.begin() + depth);
    }
    return out;
}

void read_device_strings(libusb_device_handle* handle, DeviceReaders& readers) {
    bool timed_out = false;
    StringBuffer buffer{};
    // String descriptor 0 lists the languages (USB 2.0 clause 9.6.7).
    const int r = libusb_get_string_descriptor(handle, 0, 0, buffer.data(), static_cast<int>(buffer.size()));
    std::optional<std::uint16_t> language;
    if (r >= 0) language = first_language_id(ByteView(buffer.data(), static_cast<std::size_t>(r)));
    for (UsbReaderCandidate& c : readers.candidates) c.strings_read = true;
    if (!language) {
        ccid::logger()->trace("usb: device lists no string language ({})", r < 0 ? libusb_error_name(r) : "empty");
        return;
    }

    auto fetch = [&](std::uint8_t index) -> std::string {
        if (index == 0 || timed_out) return {};
        return read_string(handle, index, *language, &timed_out).value_or(std::string{});
    };
    const std::string manufacturer = fetch(readers.manufacturer_index);
    const std::string product = fetch(readers.product_index);
    const std::string serial = fetch(readers.serial_index);
    for (std::size_t i = 0; i < readers.candidates.size(); ++i) {
        UsbReaderCandidate& c = readers.candidates[i];
        c.manufacturer = manufacturer;
        c.product = product;
        c.serial_number = serial;
        if (i < readers.interface_string_index.size()) c.interface_name = fetch(readers.interface_string_index[i]);
    }
}

}  // namespace ccidkit::ccid::usb

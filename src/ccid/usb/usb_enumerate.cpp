#include "ccid/usb/usb_enumerate.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ccid/logging.h"
#include "ccid/usb/libusb_context.h"
#include "ccid/usb/usb_device_description.h"
#include "ccid/usb/usb_error.h"

namespace ccidkit::ccid::usb {

namespace {

struct DeviceListDeleter {
    void operator()(libusb_device** list) const { libusb_free_device_list(list, 1); }
};

bool wants_strings(const EnumerateOptions& options, const DeviceReaders& readers) {
    if (!options.read_strings) return false;
    if (!options.read_strings_for) return true;
    return std::any_of(readers.candidates.begin(), readers.candidates.end(), options.read_strings_for);
}

}  // namespace

std::expected<std::vector<UsbReaderCandidate>, TransportError> enumerate_readers(const EnumerateOptions& options) {
    auto ctx = LibusbContext::create(LibusbContext::Discovery::Enabled, LibusbContext::EventThread::None);
    if (!ctx) return std::unexpected(ctx.error());
    return enumerate_readers_in((*ctx)->get(), options);
}

std::expected<std::vector<UsbReaderCandidate>, TransportError> enumerate_readers_in(libusb_context* ctx,
                                                                                    const EnumerateOptions& options) {
    libusb_device** raw = nullptr;
    const ssize_t count = libusb_get_device_list(ctx, &raw);
    if (count < 0) {
        ccid::logger()->debug("usb: libusb_get_device_list failed: {}", libusb_error_name(static_cast<int>(count)));
        return std::unexpected(from_libusb_error(static_cast<int>(count)));
    }
    const std::unique_ptr<libusb_device*, DeviceListDeleter> list(raw);

    InterfaceFilter filter;
    filter.is_vendor_class_reader = options.is_vendor_class_reader;
    std::vector<UsbReaderCandidate> out;
    for (ssize_t i = 0; i < count; ++i) {
        libusb_device* device = list.get()[i];
        auto readers = describe_device(device, filter);
        if (!readers) {
            ccid::logger()->debug("usb: skipping device {}:{}: {}", libusb_get_bus_number(device),
                          libusb_get_device_address(device), to_string(readers.error()));
            continue;
        }
        if (readers->candidates.empty()) continue;
        if (wants_strings(options, *readers)) {
            libusb_device_handle* handle = nullptr;
            const int r = libusb_open(device, &handle);
            if (r == LIBUSB_SUCCESS) {
                read_device_strings(handle, *readers);
                libusb_close(handle);
            } else {
                ccid::logger()->debug("usb: cannot open {}:{} for its strings: {}", libusb_get_bus_number(device),
                              libusb_get_device_address(device), libusb_error_name(r));
            }
        }
        for (UsbReaderCandidate& c : readers->candidates) {
            ccid::logger()->trace("usb: reader candidate {} {:04x}:{:04x} interface {}", location_name(c), c.vendor_id,
                          c.product_id, c.interface_number);
            out.push_back(std::move(c));
        }
    }
    return out;
}

}  // namespace ccidkit::ccid::usb

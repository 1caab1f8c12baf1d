#include "ccid/usb/libusb_transport.h"

#include <spdlog/spdlog.h>

#include <cstdint>

#include "ccid/logging.h"
#include "ccid/usb/libusb_context.h"
#include "ccid/usb/libusb_transport_impl.h"
#include "ccid/usb/usb_device_description.h"
#include "ccid/usb/usb_error.h"

namespace ccidkit::ccid::usb {

namespace {

using OpenResult = std::expected<std::unique_ptr<UsbTransport>, TransportError>;

// Closes the handle unless ownership moved on.
class HandleGuard {
public:
    explicit HandleGuard(libusb_device_handle* h) : handle_(h) {}
    ~HandleGuard() {
        if (handle_ != nullptr) libusb_close(handle_);
    }
    HandleGuard(const HandleGuard&) = delete;
    HandleGuard& operator=(const HandleGuard&) = delete;
    libusb_device_handle* get() const { return handle_; }
    libusb_device_handle* release() { return std::exchange(handle_, nullptr); }

private:
    libusb_device_handle* handle_;
};

OpenResult fail(std::string_view step, int code) {
    ccid::logger()->debug("usb: {} failed: {}", step, libusb_error_name(code));
    return std::unexpected(from_libusb_error(code));
}

// Claims the interface and wraps everything into a transport, taking `context` and `handle`
// only on success. On failure the caller's locals clean up: the handle guard is declared after
// the context, so the handle is closed before libusb_exit.
OpenResult claim(std::unique_ptr<LibusbContext>& context, HandleGuard& handle, UsbReaderCandidate reader,
                 const TransportOptions& options) {
    if (options.detach_kernel_driver) {
        // Not supported on every platform (and pointless there): not an error.
        const int r = libusb_set_auto_detach_kernel_driver(handle.get(), 1);
        if (r != LIBUSB_SUCCESS) ccid::logger()->trace("usb: auto-detach unavailable: {}", libusb_error_name(r));
    }
    if (!options.claim_on_open) {
        ccid::logger()->debug("usb: opened reader {} {:04x}:{:04x} interface {} (not claimed)", location_name(reader),
                      reader.vendor_id, reader.product_id, reader.interface_number);
        return std::make_unique<LibusbTransport>(std::move(context), handle.release(), std::move(reader), options,
                                                 false);
    }
    int r = libusb_claim_interface(handle.get(), reader.interface_number);
    if (r != LIBUSB_SUCCESS) return fail("claim_interface", r);
    if (reader.alternate_setting != 0) {
        r = libusb_set_interface_alt_setting(handle.get(), reader.interface_number, reader.alternate_setting);
        if (r != LIBUSB_SUCCESS) {
            libusb_release_interface(handle.get(), reader.interface_number);
            return fail("set_interface_alt_setting", r);
        }
    }
    ccid::logger()->debug("usb: opened reader {} {:04x}:{:04x} interface {}", location_name(reader), reader.vendor_id,
                  reader.product_id, reader.interface_number);
    return std::make_unique<LibusbTransport>(std::move(context), handle.release(), std::move(reader), options);
}

struct DeviceListDeleter {
    void operator()(libusb_device** list) const { libusb_free_device_list(list, 1); }
};

struct ExpectedIds {
    std::uint16_t vendor_id;
    std::uint16_t product_id;
};

// `known` (optional) is the enumerated candidate: its strings are reused instead of re-read.
OpenResult open_at(std::uint8_t bus, std::uint8_t address, const InterfaceFilter& filter,
                   std::optional<ExpectedIds> ids, const UsbReaderCandidate* known, const TransportOptions& options) {
    auto context = LibusbContext::create(LibusbContext::Discovery::Enabled, LibusbContext::EventThread::None);
    if (!context) return std::unexpected(context.error());

    libusb_device** raw = nullptr;
    const ssize_t count = libusb_get_device_list((*context)->get(), &raw);
    if (count < 0) return fail("get_device_list", static_cast<int>(count));
    std::unique_ptr<libusb_device*, DeviceListDeleter> list(raw);

    libusb_device* device = nullptr;
    for (ssize_t i = 0; i < count && device == nullptr; ++i) {
        libusb_device* d = list.get()[i];
        if (libusb_get_bus_number(d) == bus && libusb_get_device_address(d) == address) device = d;
    }
    if (device == nullptr) {
        ccid::logger()->debug("usb: no device at {}:{}", bus, address);
        return std::unexpected(TransportError::NoDevice);
    }
    auto readers = describe_device(device, filter);
    if (!readers) return std::unexpected(readers.error());
    if (readers->candidates.empty()) return std::unexpected(TransportError::NotSupported);
    if (ids && (readers->candidates.front().vendor_id != ids->vendor_id ||
                readers->candidates.front().product_id != ids->product_id)) {
        ccid::logger()->debug("usb: device at {}:{} is not the one enumerated", bus, address);
        return std::unexpected(TransportError::NoDevice);
    }

    libusb_device_handle* h = nullptr;
    const int r = libusb_open(device, &h);
    if (r != LIBUSB_SUCCESS) return fail("open", r);
    HandleGuard handle(h);
    list.reset();  // the handle keeps its own reference to the device
    UsbReaderCandidate& reader = readers->candidates.front();
    if (known != nullptr && known->strings_read) {
        reader.manufacturer = known->manufacturer;
        reader.product = known->product;
        reader.serial_number = known->serial_number;
        reader.interface_name = known->interface_name;
        reader.strings_read = true;
    } else {
        read_device_strings(handle.get(), *readers);
    }
    return claim(*context, handle, std::move(reader), options);
}

}  // namespace

std::expected<std::unique_ptr<UsbTransport>, TransportError> open_transport(const UsbReaderCandidate& candidate,
                                                                           const TransportOptions& options) {
    InterfaceFilter filter;
    filter.only_interface = candidate.interface_number;
    filter.only_alternate_setting = candidate.alternate_setting;
    return open_at(candidate.bus, candidate.address, filter, ExpectedIds{candidate.vendor_id, candidate.product_id},
                   &candidate, options);
}

std::expected<std::unique_ptr<UsbTransport>, TransportError> open_transport(std::uint8_t bus, std::uint8_t address,
                                                                           std::uint8_t interface_number,
                                                                           const TransportOptions& options) {
    InterfaceFilter filter;
    filter.only_interface = interface_number;
    return open_at(bus, address, filter, std::nullopt, nullptr, options);
}

std::expected<std::unique_ptr<UsbTransport>, TransportError> open_transport_from_fd(int fd,
                                                                                   const FdOpenOptions& options) {
    if (fd < 0) {
        ccid::logger()->debug("usb: invalid file descriptor {}", fd);
        return std::unexpected(TransportError::Io);
    }
    auto context = LibusbContext::create(LibusbContext::Discovery::Disabled, LibusbContext::EventThread::None);
    if (!context) return std::unexpected(context.error());

    libusb_device_handle* h = nullptr;
    // libusb never closes a wrapped descriptor, not even in libusb_close().
    const int r = libusb_wrap_sys_device((*context)->get(), static_cast<intptr_t>(fd), &h);
    if (r != LIBUSB_SUCCESS) return fail("wrap_sys_device", r);
    HandleGuard handle(h);

    InterfaceFilter filter;
    filter.is_vendor_class_reader = options.is_vendor_class_reader;
    filter.only_interface = options.interface_number;
    auto readers = describe_device(libusb_get_device(handle.get()), filter);
    if (!readers) return std::unexpected(readers.error());
    if (readers->candidates.empty()) {
        ccid::logger()->debug("usb: device behind fd {} has no reader interface", fd);
        return std::unexpected(TransportError::NotSupported);
    }
    read_device_strings(handle.get(), *readers);
    return claim(*context, handle, std::move(readers->candidates.front()), options.transport);
}

}  // namespace ccidkit::ccid::usb

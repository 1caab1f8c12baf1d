#include "api/socket_reader_source.h"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "ccid/descriptor.h"
#include "ccid/quirks_lookup.h"
#include "ccid/socket/socket_transport.h"

namespace ccidkit::api {

std::string socket_reader_device_id(const std::string& path) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(path, ec);
    const std::string where = ec ? path : absolute.lexically_normal().string();
    return fmt::format("simd:{}", where);
}

std::expected<CcidDeviceSource, std::string> socket_device_source(const std::string& path) {
    auto transport = ccid::socket::SocketTransport::connect(path);
    if (!transport) return std::unexpected(transport.error().message);
    const auto& hello = (*transport)->hello();
    auto descriptor = ccid::decode_ccid_descriptor(hello.class_descriptor);
    if (!descriptor)
        return std::unexpected(fmt::format("{}: unusable CCID descriptor: {}", path, to_string(descriptor.error())));

    CcidDeviceSource source;
    source.descriptor = *descriptor;
    source.options.quirks = ccid::quirks_for(hello.vendor_id, hello.product_id, hello.bcd_device);
    source.options.bcd_device = hello.bcd_device;
    auto& id = source.identity;
    id.vendor = hello.manufacturer;
    id.model = hello.product;
    id.serial = hello.serial;
    id.vendor_id = hello.vendor_id;
    id.product_id = hello.product_id;
    id.bcd_device = hello.bcd_device;
    id.device_id = socket_reader_device_id(path);
    id.escape_allowed = true;  // a simulator, as for in-process virtual readers
    source.shared = true;
    source.transport = std::move(*transport);
    return source;
}

}  // namespace ccidkit::api

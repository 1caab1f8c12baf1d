#include "fd_reader.h"

#include <fmt/format.h>

#include <charconv>

#include "api/fd_readers.h"
#include "ccid/quirks_lookup.h"

namespace ccidkit::ccidctl {
namespace {

ReaderFailure failure(int fd, api::FdReaderError e) {
    const bool io = e == api::FdReaderError::Busy || e == api::FdReaderError::Access ||
                    e == api::FdReaderError::Unresponsive;
    return ReaderFailure{io ? ExitCode::IoError : ExitCode::NoReader, fmt::format("--fd {}: {}", fd, to_string(e))};
}

std::expected<std::unique_ptr<ccid::usb::UsbTransport>, ReaderFailure> open_fd(int fd,
                                                                                std::optional<std::uint8_t> iface) {
    if (auto node = api::usb_device_node(fd); !node) return std::unexpected(failure(fd, node.error()));
    ccid::usb::FdOpenOptions options;
    options.interface_number = iface;
    options.is_vendor_class_reader = [](std::uint16_t v, std::uint16_t p, std::uint16_t b) {
        return ccid::is_vendor_class_reader(v, p, b);
    };
    auto opened = ccid::usb::open_transport_from_fd(fd, options);
    if (!opened) return std::unexpected(failure(fd, api::fd_error_from_transport(opened.error())));
    return std::move(*opened);
}

}  // namespace

std::optional<int> parse_fd_option(std::string_view text) {
    int fd = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
    if (ec != std::errc() || end != text.data() + text.size() || fd < 0) return std::nullopt;
    return fd;
}

std::expected<ReaderInfo, ReaderFailure> reader_info_from_fd(int fd) {
    auto transport = open_fd(fd, std::nullopt);
    if (!transport) return std::unexpected(transport.error());
    ReaderInfo info = reader_info_from_usb((*transport)->reader(), 0);
    info.location = fmt::format("fd:{}", fd);
    info.usb_fd = fd;
    return info;
}

std::expected<std::unique_ptr<ccid::usb::UsbTransport>, ReaderFailure> open_fd_transport(const ReaderInfo& info) {
    return open_fd(*info.usb_fd, info.interface_number);
}

}  // namespace ccidkit::ccidctl

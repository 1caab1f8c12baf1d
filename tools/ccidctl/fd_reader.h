// --fd N: the reader behind a usbfs file descriptor that ccidctl inherited (from a launcher,
// a portal, `adb shell` tooling...), used instead of looking for readers on USB. The
// descriptor is never closed by ccidctl; each open of the reader wraps it anew.
#pragma once

#include <expected>
#include <memory>
#include <optional>
#include <string_view>

#include "ccid/usb/libusb_transport.h"
#include "readers.h"

namespace ccidkit::ccidctl {

// The value of --fd: a decimal descriptor number; nullopt when malformed (a usage error).
std::optional<int> parse_fd_option(std::string_view text);

// The reader behind fd (opened once to read its descriptors, then released), named as index 0.
// NoReader when fd is not an open USB device node or the device has no CCID interface;
// IoError when the interface is busy or not accessible.
std::expected<ReaderInfo, ReaderFailure> reader_info_from_fd(int fd);

// A transport on the interface of a reader from reader_info_from_fd.
std::expected<std::unique_ptr<ccid::usb::UsbTransport>, ReaderFailure> open_fd_transport(const ReaderInfo& info);

}  // namespace ccidkit::ccidctl

// A reader served by a simulator process (tools/ccid-simd) as a reader source of the SCard
// provider: CCID_VIRTUAL_READERS=socket=PATH. The device is opened shared (shared_device.h):
// every process naming the same socket uses the same reader and card, with the same
// cross-process rules as a USB reader.
#pragma once

#include <expected>
#include <string>

#include "api/ccid_backend.h"

namespace ccidkit::api {

// The device id of the reader at `path`: the same in every process naming that socket
// (relative paths are made absolute), different for two servers.
std::string socket_reader_device_id(const std::string& path);

// Connects to the server at `path` and describes its reader (HELLO): a source for
// open_ccid_device() with shared = true. The error names the path and the reason (no server,
// refused, unusable descriptor).
std::expected<CcidDeviceSource, std::string> socket_device_source(const std::string& path);

}  // namespace ccidkit::api

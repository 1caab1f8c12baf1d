// The client side of the simulator server's control requests (insert, remove, status, ...),
// one request per connection, synchronous: what `ccid-simd ctl` and tests use to act on a
// served reader from outside.
#pragma once

#include <chrono>
#include <expected>
#include <string>

#include "ccid/socket/socket_wire.h"
#include "common/bytes.h"

namespace ccidkit::sim {

// Sends one control request to the server at `path` and waits for its answer: the result as
// text (STATUS) or empty, else a message (no server, refused, timeout, malformed answer).
std::expected<std::string, std::string> send_sim_control(const std::string& path, ccid::socket::Op op,
                                                         ByteView body = {},
                                                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace ccidkit::sim

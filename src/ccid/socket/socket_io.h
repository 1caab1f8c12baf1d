// Frames on a Unix stream socket file descriptor (socket_wire.h), and opening such sockets.
// Blocking calls; a receive timeout set on the socket (SO_RCVTIMEO) turns into
// WireError::Timeout. Sends never raise SIGPIPE.
#pragma once

#include <expected>
#include <string>

#include "ccid/socket/socket_wire.h"
#include "ccid/transport.h"

namespace ccidkit::ccid::socket {

struct SocketError {
    TransportError code = TransportError::Io;
    std::string message;
};

// A connected SOCK_STREAM descriptor (close-on-exec). No server at PATH (absent file, nobody
// listening): NoDevice; permission denied: Access; a path too long for sockaddr_un: Io.
std::expected<int, SocketError> connect_unix(const std::string& path);

// A listening descriptor bound at PATH. A stale socket file (nobody listening) is replaced; a
// live one is refused, so that two servers never share a path.
std::expected<int, std::string> listen_unix(const std::string& path, int backlog = 64);

// Receive / send timeouts for the blocking calls below (0: none).
void set_socket_timeouts(int fd, Millis receive, Millis send);

std::expected<Frame, WireError> read_frame(int fd);
std::expected<void, WireError> write_frame(int fd, const Frame& frame);

}  // namespace ccidkit::ccid::socket

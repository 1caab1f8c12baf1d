#include "ccid/socket/socket_io.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace ccidkit::ccid::socket {
namespace {

std::expected<sockaddr_un, std::string> address_of(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path))
        return std::unexpected(fmt::format("socket path '{}' is empty or longer than {} bytes", path,
                                           sizeof(addr.sun_path) - 1));
    std::memcpy(addr.sun_path, path.data(), path.size());
    return addr;
}

int new_socket() { return ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); }

// Reads exactly buffer.size() bytes. `started` says whether part of the frame already came,
// which turns an end of stream into Truncated instead of Closed.
std::expected<void, WireError> read_exact(int fd, std::span<std::uint8_t> buffer, bool started) {
    std::size_t got = 0;
    while (got < buffer.size()) {
        const ssize_t n = ::recv(fd, buffer.data() + got, buffer.size() - got, 0);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0) return std::unexpected(started || got > 0 ? WireError::Truncated : WireError::Closed);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return std::unexpected(WireError::Timeout);
        if (errno == ECONNRESET) return std::unexpected(started || got > 0 ? WireError::Truncated : WireError::Closed);
        return std::unexpected(WireError::Io);
    }
    return {};
}

}  // namespace

std::expected<int, SocketError> connect_unix(const std::string& path) {
    auto addr = address_of(path);
    if (!addr) return std::unexpected(SocketError{TransportError::Io, addr.error()});
    const int fd = new_socket();
    if (fd < 0) return std::unexpected(SocketError{TransportError::Io, fmt::format("socket(): {}", std::strerror(errno))});
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
        const int e = errno;
        ::close(fd);
        const auto code = (e == ENOENT || e == ECONNREFUSED || e == ENOTSOCK) ? TransportError::NoDevice
                          : (e == EACCES || e == EPERM)                      ? TransportError::Access
                                                                             : TransportError::Io;
        return std::unexpected(SocketError{code, fmt::format("connect to {}: {}", path, std::strerror(e))});
    }
    return fd;
}

std::expected<int, std::string> listen_unix(const std::string& path, int backlog) {
    auto addr = address_of(path);
    if (!addr) return std::unexpected(addr.error());
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return std::unexpected(fmt::format("{} exists and is not a socket", path));
        if (auto live = connect_unix(path)) {
            ::close(*live);
            return std::unexpected(fmt::format("{}: another server is listening there", path));
        }
        ::unlink(path.c_str());  // stale: its server is gone
    }
    const int fd = new_socket();
    if (fd < 0) return std::unexpected(fmt::format("socket(): {}", std::strerror(errno)));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0 || ::listen(fd, backlog) != 0) {
        const int e = errno;
        ::close(fd);
        return std::unexpected(fmt::format("listen on {}: {}", path, std::strerror(e)));
    }
    return fd;
}

void set_socket_timeouts(int fd, Millis receive, Millis send) {
    const auto tv = [](Millis m) {
        timeval t{};
        t.tv_sec = static_cast<time_t>(m.count() / 1000);
        t.tv_usec = static_cast<suseconds_t>((m.count() % 1000) * 1000);
        return t;
    };
    const timeval r = tv(receive);
    const timeval s = tv(send);
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof(r));
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s, sizeof(s));
}

std::expected<Frame, WireError> read_frame(int fd) {
    std::array<std::uint8_t, kFrameLengthBytes> prefix{};
    if (auto r = read_exact(fd, prefix, false); !r) return std::unexpected(r.error());
    const auto length = frame_length(prefix);
    if (!length) return std::unexpected(length.error());
    Bytes content(*length);
    if (auto r = read_exact(fd, content, true); !r)
        return std::unexpected(r.error() == WireError::Closed ? WireError::Truncated : r.error());
    return decode_frame(content);
}

std::expected<void, WireError> write_frame(int fd, const Frame& frame) {
    if (frame.body.size() > kMaxFrameBody - kFrameHeadBytes) return std::unexpected(WireError::Oversized);
    const Bytes bytes = encode_frame(frame);
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::unexpected(WireError::Timeout);
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return std::unexpected(WireError::Closed);
        return std::unexpected(WireError::Io);
    }
    return {};
}

}  // namespace ccidkit::ccid::socket

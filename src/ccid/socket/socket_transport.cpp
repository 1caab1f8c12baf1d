#include "ccid/socket/socket_transport.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "ccid/logging.h"

namespace ccidkit::ccid::socket {
namespace {

// A send that cannot complete within this is a stuck server: the connection is dropped.
constexpr Millis kSendTimeout{5000};

// How long a caller waits for the reply to a call with this timeout (as it travels, plus grace).
Millis reply_wait(Millis timeout) { return Millis(wire_millis(timeout)) + SocketTransport::kReplyGrace; }

TransportError to_transport_error(WireError e) {
    switch (e) {
        case WireError::Closed: return TransportError::NoDevice;
        case WireError::Timeout: return TransportError::Timeout;
        case WireError::Truncated:
        case WireError::Oversized:
        case WireError::Malformed:
        case WireError::Io: break;
    }
    return TransportError::Io;
}

}  // namespace

std::expected<std::unique_ptr<SocketTransport>, SocketError> SocketTransport::connect(const std::string& path) {
    auto fd = connect_unix(path);
    if (!fd) return std::unexpected(fd.error());
    return adopt(*fd, path);
}

std::expected<std::unique_ptr<SocketTransport>, SocketError> SocketTransport::adopt(int fd, std::string name) {
    std::unique_ptr<SocketTransport> t(new SocketTransport(fd, std::move(name)));
    if (auto started = t->start(); !started) return std::unexpected(started.error());
    return t;
}

SocketTransport::SocketTransport(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
    // Only sends time out here: the receiver thread blocks until a frame or the end of stream.
    set_socket_timeouts(fd_, Millis{0}, kSendTimeout);
}

std::expected<void, SocketError> SocketTransport::start() {
    receiver_ = std::thread([this] { receive_loop(); });
    auto reply = call(Op::Hello, BodyWriter().u16(kWireVersion).take(), kRequestTimeout);
    if (!reply) {
        const std::string why = failure();
        return std::unexpected(SocketError{reply.error(), fmt::format("{}: HELLO failed: {}{}{}", name_, to_string(reply.error()),
                                                                       why.empty() ? "" : ": ", why)});
    }
    auto hello = decode_hello(*reply);
    if (!hello) return std::unexpected(SocketError{TransportError::Io, fmt::format("{}: malformed HELLO reply", name_)});
    if (hello->version != kWireVersion)
        return std::unexpected(SocketError{TransportError::NotSupported,
                                           fmt::format("{}: server speaks wire version {}, this client {}", name_,
                                                       hello->version, kWireVersion)});
    hello_ = std::move(*hello);
    return {};
}

SocketTransport::~SocketTransport() {
    // Hand the claim back and wait for the server's answer: the server also drops it when it
    // sees the connection close, but only later, and the next claimer (another process, or
    // the next command of a script) must find it free at once.
    if (claimed_) release();
    {
        std::lock_guard lock(mutex_);
        if (!down_) {
            down_ = true;
            failure_ = "closed by this process";
        }
    }
    ::shutdown(fd_, SHUT_RDWR);  // ends the receiver's blocking read
    if (receiver_.joinable()) receiver_.join();
    ::close(fd_);
}

std::string SocketTransport::failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
}

void SocketTransport::fail(TransportError waiting_error, std::string why) {
    std::lock_guard lock(mutex_);
    if (down_) return;
    down_ = true;
    failure_ = std::move(why);
    claimed_ = false;
    // The server sees the end too, and drops this connection's claim.
    ::shutdown(fd_, SHUT_RDWR);
    logger()->warn("socket transport {}: {}", name_, failure_);
    for (auto& [id, w] : waiters_) {
        if (w.done) continue;
        w.done = true;
        w.error = waiting_error;
    }
    cv_.notify_all();
}

void SocketTransport::receive_loop() {
    for (;;) {
        auto frame = read_frame(fd_);
        if (!frame) {
            const WireError e = frame.error();
            fail(e == WireError::Closed ? TransportError::NoDevice : to_transport_error(e),
                 e == WireError::Closed ? std::string("the simulator closed the connection")
                                        : fmt::format("dropped the connection: {}", to_string(e)));
            return;
        }
        if (frame->op != Op::Reply) {
            fail(TransportError::Io, fmt::format("dropped the connection: the server sent a {} request",
                                                 to_string(frame->op)));
            return;
        }
        auto reply = decode_reply(frame->body);
        if (!reply) {
            fail(TransportError::Io, "dropped the connection: malformed reply status");
            return;
        }
        std::lock_guard lock(mutex_);
        const auto it = waiters_.find(frame->id);
        if (it == waiters_.end() || it->second.done) continue;  // late: its caller gave up
        it->second.done = true;
        it->second.error = reply->error;
        it->second.result = std::move(reply->result);
        cv_.notify_all();
    }
}

std::expected<Bytes, TransportError> SocketTransport::call(Op op, Bytes body, Millis wait) {
    std::uint32_t id = 0;
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        if (down_) return std::unexpected(TransportError::NoDevice);
        id = next_id_++;
        if (next_id_ == 0) next_id_ = 1;
        waiters_[id];
        generation = cancel_generation_;
    }
    {
        std::lock_guard lock(write_mutex_);
        if (auto sent = write_frame(fd_, Frame{op, id, std::move(body)}); !sent) {
            // A partial frame may have gone out: the stream can no longer be trusted.
            fail(sent.error() == WireError::Closed ? TransportError::NoDevice : TransportError::Io,
                 fmt::format("sending {} failed: {}", to_string(op), to_string(sent.error())));
        }
    }
    std::unique_lock lock(mutex_);
    auto& w = waiters_[id];
    const auto deadline = std::chrono::steady_clock::now() + wait;
    const bool ended =
        cv_.wait_until(lock, deadline, [&] { return w.done || cancel_generation_ != generation; });
    std::expected<Bytes, TransportError> out = std::unexpected(TransportError::Timeout);
    if (ended && w.done) {
        if (w.error) out = std::unexpected(*w.error);
        else out = std::move(w.result);
    } else if (ended) {
        out = std::unexpected(TransportError::Cancelled);
    }
    waiters_.erase(id);
    return out;
}

std::expected<std::size_t, TransportError> SocketTransport::receive_into(Op op, Bytes body,
                                                                         std::span<std::uint8_t> buffer,
                                                                         Millis timeout) {
    auto data = call(op, std::move(body), reply_wait(timeout));
    if (!data) return std::unexpected(data.error());
    if (data->size() > buffer.size()) return std::unexpected(TransportError::Overflow);
    std::copy(data->begin(), data->end(), buffer.begin());
    return data->size();
}

std::expected<void, TransportError> SocketTransport::bulk_out(ByteView message, Millis timeout) {
    if (message.size() > kMaxTransferBytes) return std::unexpected(TransportError::Overflow);
    auto r = call(Op::BulkOut, BodyWriter().u32(wire_millis(timeout)).bytes(message).take(), reply_wait(timeout));
    if (!r) return std::unexpected(r.error());
    return {};
}

std::expected<std::size_t, TransportError> SocketTransport::bulk_in(std::span<std::uint8_t> buffer, Millis timeout) {
    const auto max = static_cast<std::uint32_t>(std::min(buffer.size(), kMaxTransferBytes));
    return receive_into(Op::BulkIn, BodyWriter().u32(wire_millis(timeout)).u32(max).take(), buffer, timeout);
}

std::expected<std::size_t, TransportError> SocketTransport::interrupt_in(std::span<std::uint8_t> buffer,
                                                                         Millis timeout) {
    const auto max = static_cast<std::uint32_t>(std::min(buffer.size(), kMaxTransferBytes));
    return receive_into(Op::InterruptIn, BodyWriter().u32(wire_millis(timeout)).u32(max).take(), buffer, timeout);
}

std::expected<std::size_t, TransportError> SocketTransport::control_in(const ControlSetup& setup,
                                                                       std::span<std::uint8_t> buffer,
                                                                       Millis timeout) {
    const auto max = static_cast<std::uint32_t>(std::min(buffer.size(), kMaxTransferBytes));
    return receive_into(Op::ControlIn,
                        BodyWriter().u32(wire_millis(timeout)).bytes(encode_setup(setup)).u32(max).take(), buffer,
                        timeout);
}

std::expected<void, TransportError> SocketTransport::control_out(const ControlSetup& setup, ByteView data,
                                                                 Millis timeout) {
    if (data.size() > kMaxTransferBytes) return std::unexpected(TransportError::Overflow);
    auto r = call(Op::ControlOut, BodyWriter().u32(wire_millis(timeout)).bytes(encode_setup(setup)).bytes(data).take(),
                  reply_wait(timeout));
    if (!r) return std::unexpected(r.error());
    return {};
}

std::expected<void, TransportError> SocketTransport::clear_halt() {
    auto r = call(Op::ClearHalt, {}, kRequestTimeout);
    if (!r) return std::unexpected(r.error());
    return {};
}

void SocketTransport::cancel() {
    {
        std::lock_guard lock(mutex_);
        ++cancel_generation_;
        cv_.notify_all();
        if (down_) return;
    }
    // Best effort: the server ends the calls it is running for this connection, so that the
    // next call is not queued behind a blocked one.
    std::lock_guard lock(write_mutex_);
    if (auto sent = write_frame(fd_, Frame{Op::Cancel, 0, {}}); !sent)
        fail(TransportError::Io, fmt::format("sending CANCEL failed: {}", to_string(sent.error())));
}

std::expected<void, TransportError> SocketTransport::claim() {
    auto r = call(Op::Claim, {}, kRequestTimeout);
    if (!r) return std::unexpected(r.error());
    claimed_ = true;
    return {};
}

void SocketTransport::release() {
    claimed_ = false;
    // Waits for the server's answer, so that whoever claims next (often another process told
    // by a lock that we are done) finds the claim free.
    (void)call(Op::Release, {}, kRequestTimeout);
}

}  // namespace ccidkit::ccid::socket

// SocketTransport: the host side of a reader served by a simulator process (tools/ccid-simd)
// over a Unix stream socket (wire protocol: socket_wire.h). It is a ccid::Transport like the
// libusb one, including the claim rule: the server hands one claim among its connections.
//
// Concurrency: calls from several threads are in flight at once (typically interrupt_in on
// the event thread while bulk_out/bulk_in run on an I/O thread). Each call is a request with
// its own id; one receiver thread matches replies to waiting callers. The server runs blocking
// calls of one connection on separate lanes, so a blocked interrupt_in never delays bulk I/O.
//
// Failures: the server gone (end of stream, reset) -> NoDevice for every waiting and later
// call; a malformed, oversized or truncated frame -> the connection is dropped and waiting
// calls get Io, later ones NoDevice (failure() says why, and it is logged once). A reply that
// never comes ends the wait after the call's timeout plus kReplyGrace (Timeout), so a stuck
// server can delay but never hang a caller.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ccid/socket/socket_io.h"
#include "ccid/socket/socket_wire.h"
#include "ccid/transport.h"

namespace ccidkit::ccid::socket {

class SocketTransport final : public Transport {
public:
    // Extra wait beyond a call's own timeout for its reply to travel back.
    static constexpr Millis kReplyGrace{2000};
    // Timeout of the requests that have none of their own (HELLO, claim, release, clear halt).
    static constexpr Millis kRequestTimeout{5000};

    // Connects to the server at `path` and exchanges HELLO.
    static std::expected<std::unique_ptr<SocketTransport>, SocketError> connect(const std::string& path);
    // Same on an already connected descriptor (takes ownership), e.g. one end of socketpair().
    static std::expected<std::unique_ptr<SocketTransport>, SocketError> adopt(int fd, std::string name);
    ~SocketTransport() override;
    SocketTransport(const SocketTransport&) = delete;
    SocketTransport& operator=(const SocketTransport&) = delete;

    const HelloInfo& hello() const { return hello_; }
    const std::string& name() const { return name_; }
    // Why the connection ended; empty while it is up.
    std::string failure() const;

    // ---- ccid::Transport ----
    std::expected<void, TransportError> bulk_out(ByteView message, Millis timeout) override;
    std::expected<std::size_t, TransportError> bulk_in(std::span<std::uint8_t> buffer, Millis timeout) override;
    std::expected<std::size_t, TransportError> interrupt_in(std::span<std::uint8_t> buffer, Millis timeout) override;
    std::expected<std::size_t, TransportError> control_in(const ControlSetup& setup, std::span<std::uint8_t> buffer,
                                                          Millis timeout) override;
    std::expected<void, TransportError> control_out(const ControlSetup& setup, ByteView data,
                                                    Millis timeout) override;
    std::expected<void, TransportError> clear_halt() override;
    bool has_interrupt_in() const override { return hello_.has_interrupt_in; }
    std::uint16_t bulk_in_max_packet() const override { return hello_.bulk_in_max_packet; }
    std::uint8_t interface_number() const override { return hello_.interface_number; }
    // Wakes the calls waiting now (Cancelled) and asks the server to end them; calls made
    // afterwards are not affected.
    void cancel() override;
    std::expected<void, TransportError> claim() override;
    void release() override;
    bool claimed() const override { return claimed_.load(); }

private:
    struct Waiter {
        bool done = false;
        std::optional<TransportError> error;
        Bytes result;
    };

    SocketTransport(int fd, std::string name);
    std::expected<void, SocketError> start();
    // Sends a request and waits for its reply (at most `wait`).
    std::expected<Bytes, TransportError> call(Op op, Bytes body, Millis wait);
    std::expected<std::size_t, TransportError> receive_into(Op op, Bytes body, std::span<std::uint8_t> buffer,
                                                            Millis timeout);
    void receive_loop();
    void fail(TransportError waiting_error, std::string why);

    const int fd_;
    const std::string name_;
    HelloInfo hello_;

    std::mutex write_mutex_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::map<std::uint32_t, Waiter> waiters_;
    std::uint32_t next_id_ = 1;
    std::uint64_t cancel_generation_ = 0;
    bool down_ = false;  // the connection ended: later calls fail with NoDevice
    std::string failure_;
    std::atomic<bool> claimed_{false};
    std::thread receiver_;
};

}  // namespace ccidkit::ccid::socket

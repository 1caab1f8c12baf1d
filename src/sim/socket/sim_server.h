// SimServer: one simulated reader (with its card) served over a Unix stream socket to any
// number of client connections, so that several processes share one reader and one card the
// way they share a USB reader: each connection is one handle of a SharedReaderSim, so at most
// one connection holds the claim (bulk and interrupt calls of the others fail with Busy), and a
// connection that closes (or whose process dies) gives its claim back.
//
// Control requests from any connection, no claim needed (socket_wire.h): insert a card
// (t1, t0, t1-1v8), remove it, status, hardware error, slot-change storm, faults
// (fault_text.h), and unplug: the reader disappears (the simulator is disconnected, every
// connection is closed, the socket file is removed) and run() returns.
//
// Wire protocol: src/ccid/socket/socket_wire.h; client side: ccid::socket::SocketTransport;
// the tool: tools/ccid-simd.
#pragma once

#include <atomic>
#include <cstddef>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ccid/socket/socket_wire.h"
#include "sim/reader/shared_reader_sim.h"
#include "sim/socket/sim_connection.h"
#include "sim/virtual_spec.h"

namespace ccidkit::sim {

struct SimServerOptions {
    std::string socket_path;
    VirtualReaderSpec reader;  // the reader and the card it starts with
    std::size_t max_connections = 64;
};

class SimServer {
public:
    // Listens at options.socket_path (a stale socket file is replaced, a live one refused).
    static std::expected<std::unique_ptr<SimServer>, std::string> listen(SimServerOptions options);
    // Stops serving if run() is still going, closes every connection, removes the socket file.
    ~SimServer();
    SimServer(const SimServer&) = delete;
    SimServer& operator=(const SimServer&) = delete;

    // Serves until stop() or an unplug request; then closes every connection and removes the
    // socket file before returning. Call once.
    void run();
    // Makes run() return. Async-signal-safe (a write to an eventfd), callable from any thread.
    void stop() noexcept;
    bool unplugged() const { return unplugged_.load(); }

    SharedReaderSim& reader() { return *reader_; }
    const std::string& socket_path() const { return options_.socket_path; }
    // Connections currently open.
    std::size_t connections() const;
    // "key: value" lines: reader, card, present, claimed, connections, xfr_blocks (XfrBlock
    // messages received since start: one per APDU on an APDU-level reader), unplugged.
    std::string status_text() const;

private:
    SimServer(SimServerOptions options, int listen_fd, int wake_fd);
    void accept_one();
    void reap_finished();
    void close_all();
    void wake() noexcept;
    std::expected<Bytes, std::string> control(ccid::socket::Op op, ByteView body);

    const SimServerOptions options_;
    const int listen_fd_;
    const int wake_fd_;
    std::unique_ptr<SharedReaderSim> reader_;
    ccid::socket::HelloInfo hello_;
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> unplugged_{false};
    std::atomic<bool> closed_{false};

    mutable std::mutex mutex_;
    std::string card_name_;  // of the card last inserted
    std::vector<std::unique_ptr<SimConnection>> connections_;
};

}  // namespace ccidkit::sim

// One client connection of the simulator server (sim_server.h): a receiver thread reads
// requests; transport requests run on this connection's own handle of the shared reader
// (so the claim rule applies per connection), control requests go to the server.
//
// Blocking calls run on three lanes, each a thread serving its requests in order: interrupt
// IN, bulk IN, everything else. So an event thread blocked in interrupt_in never holds up the
// I/O thread's bulk calls, as on USB where each endpoint has its own transfers.
// CANCEL ends the calls running now and those received before it that have not started.
// When the client goes away, the calls in progress are cancelled and the handle is destroyed,
// which gives its claim back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ccid/socket/socket_wire.h"
#include "ccid/transport.h"

namespace ccidkit::sim {

class SimConnection {
public:
    // Answers a control request (Insert, Remove, ...): result bytes, or an error message.
    using ControlHandler = std::function<std::expected<Bytes, std::string>(ccid::socket::Op, ByteView body)>;

    SimConnection(int fd, std::unique_ptr<ccid::Transport> handle, ccid::socket::HelloInfo hello,
                  ControlHandler control, std::function<void()> on_finished);
    // Closes the connection and waits for its threads.
    ~SimConnection();
    SimConnection(const SimConnection&) = delete;
    SimConnection& operator=(const SimConnection&) = delete;

    // Ends the connection (asynchronously: the receiver sees the end of stream).
    void close();
    // The client left or close() took effect; the handle is gone.
    bool finished() const { return finished_.load(); }

private:
    struct Job {
        ccid::socket::Frame frame;
        std::uint64_t cancel_generation = 0;
    };
    struct Lane {
        std::mutex mutex;
        std::condition_variable cv;
        std::deque<Job> jobs;
        bool stopping = false;
        bool exited = false;
        std::thread thread;
    };
    enum LaneIndex { kInterruptLane, kBulkInLane, kOtherLane, kLaneCount };

    void receive_loop();
    void lane_loop(Lane& lane);
    void dispatch(ccid::socket::Frame frame);
    Bytes execute(const ccid::socket::Frame& frame);
    Bytes control(const ccid::socket::Frame& frame);
    void send_reply(std::uint32_t id, Bytes body);
    void stop_lanes();

    const int fd_;
    std::unique_ptr<ccid::Transport> handle_;
    const ccid::socket::HelloInfo hello_;
    ControlHandler control_;
    std::function<void()> on_finished_;

    std::mutex write_mutex_;
    std::atomic<std::uint64_t> cancel_generation_{0};
    Lane lanes_[kLaneCount];
    std::atomic<bool> closing_{false};
    std::atomic<bool> finished_{false};
    std::thread receiver_;
};

}  // namespace ccidkit::sim

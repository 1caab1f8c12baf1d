#include "sim/socket/sim_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "ccid/logging.h"
#include "ccid/socket/socket_io.h"

namespace ccidkit::sim {
namespace {

using ccid::TransportError;
using ccid::socket::BodyReader;
using ccid::socket::Op;
using ccid::socket::encode_reply;

// A client queueing more than this many calls on one lane is misbehaving: the extra ones fail.
constexpr std::size_t kMaxQueuedPerLane = 64;
constexpr ccid::Millis kSendTimeout{5000};

Bytes error_reply(TransportError e) { return encode_reply(e); }

template <typename T>
Bytes reply_of(const std::expected<T, TransportError>& r) {
    return r ? encode_reply(std::nullopt) : error_reply(r.error());
}

}  // namespace

SimConnection::SimConnection(int fd, std::unique_ptr<ccid::Transport> handle, ccid::socket::HelloInfo hello,
                             ControlHandler control, std::function<void()> on_finished)
    : fd_(fd),
      handle_(std::move(handle)),
      hello_(std::move(hello)),
      control_(std::move(control)),
      on_finished_(std::move(on_finished)) {
    ccid::socket::set_socket_timeouts(fd_, ccid::Millis{0}, kSendTimeout);
    for (auto& lane : lanes_) lane.thread = std::thread([this, &lane] { lane_loop(lane); });
    receiver_ = std::thread([this] { receive_loop(); });
}

SimConnection::~SimConnection() {
    close();
    if (receiver_.joinable()) receiver_.join();
    ::close(fd_);
}

// Only the reading side: replies being written (e.g. to UNPLUG) still go out.
void SimConnection::close() { ::shutdown(fd_, SHUT_RD); }

void SimConnection::receive_loop() {
    for (;;) {
        auto frame = ccid::socket::read_frame(fd_);
        if (!frame) {
            if (frame.error() != ccid::socket::WireError::Closed)
                ccid::logger()->info("ccid-simd: dropping a client: {}", to_string(frame.error()));
            break;
        }
        if (frame->op == Op::Reply) {
            ccid::logger()->info("ccid-simd: dropping a client that sent a reply frame");
            break;
        }
        dispatch(std::move(*frame));
    }
    closing_ = true;
    stop_lanes();
    handle_.reset();  // gives the claim back now, not when the server reaps the connection
    ::shutdown(fd_, SHUT_RDWR);  // the client sees the end now
    finished_ = true;
    if (on_finished_) on_finished_();
}

void SimConnection::dispatch(ccid::socket::Frame frame) {
    if (frame.op == Op::Cancel) {
        ++cancel_generation_;
        handle_->cancel();
        return;
    }
    Lane& lane = frame.op == Op::InterruptIn ? lanes_[kInterruptLane]
                 : frame.op == Op::BulkIn    ? lanes_[kBulkInLane]
                                             : lanes_[kOtherLane];
    {
        std::lock_guard lock(lane.mutex);
        if (lane.jobs.size() < kMaxQueuedPerLane) {
            lane.jobs.push_back(Job{std::move(frame), cancel_generation_.load()});
            lane.cv.notify_one();
            return;
        }
    }
    send_reply(frame.id, error_reply(TransportError::Busy));
}

void SimConnection::lane_loop(Lane& lane) {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(lane.mutex);
            lane.cv.wait(lock, [&] { return lane.stopping || !lane.jobs.empty(); });
            if (lane.stopping) break;
            job = std::move(lane.jobs.front());
            lane.jobs.pop_front();
        }
        Bytes reply = job.cancel_generation != cancel_generation_.load() ? error_reply(TransportError::Cancelled)
                                                                         : execute(job.frame);
        // Calls ended because the connection is closing: the client is to see the end of
        // the stream (NoDevice), not a cancellation it did not ask for.
        if (closing_.load() && reply == error_reply(TransportError::Cancelled)) continue;
        send_reply(job.frame.id, std::move(reply));
    }
    std::lock_guard lock(lane.mutex);
    lane.exited = true;
    lane.cv.notify_all();
}

void SimConnection::stop_lanes() {
    for (auto& lane : lanes_) {
        std::lock_guard lock(lane.mutex);
        lane.stopping = true;
        lane.cv.notify_all();
    }
    // A call may start just after a cancel: keep cancelling until every lane has left.
    for (auto& lane : lanes_) {
        std::unique_lock lock(lane.mutex);
        while (!lane.exited) {
            lock.unlock();
            handle_->cancel();
            lock.lock();
            lane.cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return lane.exited; });
        }
        lock.unlock();
        lane.thread.join();
    }
}

void SimConnection::send_reply(std::uint32_t id, Bytes body) {
    std::lock_guard lock(write_mutex_);
    if (!ccid::socket::write_frame(fd_, ccid::socket::Frame{Op::Reply, id, std::move(body)}))
        ::shutdown(fd_, SHUT_RDWR);  // a client that does not read: drop it
}

Bytes SimConnection::execute(const ccid::socket::Frame& frame) {
    BodyReader r(frame.body);
    const auto millis = [](std::uint32_t ms) { return ccid::Millis(ms); };
    const auto buffer_for = [](std::uint32_t max) { return Bytes(std::min<std::size_t>(max, ccid::socket::kMaxTransferBytes)); };
    switch (frame.op) {
        case Op::Hello: return encode_reply(std::nullopt, ccid::socket::encode_hello(hello_));
        case Op::BulkOut: {
            const auto t = r.u32();
            if (!t) break;
            return reply_of(handle_->bulk_out(r.rest(), millis(*t)));
        }
        case Op::BulkIn:
        case Op::InterruptIn: {
            const auto t = r.u32();
            const auto max = r.u32();
            if (!t || !max || !r.at_end()) break;
            Bytes buffer = buffer_for(*max);
            auto n = frame.op == Op::BulkIn ? handle_->bulk_in(buffer, millis(*t)) : handle_->interrupt_in(buffer, millis(*t));
            if (!n) return error_reply(n.error());
            return encode_reply(std::nullopt, ByteView(buffer).first(*n));
        }
        case Op::ControlIn: {
            const auto t = r.u32();
            const auto setup = ccid::socket::read_setup(r);
            const auto max = r.u32();
            if (!t || !setup || !max || !r.at_end()) break;
            Bytes buffer = buffer_for(*max);
            auto n = handle_->control_in(*setup, buffer, millis(*t));
            if (!n) return error_reply(n.error());
            return encode_reply(std::nullopt, ByteView(buffer).first(*n));
        }
        case Op::ControlOut: {
            const auto t = r.u32();
            const auto setup = ccid::socket::read_setup(r);
            if (!t || !setup) break;
            return reply_of(handle_->control_out(*setup, r.rest(), millis(*t)));
        }
        case Op::ClearHalt: return reply_of(handle_->clear_halt());
        case Op::Claim: return reply_of(handle_->claim());
        case Op::Release: handle_->release(); return encode_reply(std::nullopt);
        default: return control(frame);
    }
    return error_reply(TransportError::Io);  // a body that does not decode
}

Bytes SimConnection::control(const ccid::socket::Frame& frame) {
    if (!control_) return error_reply(TransportError::NotSupported);
    auto result = control_(frame.op, frame.body);
    if (!result) {
        const std::string& why = result.error();
        return encode_reply(TransportError::NotSupported, ByteView(reinterpret_cast<const std::uint8_t*>(why.data()), why.size()));
    }
    return encode_reply(std::nullopt, *result);
}

}  // namespace ccidkit::sim

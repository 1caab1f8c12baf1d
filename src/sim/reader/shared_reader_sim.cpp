#include "sim/reader/shared_reader_sim.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace ccidkit::sim {

using ccid::TransportError;
using Clock = std::chrono::steady_clock;

struct SharedReaderSim::State {
    explicit State(std::unique_ptr<ReaderSim> s) : sim(std::move(s)) {}
    std::unique_ptr<ReaderSim> sim;
    mutable std::mutex mutex;
    std::condition_variable idle;  // a handle's calls in flight dropped
    std::uint64_t holder = 0;      // id of the handle holding the claim, 0: nobody
    std::uint64_t next_id = 1;
    std::size_t handles = 0;
    std::size_t in_flight = 0;  // all handles' calls
};

namespace {

class SimHandle final : public ccid::Transport {
public:
    explicit SimHandle(std::shared_ptr<SharedReaderSim::State> state) : state_(std::move(state)) {
        std::lock_guard lock(state_->mutex);
        id_ = state_->next_id++;
        ++state_->handles;
    }
    ~SimHandle() override {
        release();
        std::lock_guard lock(state_->mutex);
        --state_->handles;
    }
    SimHandle(const SimHandle&) = delete;
    SimHandle& operator=(const SimHandle&) = delete;

    std::expected<void, TransportError> bulk_out(ByteView message, ccid::Millis timeout) override {
        return run(timeout, [&](ccid::Millis slice) { return sim().bulk_out(message, slice); });
    }
    std::expected<std::size_t, TransportError> bulk_in(std::span<std::uint8_t> buffer,
                                                       ccid::Millis timeout) override {
        return run(timeout, [&](ccid::Millis slice) { return sim().bulk_in(buffer, slice); });
    }
    std::expected<std::size_t, TransportError> interrupt_in(std::span<std::uint8_t> buffer,
                                                            ccid::Millis timeout) override {
        return run(timeout, [&](ccid::Millis slice) { return sim().interrupt_in(buffer, slice); });
    }
    std::expected<std::size_t, TransportError> control_in(const ccid::ControlSetup& setup,
                                                          std::span<std::uint8_t> buffer,
                                                          ccid::Millis timeout) override {
        return run(timeout, [&](ccid::Millis slice) { return sim().control_in(setup, buffer, slice); });
    }
    std::expected<void, TransportError> control_out(const ccid::ControlSetup& setup, ByteView data,
                                                    ccid::Millis timeout) override {
        return run(timeout, [&](ccid::Millis slice) { return sim().control_out(setup, data, slice); });
    }
    std::expected<void, TransportError> clear_halt() override {
        return run(ccid::Millis(0), [&](ccid::Millis) { return sim().clear_halt(); });
    }
    bool has_interrupt_in() const override { return state_->sim->has_interrupt_in(); }
    std::uint16_t bulk_in_max_packet() const override { return state_->sim->bulk_in_max_packet(); }
    std::uint8_t interface_number() const override { return state_->sim->interface_number(); }

    void cancel() override {
        cancels_.fetch_add(1);
        state_->sim->cancel();  // wakes everybody; the others go back to waiting (see run)
    }

    std::expected<void, TransportError> claim() override {
        std::lock_guard lock(state_->mutex);
        if (state_->sim->disconnected()) return std::unexpected(TransportError::NoDevice);
        if (state_->holder == id_ && !releasing_) return {};
        if (state_->holder != 0) return std::unexpected(TransportError::Busy);
        state_->holder = id_;
        return {};
    }

    void release() override {
        std::unique_lock lock(state_->mutex);
        if (state_->holder != id_) return;
        if (releasing_) {  // another thread of this handle is releasing: wait for it
            state_->idle.wait(lock, [&] { return !releasing_; });
            return;
        }
        releasing_ = true;  // new calls fail Busy from now on
        releases_.fetch_add(1);
        lock.unlock();
        state_->sim->cancel();
        lock.lock();
        state_->idle.wait(lock, [&] { return in_flight_ == 0; });
        state_->holder = 0;
        releasing_ = false;
        state_->idle.notify_all();
    }

    bool claimed() const override {
        std::lock_guard lock(state_->mutex);
        return state_->holder == id_ && !releasing_;
    }

private:
    ReaderSim& sim() { return *state_->sim; }

    // Runs `op` in slices until it returns something other than a timeout, the deadline, or a
    // cancel()/release() of this handle made after the call began.
    template <class Op>
    auto run(ccid::Millis timeout, Op op) -> decltype(op(timeout)) {
        std::uint64_t cancels_at_start = 0;
        std::uint64_t releases_at_start = 0;
        {
            std::lock_guard lock(state_->mutex);
            if (state_->sim->disconnected()) return std::unexpected(TransportError::NoDevice);
            if (state_->holder != id_ || releasing_) return std::unexpected(TransportError::Busy);
            ++in_flight_;
            ++state_->in_flight;
            cancels_at_start = cancels_.load();
            releases_at_start = releases_.load();
        }
        const auto deadline = Clock::now() + std::max(timeout, ccid::Millis(0));
        decltype(op(timeout)) result = std::unexpected(TransportError::Timeout);
        for (;;) {
            const auto left = std::chrono::ceil<ccid::Millis>(deadline - Clock::now());
            result = op(std::clamp(left, ccid::Millis(0), SharedReaderSim::kWaitSlice));
            if (result || (result.error() != TransportError::Timeout && result.error() != TransportError::Cancelled)) {
                break;
            }
            if (cancels_.load() != cancels_at_start || releases_.load() != releases_at_start) {
                result = std::unexpected(TransportError::Cancelled);
                break;
            }
            if (Clock::now() >= deadline) {
                result = std::unexpected(TransportError::Timeout);
                break;
            }
        }
        std::lock_guard lock(state_->mutex);
        --in_flight_;
        --state_->in_flight;
        state_->idle.notify_all();
        return result;
    }

    std::shared_ptr<SharedReaderSim::State> state_;
    std::uint64_t id_ = 0;
    // Guarded by state_->mutex.
    std::size_t in_flight_ = 0;
    bool releasing_ = false;
    std::atomic<std::uint64_t> cancels_{0};
    std::atomic<std::uint64_t> releases_{0};
};

}  // namespace

SharedReaderSim::SharedReaderSim(ReaderSimConfig config)
    : SharedReaderSim(std::make_unique<ReaderSim>(std::move(config))) {}

SharedReaderSim::SharedReaderSim(std::unique_ptr<ReaderSim> sim)
    : state_(std::make_shared<State>(std::move(sim))) {}

SharedReaderSim::~SharedReaderSim() = default;

std::unique_ptr<ccid::Transport> SharedReaderSim::open_handle() { return std::make_unique<SimHandle>(state_); }

ReaderSim& SharedReaderSim::sim() { return *state_->sim; }

bool SharedReaderSim::claimed() const {
    std::lock_guard lock(state_->mutex);
    return state_->holder != 0;
}

std::size_t SharedReaderSim::calls_in_flight() const {
    std::lock_guard lock(state_->mutex);
    return state_->in_flight;
}

std::size_t SharedReaderSim::handles() const {
    std::lock_guard lock(state_->mutex);
    return state_->handles;
}

}  // namespace ccidkit::sim

// How the calls of one libusb transport wait for their transfers without an event thread.
// Internal to src/ccid/usb (libusb_transport_impl.cpp).
//
// Each waiting call reaps its own completion, as synchronous libusb does: it handles the
// context's events itself (libusb_handle_events_timeout_completed, under libusb's event lock)
// or, while another thread holds that lock, sleeps until libusb signals a completion. A
// completion then wakes exactly the thread that waits for it, instead of waking an event thread
// that wakes the waiter (two hand-offs per transfer; costly where wake-ups are slow, e.g. VMs).
//
// The interrupt pipe is read by a long-lived background call (card events) while APDUs run on
// another thread. Left alone, the background call would hold the event lock most of the time
// and every APDU transfer would again be a hand-off. So waits have a priority:
// - Foreground (bulk, control): always handles events; if a background call holds the event
//   lock, it interrupts it (libusb_interrupt_event_handler) and takes over.
// - Background (interrupt): handles events only when no foreground call is waiting and none
//   ended within kForegroundQuiet; otherwise it sleeps on its own condition variable, and the
//   foreground thread's event handling reaps its transfer too (the callback wakes it). So
//   card events are not delayed while APDUs run; when they stop, by at most kForegroundQuiet.
//   cancel() pokes a sleeping background call: from then on it waits like any libusb caller
//   (libusb_handle_events_timeout_completed), so it reaps its cancellation at once.
#pragma once

#include <libusb.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace ccidkit::ccid::usb {

// One submitted transfer's completion, on the waiting call's stack. transfer->user_data points
// here and transfer->callback is on_transfer_done.
struct TransferWait {
    std::mutex mutex;
    std::condition_variable cv;
    int completed = 0;    // libusb's "completed" flag (it reads it under its own lock)
    bool poked = false;   // under mutex: cancel() wants a sleeping background call to reap now

    TransferWait() = default;
    // Waits until a callback that is still signalling (it holds `mutex`) has finished: a
    // waiter can see `completed` before the callback has let go of `mutex` and `cv`.
    ~TransferWait() { std::lock_guard lock(mutex); }
    TransferWait(const TransferWait&) = delete;
    TransferWait& operator=(const TransferWait&) = delete;

    bool done();
    // Wakes a background call sleeping on `cv` (cancel(), close(), release()).
    void poke();
};

void LIBUSB_CALL on_transfer_done(libusb_transfer* transfer);

class EventLoopShare {
public:
    enum class Priority { Foreground, Background };
    using Clock = std::chrono::steady_clock;

    // After a foreground call, the next one usually follows within this time (the reply is
    // processed, the next APDU sent): a background call does not take the event lock before.
    static constexpr std::chrono::milliseconds kForegroundQuiet{20};

    explicit EventLoopShare(libusb_context* ctx) : ctx_(ctx) {}

    // Waits until `wait` completed (true) or `deadline` passed (false). The transfer must be
    // submitted; after false it still is (cancel it, then wait again until true).
    bool wait(TransferWait& wait, Priority priority, Clock::time_point deadline);

    // Foreground calls waiting right now (diagnostics, tests).
    unsigned foreground_waiters() const { return foreground_waiters_.load(); }
    // A background call is in libusb's event handling right now (diagnostics, tests).
    bool background_handling() const { return background_handling_.load(); }

private:
    bool wait_foreground(TransferWait& wait, Clock::time_point deadline);
    bool wait_background(TransferWait& wait, Clock::time_point deadline);
    bool foreground_busy(Clock::time_point now, Clock::time_point& quiet_until) const;
    void handle_events_in_background(TransferWait& wait, Clock::time_point deadline);
    bool poked(TransferWait& wait);

    libusb_context* const ctx_;
    std::atomic<unsigned> foreground_waiters_{0};
    std::atomic<bool> background_handling_{false};
    std::atomic<Clock::rep> foreground_ended_{0};  // time_since_epoch of the last foreground end
};

}  // namespace ccidkit::ccid::usb

#include "ccid/usb/libusb_transport_wait.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "ccid/logging.h"

namespace ccidkit::ccid::usb {

namespace {

using Clock = EventLoopShare::Clock;

// One libusb wait never exceeds this, so a lost wake-up costs at most this much.
constexpr auto kMaxSlice = std::chrono::milliseconds(500);
// Pause after a failing libusb_handle_events*, so that a broken event source cannot spin.
constexpr auto kErrorBackoff = std::chrono::milliseconds(1);

timeval slice_until(Clock::time_point deadline, Clock::time_point now) {
    const auto left = std::clamp(std::chrono::duration_cast<std::chrono::microseconds>(deadline - now),
                                 std::chrono::microseconds(0), std::chrono::microseconds(kMaxSlice));
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(left.count() / 1000000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>(left.count() % 1000000);
    return tv;
}

void back_off_on_error(int r) {
    if (r >= 0 || r == LIBUSB_ERROR_INTERRUPTED || r == LIBUSB_ERROR_TIMEOUT) return;
    ccid::logger()->debug("usb: libusb event handling failed: {}", libusb_error_name(r));
    std::this_thread::sleep_for(kErrorBackoff);
}

}  // namespace

bool TransferWait::done() { return std::atomic_ref<int>(completed).load(std::memory_order_acquire) != 0; }

void TransferWait::poke() {
    std::lock_guard lock(mutex);
    poked = true;
    cv.notify_all();
}

void LIBUSB_CALL on_transfer_done(libusb_transfer* transfer) {
    auto* wait = static_cast<TransferWait*>(transfer->user_data);
    std::lock_guard lock(wait->mutex);
    std::atomic_ref<int>(wait->completed).store(1, std::memory_order_release);
    // Notify while holding the lock: the waiter may destroy *wait as soon as it sees `completed`
    // (libusb itself no longer touches the transfer after this callback).
    wait->cv.notify_all();
}

bool EventLoopShare::wait(TransferWait& wait, Priority priority, Clock::time_point deadline) {
    return priority == Priority::Foreground ? wait_foreground(wait, deadline) : wait_background(wait, deadline);
}

bool EventLoopShare::wait_foreground(TransferWait& wait, Clock::time_point deadline) {
    foreground_waiters_.fetch_add(1);
    while (!wait.done()) {
        const auto now = Clock::now();
        if (now >= deadline) break;
        // A background call in libusb's poll holds the event lock: make it return and let go
        // (it will not take the lock again while we wait, see wait_background).
        if (background_handling_.load()) libusb_interrupt_event_handler(ctx_);
        timeval tv = slice_until(deadline, now);
        // Handles events under libusb's event lock, or waits for the lock holder's next
        // completion; returns early once `completed` is set.
        back_off_on_error(libusb_handle_events_timeout_completed(ctx_, &tv, &wait.completed));
    }
    foreground_ended_.store(Clock::now().time_since_epoch().count());
    foreground_waiters_.fetch_sub(1);
    return wait.done();
}

bool EventLoopShare::foreground_busy(Clock::time_point now, Clock::time_point& quiet_until) const {
    if (foreground_waiters_.load() > 0) {
        quiet_until = now + kForegroundQuiet;
        return true;
    }
    quiet_until = Clock::time_point(Clock::duration(foreground_ended_.load())) + kForegroundQuiet;
    return now < quiet_until;
}

bool EventLoopShare::wait_background(TransferWait& wait, Clock::time_point deadline) {
    while (!wait.done()) {
        const auto now = Clock::now();
        if (now >= deadline) break;
        if (poked(wait)) {
            // Cancelled: reap the cancellation now, whoever else is waiting.
            timeval tv = slice_until(deadline, now);
            back_off_on_error(libusb_handle_events_timeout_completed(ctx_, &tv, &wait.completed));
            continue;
        }
        Clock::time_point quiet_until;
        if (foreground_busy(now, quiet_until)) {
            // Foreground calls handle the events (ours included: on_transfer_done wakes us).
            std::unique_lock lock(wait.mutex);
            wait.cv.wait_until(lock, std::min(deadline, quiet_until), [&] { return wait.done() || wait.poked; });
            continue;
        }
        handle_events_in_background(wait, deadline);
    }
    return wait.done();
}

bool EventLoopShare::poked(TransferWait& wait) {
    std::lock_guard lock(wait.mutex);
    return wait.poked;
}

void EventLoopShare::handle_events_in_background(TransferWait& wait, Clock::time_point deadline) {
    if (libusb_try_lock_events(ctx_) == 0) {
        // Announce before looking for foreground waiters; a foreground call announces itself
        // before looking at this flag: one of the two always sees the other.
        background_handling_.store(true);
        int r = 0;
        if (foreground_waiters_.load() == 0 && !wait.done()) {
            timeval tv = slice_until(deadline, Clock::now());
            r = libusb_handle_events_locked(ctx_, &tv);
        }
        background_handling_.store(false);
        libusb_unlock_events(ctx_);  // also wakes the threads waiting for events
        back_off_on_error(r);
        return;
    }
    // Another thread handles events: sleep until it reports a completion (libusb's idiom).
    libusb_lock_event_waiters(ctx_);
    if (!wait.done() && libusb_event_handler_active(ctx_) != 0) {
        timeval tv = slice_until(std::min(deadline, Clock::now() + kForegroundQuiet), Clock::now());
        libusb_wait_for_event(ctx_, &tv);
    }
    libusb_unlock_event_waiters(ctx_);
}

}  // namespace ccidkit::ccid::usb

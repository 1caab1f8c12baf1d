// EventLoopShare (how a libusb transport's calls wait without an event thread), without USB
// hardware: completions are simulated by calling the transfer callback from another thread, as
// libusb's event handling would.
#include "ccid/usb/libusb_transport_wait.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "ccid/usb/libusb_context.h"

namespace ccidkit::ccid::usb {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Priority = EventLoopShare::Priority;

std::unique_ptr<LibusbContext> make_context(LibusbContext::EventThread events) {
    auto ctx = LibusbContext::create(LibusbContext::Discovery::Enabled, events);
    return ctx ? std::move(*ctx) : nullptr;
}

// What libusb does when a transfer ends: run its callback.
void complete(TransferWait& wait) {
    libusb_transfer transfer{};
    transfer.user_data = &wait;
    on_transfer_done(&transfer);
}

// Waits for a transfer that never completes; returns how long the wait took.
Clock::duration time_out(EventLoopShare& events, Priority priority, Clock::duration limit) {
    TransferWait wait;
    const auto t0 = Clock::now();
    EXPECT_FALSE(events.wait(wait, priority, t0 + limit));
    return Clock::now() - t0;
}

TEST(UsbEventLoopShare, EachPriorityEndsAtItsDeadline) {
    auto ctx = make_context(LibusbContext::EventThread::None);
    if (!ctx) GTEST_SKIP() << "libusb cannot be initialised here";
    EventLoopShare events(ctx->get());
    for (Priority p : {Priority::Foreground, Priority::Background}) {
        const auto took = time_out(events, p, 60ms);
        EXPECT_GE(took, 60ms);
        EXPECT_LT(took, 1s);
    }
    EXPECT_EQ(events.foreground_waiters(), 0u);
}

TEST(UsbEventLoopShare, AlsoWithADedicatedEventThread) {
    // Another thread holding libusb's event lock: the waits fall back to libusb's waiter idiom.
    auto ctx = make_context(LibusbContext::EventThread::Dedicated);
    if (!ctx) GTEST_SKIP() << "libusb cannot be initialised here";
    EventLoopShare events(ctx->get());
    for (Priority p : {Priority::Foreground, Priority::Background}) {
        const auto took = time_out(events, p, 60ms);
        EXPECT_GE(took, 60ms);
        EXPECT_LT(took, 1s);
    }
}

TEST(UsbEventLoopShare, CompletedBeforeWaitingReturnsAtOnce) {
    auto ctx = make_context(LibusbContext::EventThread::None);
    if (!ctx) GTEST_SKIP() << "libusb cannot be initialised here";
    EventLoopShare events(ctx->get());
    for (Priority p : {Priority::Foreground, Priority::Background}) {
        TransferWait wait;
        complete(wait);
        const auto t0 = Clock::now();
        EXPECT_TRUE(events.wait(wait, p, t0 + 5s));
        EXPECT_LT(Clock::now() - t0, 100ms);
    }
}

TEST(UsbEventLoopShare, BackgroundYieldsToForegroundAndIsWokenByItsCompletion) {
    auto ctx = make_context(LibusbContext::EventThread::None);
    if (!ctx) GTEST_SKIP() << "libusb cannot be initialised here";
    EventLoopShare events(ctx->get());

    TransferWait reply;  // the foreground call's transfer, completed at the end
    auto foreground =
        std::async(std::launch::async, [&] { return events.wait(reply, Priority::Foreground, Clock::now() + 10s); });
    while (events.foreground_waiters() == 0) std::this_thread::yield();

    // While a foreground call waits, a background call must not sit in libusb's poll (where
    // this simulated completion could not reach it before its 500 ms slice ends): it sleeps on
    // its own condition variable, which the completion callback signals.
    TransferWait card_event;
    auto background = std::async(std::launch::async, [&] {
        const auto t0 = Clock::now();
        const bool done = events.wait(card_event, Priority::Background, t0 + 10s);
        return std::make_pair(done, Clock::now() - t0);
    });
    // No condition to await for "the background call is asleep": give it time to get there.
    std::this_thread::sleep_for(50ms);
    const auto completed_at = Clock::now();
    complete(card_event);
    const auto [done, took] = background.get();
    EXPECT_TRUE(done);
    EXPECT_LT(Clock::now() - completed_at, 200ms);
    EXPECT_LT(took, 2s);

    complete(reply);
    libusb_interrupt_event_handler(ctx->get());  // the foreground call is in libusb's poll
    EXPECT_TRUE(foreground.get());
    EXPECT_EQ(events.foreground_waiters(), 0u);
}

// Polls `condition` until it holds or `limit` passes; returns whether it held.
template <typename Condition>
bool becomes_true(Condition condition, Clock::duration limit) {
    const auto end = Clock::now() + limit;
    while (!condition()) {
        if (Clock::now() >= end) return false;
        std::this_thread::yield();
    }
    return true;
}

TEST(UsbEventLoopShare, ForegroundTakesTheEventLoopFromABackgroundCall) {
    auto ctx = make_context(LibusbContext::EventThread::None);
    if (!ctx) GTEST_SKIP() << "libusb cannot be initialised here";
    EventLoopShare events(ctx->get());

    // Alone, a background call handles events itself (in libusb's poll, 500 ms slices).
    TransferWait card_event;
    auto background = std::async(std::launch::async,
                                 [&] { return events.wait(card_event, Priority::Background, Clock::now() + 10s); });
    ASSERT_TRUE(becomes_true([&] { return events.background_handling(); }, 5s));

    // A foreground call interrupts that poll at once (not at the end of the slice), and the
    // background call stays out of the event loop while the foreground call waits.
    TransferWait reply;
    auto foreground =
        std::async(std::launch::async, [&] { return events.wait(reply, Priority::Foreground, Clock::now() + 10s); });
    EXPECT_TRUE(becomes_true([&] { return events.foreground_waiters() == 1 && !events.background_handling(); }, 200ms));
    EXPECT_FALSE(becomes_true([&] { return events.background_handling(); }, 100ms));

    complete(reply);
    libusb_interrupt_event_handler(ctx->get());
    EXPECT_TRUE(foreground.get());
    complete(card_event);
    libusb_interrupt_event_handler(ctx->get());
    EXPECT_TRUE(background.get());
}

TEST(UsbEventLoopShare, PokeDoesNotCompleteATransfer) {
    // cancel() pokes waiters so that they reap their cancellation; the wait still ends only
    // with the completion (or its deadline).
    auto ctx = make_context(LibusbContext::EventThread::None);
    if (!ctx) GTEST_SKIP() << "libusb cannot be initialised here";
    EventLoopShare events(ctx->get());
    TransferWait wait;
    wait.poke();
    const auto t0 = Clock::now();
    EXPECT_FALSE(events.wait(wait, Priority::Background, t0 + 60ms));
    EXPECT_GE(Clock::now() - t0, 60ms);
}

}  // namespace
}  // namespace ccidkit::ccid::usb

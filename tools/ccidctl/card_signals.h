// A test and demo aid: `ccidctl monitor` on simulated readers (--virtual, $CCID_VIRTUAL_READERS)
// inserts a card into slot 0 of each of them on SIGUSR1 and removes it on SIGUSR2, so that a
// script or a test in another process can make card events happen (`kill -USR1 PID`). The
// inserted card is the one the spec names (t1 when it names none); inserting into an occupied
// slot or removing from an empty one does nothing. USB readers ignore both, and so do readers
// served by ccid-simd (socket=PATH), whose card moves with `ccid-simd ctl insert|remove`.
//
// main()'s handlers queue the requests here; `monitor` applies them in the order the handlers
// ran. Signals sent back to back may be handled in either order (any thread of the process
// may take one, and two pending SIGUSR1 are one): send one, wait for its event line, then
// the next. At most kCardRequestSlots may wait at once (the monitor loop takes them every 100 ms).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ccidkit::ccidctl {

enum class CardRequest : std::uint8_t { None, Insert, Remove };

inline constexpr std::size_t kCardRequestSlots = 64;

// Lock-free and constant-initialised, so that a signal handler may write them.
inline std::atomic<unsigned> g_card_requests_sent{0};
inline std::array<std::atomic<CardRequest>, kCardRequestSlots> g_card_requests{};
static_assert(std::atomic<unsigned>::is_always_lock_free && std::atomic<CardRequest>::is_always_lock_free);

// Async-signal-safe.
inline void request_card_change(CardRequest r) {
    const unsigned n = g_card_requests_sent.fetch_add(1);
    g_card_requests[n % kCardRequestSlots].store(r);
}

}  // namespace ccidkit::ccidctl

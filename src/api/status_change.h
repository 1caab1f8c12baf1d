// SCardGetStatusChange() bookkeeping for one SCARD_READERSTATE entry, following pcsc-lite's
// rules (winscard_clnt.c) bit for bit, including its quirks:
//  - the event counter (card insertions + removals, 16 bits) is returned in bits 16-31 of
//    dwEventState; a caller that passes a non-zero counter in dwCurrentState is told CHANGED
//    when it differs;
//  - only some sharing transitions count as a change (INUSE/EXCLUSIVE appearing does not);
//  - a reader that disappeared is reported UNKNOWN | UNAVAILABLE (not IGNORE) so that feeding
//    dwEventState back into dwCurrentState does not hide it forever;
//  - the "\\?PnP?\Notification" entry carries the reader add/remove count in bits 16-31 and
//    is never CHANGED just because dwCurrentState is UNAWARE.
// Pure functions: no locking, no I/O.
#pragma once

#include <cstdint>

#include "PCSC/winscard.h"
#include "common/bytes.h"

namespace ccidkit::api {

inline constexpr const char* kPnpNotification = "\\\\?PnP?\\Notification";

bool is_pnp_notification(const char* reader_name);

// What the core knows about a reader at one instant.
struct ReaderView {
    DWORD reader_state = SCARD_ABSENT;  // SCARD_UNKNOWN / ABSENT / PRESENT / SWALLOWED / POWERED ...
    int sharing = 0;                    // -1 exclusive, 0 unused, n > 0 shared or direct handles
    std::uint16_t event_counter = 0;
    ByteView atr;
};

// Each returns true when the entry's dwCurrentState is out of date (dwEventState then has
// SCARD_STATE_CHANGED). dwEventState, cbAtr and rgbAtr are rewritten.
bool evaluate_reader(SCARD_READERSTATE& entry, const ReaderView& view);
bool evaluate_missing_reader(SCARD_READERSTATE& entry);
// First look at the PnP entry when the call starts.
bool evaluate_pnp_initial(SCARD_READERSTATE& entry, std::uint16_t reader_events);
// Later looks: changed when the add/remove count moved since the call started.
bool evaluate_pnp(SCARD_READERSTATE& entry, std::uint16_t at_start, std::uint16_t now);

}  // namespace ccidkit::api

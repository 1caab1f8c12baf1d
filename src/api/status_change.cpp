#include "api/status_change.h"

#include <algorithm>
#include <cstring>
#include <strings.h>

namespace ccidkit::api {

bool is_pnp_notification(const char* reader_name) {
    return reader_name != nullptr && strcasecmp(reader_name, kPnpNotification) == 0;
}

bool evaluate_reader(SCARD_READERSTATE& entry, const ReaderView& view) {
    const DWORD current = entry.dwCurrentState;
    DWORD event = 0;
    bool changed = false;

    // The reader came back after the caller saw it disappear.
    if (current & SCARD_STATE_UNKNOWN) changed = true;

    const DWORD counter = view.event_counter;
    if ((current & 0xFFFF0000u) != 0 && ((current >> 16) & 0xFFFFu) != counter) changed = true;
    event |= counter << 16;

    if (view.reader_state & SCARD_UNKNOWN) {
        // pcsc-lite replaces the whole value here, event counter included.
        event = SCARD_STATE_UNAVAILABLE;
        if (!(current & SCARD_STATE_UNAVAILABLE)) changed = true;
    } else if (current & SCARD_STATE_UNAVAILABLE) {
        changed = true;
    }

    if (view.reader_state & SCARD_PRESENT) {
        const std::size_t n = std::min<std::size_t>(view.atr.size(), MAX_ATR_SIZE);
        entry.cbAtr = n;
        if (n != 0) std::memcpy(entry.rgbAtr, view.atr.data(), n);
    } else {
        entry.cbAtr = 0;
    }

    if (view.reader_state & SCARD_ABSENT) {
        event |= SCARD_STATE_EMPTY;
        if (current & SCARD_STATE_PRESENT) changed = true;
    } else if (view.reader_state & SCARD_PRESENT) {
        event |= SCARD_STATE_PRESENT;
        if (current & SCARD_STATE_EMPTY) changed = true;
        // pcsc-lite reports a card that failed to answer to reset as SWALLOWED -> MUTE.
        if (view.reader_state & SCARD_SWALLOWED) {
            event |= SCARD_STATE_MUTE;
            if (!(current & SCARD_STATE_MUTE)) changed = true;
        } else if (current & SCARD_STATE_MUTE) {
            changed = true;
        }
    }

    if (view.sharing < 0) {
        event |= SCARD_STATE_EXCLUSIVE;
        if (current & SCARD_STATE_INUSE) changed = true;
    } else if (view.sharing > 0) {
        if (view.reader_state & SCARD_PRESENT) {
            event |= SCARD_STATE_INUSE;
            if (current & SCARD_STATE_EXCLUSIVE) changed = true;
        }
    } else if (current & (SCARD_STATE_INUSE | SCARD_STATE_EXCLUSIVE)) {
        changed = true;
    }

    if (current == SCARD_STATE_UNAWARE) changed = true;
    if (changed) event |= SCARD_STATE_CHANGED;
    entry.dwEventState = event;
    return changed;
}

bool evaluate_missing_reader(SCARD_READERSTATE& entry) {
    DWORD event = SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE;
    const bool changed = !(entry.dwCurrentState & SCARD_STATE_UNKNOWN);
    if (changed) event |= SCARD_STATE_CHANGED;
    entry.dwEventState = event;
    entry.cbAtr = 0;
    return changed;
}

bool evaluate_pnp_initial(SCARD_READERSTATE& entry, std::uint16_t reader_events) {
    const DWORD previous = (entry.dwCurrentState >> 16) & 0xFFFFu;
    // A zero count in dwCurrentState means "not tracking" (older applications).
    const bool changed = previous != reader_events && previous != 0;
    entry.dwEventState = (static_cast<DWORD>(reader_events) << 16) | (changed ? SCARD_STATE_CHANGED : 0);
    entry.cbAtr = 0;
    return changed;
}

bool evaluate_pnp(SCARD_READERSTATE& entry, std::uint16_t at_start, std::uint16_t now) {
    if (now == at_start) return (entry.dwEventState & SCARD_STATE_CHANGED) != 0;
    entry.dwEventState = (static_cast<DWORD>(now) << 16) | SCARD_STATE_CHANGED;
    return true;
}

}  // namespace ccidkit::api

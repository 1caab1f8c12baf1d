// Deterministic fault injection knobs of ReaderSim. Counters are consumed one per affected
// reply, in order, so a test says exactly which replies go wrong ("the next 2 replies").
// set_faults() replaces the whole set; faults() shows what is left of the counters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "ccid/message_types.h"

namespace ccidkit::sim {

struct ReaderFaults {
    // Reply faults apply to final replies (not to time extensions) of commands of this type
    // only, or of every type when unset.
    std::optional<ccid::MessageType> only_for;

    // Each affected reply is preceded by a stale copy whose bSeq is one less (a reply the host
    // gave up on earlier, CCID 6.2: the host must match bSeq).
    unsigned stale_seq = 0;
    // Each affected reply carries extra abData bytes (dwLength consistent): oversize_bytes, or
    // when 0 just enough to exceed dwMaxCCIDMessageLength by one byte.
    unsigned oversize = 0;
    std::size_t oversize_bytes = 0;
    // Each affected reply announces truncate_bytes more in dwLength than it carries.
    unsigned truncated = 0;
    std::size_t truncate_bytes = 1;
    // Each affected reply is never sent: the host sees a timeout; the slot is free again.
    unsigned silent = 0;

    // IccPowerOn, XfrBlock, Secure and Escape never finish: time extension after time
    // extension, until the command is aborted (ABORT request) or, except for Escape, the card
    // is removed.
    bool endless_time_extension = false;

    // The next bulk_in calls fail with Stall; the endpoint then stays halted (every bulk_in
    // fails with Stall) until clear_halt(). Pending replies are kept.
    unsigned bulk_in_stalls = 0;

    // After this many Transport calls (any method, counted from set_faults()), the device is
    // gone: every call, including those blocked at that moment, fails with NoDevice.
    std::optional<std::size_t> disappear_after_calls;
};

}  // namespace ccidkit::sim

// The checks `ccidctl diag` runs on one reader (see cmd_diag.cpp for the command around it).
//
// Order: descriptor and quirks (no I/O); opening (drain, GetSlotStatus per slot, the clock and
// data-rate lists); the commands that need no card (GetSlotStatus, GetParameters, Escape);
// then, with a card in the slot: IccPowerOn at every voltage the reader offers, lowest first
// and never above what the card's class indicator allows (ISO/IEC 7816-3:2006 6.2.4), the full
// power-on with protocol and rate negotiation (PPS, SetParameters, IFSD), GetParameters /
// SetParameters round trip, short and extended APDUs at their limits, latency over repeated
// APDUs, time extensions seen, power off.
#pragma once

#include <functional>
#include <string>

#include "common/bytes.h"
#include "diag_report.h"
#include "readers.h"

namespace ccidkit::ccidctl {

struct DiagOptions {
    unsigned slot = 0;
    unsigned iterations = 20;  // APDUs for the latency figure
    bool touch_card = true;    // false: reader checks only, the card is never powered
    // SELECT by DF name without a name, Le 256: harmless, and every card answers it, if only with
    // an error status word.
    Bytes probe_apdu{0x00, 0xA4, 0x04, 0x00, 0x00};
    std::function<void(std::string_view)> progress;  // one line per step; may be empty
};

DiagReport run_diagnostics(const Context& ctx, const ReaderInfo& info, const DiagOptions& options);

}  // namespace ccidkit::ccidctl

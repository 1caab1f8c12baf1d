// Fault injection for a served reader, as text (what `ccid-simd ctl fault ...` sends):
// comma-separated KEY=N items changing the ReaderFaults counters of reader_faults.h.
//   stale_seq, oversize, truncated, silent, bulk_in_stalls   counters (0 .. 1000000)
//   endless_time_extension                                   0 or 1
//   clear                                                    (no value) every fault off first
// e.g. "silent=1" or "clear,truncated=2".
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "sim/reader/reader_faults.h"

namespace ccidkit::sim {

// `base` with the changes of `text` applied; an error message names the offending item.
std::expected<ReaderFaults, std::string> apply_fault_text(ReaderFaults base, std::string_view text);

}  // namespace ccidkit::sim

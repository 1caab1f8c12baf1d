// One decoded human-readable line per CCID message, for trace logging of USB traffic.
#pragma once

#include <cstddef>
#include <string>

#include "common/bytes.h"

namespace ccidkit::ccid {

// Renders a bulk message of either direction or an interrupt message (the type byte tells them
// apart), e.g. "PC_to_RDR_XfrBlock slot=0 seq=3 bBWI=0 wLevel=0000 len=5 data=00 A4 04 00 00".
// Safe on any input: malformed messages are shown with what could be read and the reason.
// At most `max_data_bytes` data bytes are printed, then "...(+N)".
std::string trace_message(ByteView message, std::size_t max_data_bytes = 512);

}  // namespace ccidkit::ccid

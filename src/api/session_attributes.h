// SCardGetAttrib() values that describe the card session a CCID slot has settled: the
// "current" IFD protocol attributes of PC/SC part 3 (class SCARD_CLASS_IFD_PROTOCOL).
// Encodings as the core's other attributes (src/api/attributes.h): DWORD values are 4 bytes,
// little endian. Units:
//   CURRENT_CLK           card clock in kHz (the reader's dwDefaultClock, as libccid uses it)
//   CURRENT_F / CURRENT_D the clock rate conversion and bit rate adjustment factors in force
//   CURRENT_N             extra guard time N (TC1)
//   CURRENT_W             T=0 waiting integer WI (TC2)
//   CURRENT_IFSC / IFSD   T=1 information field sizes in force (card / interface device)
//   CURRENT_EBC_ENCODING  T=1 error detection code: 0 LRC, 1 CRC
// T=1 attributes on a T=0 session (and CURRENT_W on T=1) have no value.
#pragma once

#include <cstdint>
#include <optional>

#include "ccid/slot.h"
#include "common/bytes.h"

namespace ccidkit::api {

// nullopt: the attribute is not a session attribute, or it has no value for this protocol.
std::optional<Bytes> session_attribute(std::uint32_t id, const ccid::CardSession& session);

}  // namespace ccidkit::api

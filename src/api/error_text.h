// Human readable text of the SCARD_* return codes (pcsc_stringify_error).
#pragma once

#include <string_view>

#include "PCSC/pcsclite.h"

namespace ccidkit::api {

// Empty for a code that is not an SCARD_* value.
std::string_view error_text(LONG code);

}  // namespace ccidkit::api

// Short meanings of ISO/IEC 7816-4:2020 status words (section 5.6, tables 5 and 6), for the
// scriptor-style output of `apdu` and `script`.
#pragma once

#include <cstdint>
#include <string>

namespace ccidkit::ccidctl {

// "Normal processing.", "Wrong length; 0x10 available", ... Never empty.
std::string describe_sw(std::uint16_t sw);

}  // namespace ccidkit::ccidctl

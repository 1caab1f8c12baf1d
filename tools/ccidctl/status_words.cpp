#include "status_words.h"

#include <fmt/format.h>

namespace ccidkit::ccidctl {

std::string describe_sw(std::uint16_t sw) {
    const auto sw1 = static_cast<std::uint8_t>(sw >> 8);
    const auto sw2 = static_cast<std::uint8_t>(sw);
    switch (sw) {
        case 0x9000: return "Normal processing.";
        case 0x6700: return "Checking error: wrong length.";
        case 0x6982: return "Checking error: security status not satisfied.";
        case 0x6983: return "Checking error: authentication method blocked.";
        case 0x6985: return "Checking error: conditions of use not satisfied.";
        case 0x6A80: return "Checking error: incorrect parameters in the data field.";
        case 0x6A81: return "Checking error: function not supported.";
        case 0x6A82: return "Checking error: file or application not found.";
        case 0x6A86: return "Checking error: incorrect parameters P1-P2.";
        case 0x6A88: return "Checking error: referenced data not found.";
        case 0x6D00: return "Checking error: instruction code not supported or invalid.";
        case 0x6E00: return "Checking error: class not supported.";
        case 0x6F00: return "Checking error: no precise diagnosis.";
        default: break;
    }
    switch (sw1) {
        case 0x61:
            return fmt::format("Normal processing: {} response bytes still available (GET RESPONSE).",
                               sw2 == 0 ? 256 : sw2);
        case 0x62: return "Warning: state of non-volatile memory unchanged.";
        case 0x63:
            if ((sw2 & 0xF0) == 0xC0) return fmt::format("Warning: counter is {}.", sw2 & 0x0F);
            return "Warning: state of non-volatile memory changed.";
        case 0x64: return "Execution error: state of non-volatile memory unchanged.";
        case 0x65: return "Execution error: state of non-volatile memory changed.";
        case 0x66: return "Execution error: security-related issue.";
        case 0x67: return "Checking error: wrong length.";
        case 0x68: return "Checking error: functions in CLA not supported.";
        case 0x69: return "Checking error: command not allowed.";
        case 0x6A: return "Checking error: wrong parameters P1-P2.";
        case 0x6B: return "Checking error: wrong parameters P1-P2.";
        case 0x6C: return fmt::format("Checking error: wrong Le field; {} bytes available.", sw2 == 0 ? 256 : sw2);
        case 0x6D: return "Checking error: instruction code not supported or invalid.";
        case 0x6E: return "Checking error: class not supported.";
        case 0x6F: return "Checking error: no precise diagnosis.";
        case 0x90: return "Normal processing (proprietary SW2).";
        default: break;
    }
    if (sw1 >= 0x91 && sw1 <= 0x9F) return "Proprietary status.";
    return "Unknown status word.";
}

}  // namespace ccidkit::ccidctl

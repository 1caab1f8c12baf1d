// The slot error register bError of RDR_to_PC messages when bmCommandStatus = 1
// (CCID Rev 1.1 section 6.2.6, Table 6.2-2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ccid/message_types.h"

namespace ccidkit::ccid {

// The fixed bError values of Table 6.2-2 (for readers/simulators that produce them).
namespace slot_error_code {
inline constexpr std::uint8_t kCommandNotSupported = 0x00;
inline constexpr std::uint8_t kCmdAborted = 0xFF;
inline constexpr std::uint8_t kIccMute = 0xFE;
inline constexpr std::uint8_t kXfrParityError = 0xFD;
inline constexpr std::uint8_t kXfrOverrun = 0xFC;
inline constexpr std::uint8_t kHwError = 0xFB;
inline constexpr std::uint8_t kBadAtrTs = 0xF8;
inline constexpr std::uint8_t kBadAtrTck = 0xF7;
inline constexpr std::uint8_t kIccProtocolNotSupported = 0xF6;
inline constexpr std::uint8_t kIccClassNotSupported = 0xF5;
inline constexpr std::uint8_t kProcedureByteConflict = 0xF4;
inline constexpr std::uint8_t kDeactivatedProtocol = 0xF3;
inline constexpr std::uint8_t kBusyWithAutoSequence = 0xF2;
inline constexpr std::uint8_t kPinTimeout = 0xF0;
inline constexpr std::uint8_t kPinCancelled = 0xEF;
inline constexpr std::uint8_t kCmdSlotBusy = 0xE0;
// 0x01..0x7F: offset of the rejected field in the command message.
inline constexpr std::uint8_t kFirstBadParameter = 0x01;
inline constexpr std::uint8_t kLastBadParameter = 0x7F;
// 0x81..0xC0: vendor ("user defined") errors; 0x80 and the gaps above are reserved.
inline constexpr std::uint8_t kFirstUserDefined = 0x81;
inline constexpr std::uint8_t kLastUserDefined = 0xC0;
}  // namespace slot_error_code

enum class SlotErrorKind {
    CommandNotSupported,      // 00
    BadParameter,             // 01..7F, index of the offending message field
    CmdAborted,               // FF
    IccMute,                  // FE
    XfrParityError,           // FD
    XfrOverrun,               // FC
    HwError,                  // FB
    BadAtrTs,                 // F8
    BadAtrTck,                // F7
    IccProtocolNotSupported,  // F6
    IccClassNotSupported,     // F5
    ProcedureByteConflict,    // F4
    DeactivatedProtocol,      // F3
    BusyWithAutoSequence,     // F2
    PinTimeout,               // F0
    PinCancelled,             // EF
    CmdSlotBusy,              // E0
    UserDefined,              // 81..C0
    Reserved,                 // 80 and every other undefined value
};

struct SlotError {
    SlotErrorKind kind = SlotErrorKind::CommandNotSupported;
    std::uint8_t code = 0;  // the raw bError

    // For BadParameter: offset of the rejected field in the command (1 = dwLength, 5 = bSlot,
    // 7..9 = message-specific bytes, 10+ = abData). nullopt for every other kind.
    std::optional<std::uint8_t> bad_parameter_offset() const;

    bool operator==(const SlotError&) const = default;
};

SlotError classify_slot_error(std::uint8_t bError);

std::string_view to_string(SlotErrorKind kind);

// One line for logs and error messages, e.g. "ICC_MUTE (FE): card did not answer (timeout)"
// or "bad parameter (07): bPowerSelect rejected" when the failed command's type is given.
std::string describe(const SlotError& error, std::optional<MessageType> command = std::nullopt);

// Name of the field at `offset` of a PC_to_RDR message of the given type, e.g. 7 in
// PC_to_RDR_IccPowerOn -> "bPowerSelect", 12 -> "abData[2]".
std::string field_name_at(MessageType command, std::uint8_t offset);

}  // namespace ccidkit::ccid

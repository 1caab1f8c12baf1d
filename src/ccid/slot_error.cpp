#include "ccid/slot_error.h"

#include <fmt/format.h>

namespace ccidkit::ccid {

std::optional<std::uint8_t> SlotError::bad_parameter_offset() const {
    if (kind != SlotErrorKind::BadParameter) return std::nullopt;
    return code;
}

SlotError classify_slot_error(std::uint8_t bError) {
    namespace c = slot_error_code;
    const auto kind = [bError] {
        switch (bError) {
            case c::kCommandNotSupported: return SlotErrorKind::CommandNotSupported;
            case c::kCmdAborted: return SlotErrorKind::CmdAborted;
            case c::kIccMute: return SlotErrorKind::IccMute;
            case c::kXfrParityError: return SlotErrorKind::XfrParityError;
            case c::kXfrOverrun: return SlotErrorKind::XfrOverrun;
            case c::kHwError: return SlotErrorKind::HwError;
            case c::kBadAtrTs: return SlotErrorKind::BadAtrTs;
            case c::kBadAtrTck: return SlotErrorKind::BadAtrTck;
            case c::kIccProtocolNotSupported: return SlotErrorKind::IccProtocolNotSupported;
            case c::kIccClassNotSupported: return SlotErrorKind::IccClassNotSupported;
            case c::kProcedureByteConflict: return SlotErrorKind::ProcedureByteConflict;
            case c::kDeactivatedProtocol: return SlotErrorKind::DeactivatedProtocol;
            case c::kBusyWithAutoSequence: return SlotErrorKind::BusyWithAutoSequence;
            case c::kPinTimeout: return SlotErrorKind::PinTimeout;
            case c::kPinCancelled: return SlotErrorKind::PinCancelled;
            case c::kCmdSlotBusy: return SlotErrorKind::CmdSlotBusy;
            default: break;
        }
        if (bError >= c::kFirstBadParameter && bError <= c::kLastBadParameter) return SlotErrorKind::BadParameter;
        if (bError >= c::kFirstUserDefined && bError <= c::kLastUserDefined) return SlotErrorKind::UserDefined;
        return SlotErrorKind::Reserved;
    }();
    return SlotError{kind, bError};
}

std::string_view to_string(SlotErrorKind kind) {
    switch (kind) {
        case SlotErrorKind::CommandNotSupported: return "CMD_NOT_SUPPORTED: command not supported by the reader";
        case SlotErrorKind::BadParameter: return "bad parameter: the reader rejected a field of the command";
        case SlotErrorKind::CmdAborted: return "CMD_ABORTED: the host aborted the command";
        case SlotErrorKind::IccMute: return "ICC_MUTE: the card did not answer in time";
        case SlotErrorKind::XfrParityError: return "XFR_PARITY_ERROR: parity error talking to the card";
        case SlotErrorKind::XfrOverrun: return "XFR_OVERRUN: overrun error talking to the card";
        case SlotErrorKind::HwError: return "HW_ERROR: reader hardware error";
        case SlotErrorKind::BadAtrTs: return "BAD_ATR_TS: the ATR has an invalid initial character TS";
        case SlotErrorKind::BadAtrTck: return "BAD_ATR_TCK: the ATR has a wrong check byte TCK";
        case SlotErrorKind::IccProtocolNotSupported:
            return "ICC_PROTOCOL_NOT_SUPPORTED: the card's protocol is not supported by the reader";
        case SlotErrorKind::IccClassNotSupported:
            return "ICC_CLASS_NOT_SUPPORTED: the card's voltage class is not supported by the reader";
        case SlotErrorKind::ProcedureByteConflict:
            return "PROCEDURE_BYTE_CONFLICT: the card sent an unexpected T=0 procedure byte";
        case SlotErrorKind::DeactivatedProtocol:
            return "DEACTIVATED_PROTOCOL: the requested protocol is deactivated in the reader";
        case SlotErrorKind::BusyWithAutoSequence:
            return "BUSY_WITH_AUTO_SEQUENCE: the reader is busy with an automatic activation or PPS";
        case SlotErrorKind::PinTimeout: return "PIN_TIMEOUT: no PIN was entered on the pinpad in time";
        case SlotErrorKind::PinCancelled: return "PIN_CANCELLED: PIN entry was cancelled on the pinpad";
        case SlotErrorKind::CmdSlotBusy: return "CMD_SLOT_BUSY: another command is running on this slot";
        case SlotErrorKind::UserDefined: return "vendor-defined reader error";
        case SlotErrorKind::Reserved: return "reserved (undefined) reader error code";
    }
    return "unknown reader error";
}

std::string field_name_at(MessageType command, std::uint8_t offset) {
    if (offset == 0) return "bMessageType";
    if (offset <= 4) return "dwLength";
    if (offset == 5) return "bSlot";
    if (offset == 6) return "bSeq";
    if (offset >= kHeaderSize) {
        const unsigned index = offset - kHeaderSize;
        if (command == MessageType::PcToRdrSecure && index == 0) return "bPINOperation";
        if (command == MessageType::PcToRdrSetParameters) return fmt::format("abProtocolDataStructure[{}]", index);
        if (command == MessageType::PcToRdrSetDataRateAndClockFrequency)
            return index < 4 ? "dwClockFrequency" : index < 8 ? "dwDataRate" : fmt::format("abData[{}]", index);
        return fmt::format("abData[{}]", index);
    }
    // Offsets 7..9: the message-specific header bytes of 6.1.
    const unsigned pos = offset - 7u;
    switch (command) {
        case MessageType::PcToRdrIccPowerOn: return pos == 0 ? "bPowerSelect" : "abRFU";
        case MessageType::PcToRdrXfrBlock:
        case MessageType::PcToRdrSecure: return pos == 0 ? "bBWI" : "wLevelParameter";
        case MessageType::PcToRdrSetParameters: return pos == 0 ? "bProtocolNum" : "abRFU";
        case MessageType::PcToRdrIccClock: return pos == 0 ? "bClockCommand" : "abRFU";
        case MessageType::PcToRdrT0Apdu:
            return pos == 0 ? "bmChanges" : pos == 1 ? "bClassGetResponse" : "bClassEnvelope";
        case MessageType::PcToRdrMechanical: return pos == 0 ? "bFunction" : "abRFU";
        default: return "abRFU";
    }
}

std::string describe(const SlotError& error, std::optional<MessageType> command) {
    if (error.kind == SlotErrorKind::BadParameter) {
        if (command) {
            return fmt::format("bad parameter ({:02X}): the reader rejected {} of {}", error.code,
                               field_name_at(*command, error.code), message_type_name(*command));
        }
        return fmt::format("bad parameter ({:02X}): the reader rejected the command field at offset {}",
                           error.code, error.code);
    }
    return fmt::format("{} ({:02X})", to_string(error.kind), error.code);
}

}  // namespace ccidkit::ccid

#include "ccid/reader_error.h"

#include <fmt/format.h>

namespace ccidkit::ccid {

std::string_view to_string(ReaderErrc e) {
    switch (e) {
        case ReaderErrc::Timeout: return "timeout: the reader did not answer in time";
        case ReaderErrc::ReaderGone: return "reader gone: the device was disconnected";
        case ReaderErrc::Cancelled: return "cancelled";
        case ReaderErrc::TransportFailed: return "USB transfer failed";
        case ReaderErrc::MalformedReply: return "malformed reply from the reader";
        case ReaderErrc::UnexpectedReply: return "unexpected reply from the reader";
        case ReaderErrc::TooManyStaleReplies: return "only stale replies from the reader";
        case ReaderErrc::FirmwareRefused: return "reader firmware known to be broken";
        case ReaderErrc::TimeExtensionLimit: return "the reader asked for too much extra time";
        case ReaderErrc::CardRemoved: return "card removed: no card in the slot";
        case ReaderErrc::CardNotPowered: return "card not powered";
        case ReaderErrc::CardMute: return "card mute: the card did not answer";
        case ReaderErrc::CardCommunication: return "card communication error";
        case ReaderErrc::CardChanged: return "card changed since it was powered on";
        case ReaderErrc::InvalidAtr: return "invalid ATR";
        case ReaderErrc::VoltageNotSupported: return "no supported voltage suits the card";
        case ReaderErrc::UnsupportedCard: return "card protocol not supported by the reader";
        case ReaderErrc::NoCommonProtocol: return "no protocol common to card, reader and caller";
        case ReaderErrc::NegotiationFailed: return "protocol negotiation (PPS) failed";
        case ReaderErrc::ProtocolError: return "transmission protocol error";
        case ReaderErrc::ResponseTooLong: return "response too long";
        case ReaderErrc::CommandNotSupported: return "command not supported by the reader";
        case ReaderErrc::BadParameter: return "the reader rejected a command parameter";
        case ReaderErrc::CommandAborted: return "command aborted";
        case ReaderErrc::HardwareError: return "reader hardware error";
        case ReaderErrc::SlotBusy: return "slot busy";
        case ReaderErrc::PinTimeout: return "PIN entry timed out";
        case ReaderErrc::PinCancelled: return "PIN entry cancelled";
        case ReaderErrc::ReaderFailure: return "the reader reported a failure";
        case ReaderErrc::InvalidApdu: return "invalid command APDU";
        case ReaderErrc::ApduTooLong: return "APDU too long for this reader";
        case ReaderErrc::CharacterLevelUnsupported: return "character-level readers are not supported";
        case ReaderErrc::InvalidSlot: return "no such slot";
        case ReaderErrc::InvalidArgument: return "invalid argument";
    }
    return "unknown reader error";
}

std::string describe(const ReaderError& e) {
    if (e.detail.empty()) return std::string(to_string(e.code));
    return fmt::format("{}: {}", to_string(e.code), e.detail);
}

ReaderError make_error(ReaderErrc code, std::string detail) { return ReaderError{code, std::move(detail), {}}; }

ReaderError from_transport(TransportError e, std::string_view what) {
    ReaderErrc code = ReaderErrc::TransportFailed;
    switch (e) {
        case TransportError::Timeout: code = ReaderErrc::Timeout; break;
        case TransportError::NoDevice: code = ReaderErrc::ReaderGone; break;
        case TransportError::Cancelled: code = ReaderErrc::Cancelled; break;
        case TransportError::Overflow: code = ReaderErrc::MalformedReply; break;
        case TransportError::Stall:
        case TransportError::Busy:
        case TransportError::Access:
        case TransportError::NotSupported:
        case TransportError::Io: code = ReaderErrc::TransportFailed; break;
    }
    return make_error(code, fmt::format("{}: {}", what, to_string(e)));
}

namespace {

ReaderErrc code_for(SlotErrorKind kind) {
    switch (kind) {
        case SlotErrorKind::CommandNotSupported: return ReaderErrc::CommandNotSupported;
        case SlotErrorKind::BadParameter: return ReaderErrc::BadParameter;
        case SlotErrorKind::CmdAborted: return ReaderErrc::CommandAborted;
        case SlotErrorKind::IccMute: return ReaderErrc::CardMute;
        case SlotErrorKind::XfrParityError:
        case SlotErrorKind::XfrOverrun:
        case SlotErrorKind::ProcedureByteConflict: return ReaderErrc::CardCommunication;
        case SlotErrorKind::HwError: return ReaderErrc::HardwareError;
        case SlotErrorKind::BadAtrTs:
        case SlotErrorKind::BadAtrTck: return ReaderErrc::InvalidAtr;
        case SlotErrorKind::IccProtocolNotSupported: return ReaderErrc::UnsupportedCard;
        case SlotErrorKind::IccClassNotSupported: return ReaderErrc::VoltageNotSupported;
        case SlotErrorKind::DeactivatedProtocol: return ReaderErrc::CardNotPowered;
        case SlotErrorKind::BusyWithAutoSequence:
        case SlotErrorKind::CmdSlotBusy: return ReaderErrc::SlotBusy;
        case SlotErrorKind::PinTimeout: return ReaderErrc::PinTimeout;
        case SlotErrorKind::PinCancelled: return ReaderErrc::PinCancelled;
        case SlotErrorKind::UserDefined:
        case SlotErrorKind::Reserved: return ReaderErrc::ReaderFailure;
    }
    return ReaderErrc::ReaderFailure;
}

}  // namespace

ReaderError from_failed_status(const Status& status, MessageType command) {
    const SlotError err = classify_slot_error(status.bError);
    ReaderError out;
    out.slot_error = err;
    const bool card_command = command == MessageType::PcToRdrIccPowerOn || command == MessageType::PcToRdrXfrBlock ||
                              command == MessageType::PcToRdrSecure;
    if (status.icc() == IccStatus::Absent && (card_command || err.kind == SlotErrorKind::IccMute)) {
        out.code = ReaderErrc::CardRemoved;
    } else if (status.icc() == IccStatus::PresentInactive && err.kind == SlotErrorKind::IccMute &&
               command != MessageType::PcToRdrIccPowerOn) {
        // Mute with the card inactive: the card was never activated (or has been deactivated).
        out.code = ReaderErrc::CardNotPowered;
    } else {
        out.code = code_for(err.kind);
    }
    out.detail = fmt::format("{} failed: {}", message_type_name(command), describe(err, command));
    return out;
}

}  // namespace ccidkit::ccid

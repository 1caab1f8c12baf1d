#include "ccid/message_decode_error.h"

namespace ccidkit::ccid {

std::string_view to_string(DecodeError e) {
    switch (e) {
        case DecodeError::TooShort: return "CCID message shorter than its header";
        case DecodeError::UnknownMessageType: return "unknown CCID message type";
        case DecodeError::UnexpectedMessageType: return "CCID message type not valid in this direction";
        case DecodeError::ExceedsMaxLength: return "CCID message longer than dwMaxCCIDMessageLength";
        case DecodeError::Truncated: return "CCID message truncated: dwLength announces more bytes than received";
        case DecodeError::TrailingBytes: return "CCID message has more bytes than its dwLength announces";
        case DecodeError::PayloadNotEmpty: return "CCID message must not carry data (dwLength must be 0)";
        case DecodeError::BadPayloadLength: return "CCID message data has the wrong fixed size";
        case DecodeError::BadPowerSelect: return "invalid bPowerSelect (must be 0..3)";
        case DecodeError::BadClockCommand: return "invalid bClockCommand (must be 0 or 1)";
        case DecodeError::BadMechanicalFunction: return "invalid bFunction (must be 1..5)";
        case DecodeError::MissingPinOperation: return "PC_to_RDR_Secure without bPINOperation";
        case DecodeError::BadPinOperation: return "invalid bPINOperation (must be 0..6)";
        case DecodeError::BadProtocolNum: return "invalid bProtocolNum (must be 0 for T=0 or 1 for T=1)";
        case DecodeError::BadProtocolDataLength:
            return "protocol data structure has the wrong size (5 bytes for T=0, 7 for T=1)";
        case DecodeError::BadTcck: return "invalid bmTCCKS (convention/checksum byte)";
        case DecodeError::BadClockStop: return "invalid bClockStop (must be 0..3)";
        case DecodeError::BadIfsc: return "invalid bIFSC (must be 1..254)";
        case DecodeError::MissingSlotBitmap: return "RDR_to_PC_NotifySlotChange without slot bitmap";
        case DecodeError::SlotBitmapTooShort: return "RDR_to_PC_NotifySlotChange bitmap shorter than the slot count";
        case DecodeError::BadInterruptLength: return "RDR_to_PC_HardwareError must be exactly 4 bytes";
    }
    return "unknown CCID decode error";
}

std::uint8_t bad_parameter_offset(DecodeError e) {
    // Offsets of 6.1: 1 dwLength, 7 first message-specific byte, 10 abData[0].
    switch (e) {
        case DecodeError::TooShort:
        case DecodeError::UnknownMessageType:
        case DecodeError::UnexpectedMessageType:
        case DecodeError::MissingSlotBitmap:
        case DecodeError::SlotBitmapTooShort:
        case DecodeError::BadInterruptLength: return 0x00;
        case DecodeError::ExceedsMaxLength:
        case DecodeError::Truncated:
        case DecodeError::TrailingBytes:
        case DecodeError::PayloadNotEmpty:
        case DecodeError::BadPayloadLength:
        case DecodeError::MissingPinOperation:
        case DecodeError::BadProtocolDataLength: return 1;
        case DecodeError::BadPowerSelect:
        case DecodeError::BadClockCommand:
        case DecodeError::BadMechanicalFunction:
        case DecodeError::BadProtocolNum: return 7;
        case DecodeError::BadPinOperation: return 10;
        case DecodeError::BadTcck: return 11;        // abProtocolDataStructure[1]
        case DecodeError::BadClockStop: return 14;   // [4]
        case DecodeError::BadIfsc: return 15;        // [5], T=1 only
    }
    return 0x00;
}

}  // namespace ccidkit::ccid

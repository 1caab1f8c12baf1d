// Why a CCID message could not be decoded. Every malformed or hostile input maps to one of
// these; decoders never read outside the received bytes.
#pragma once

#include <cstdint>
#include <string_view>

namespace ccidkit::ccid {

enum class DecodeError {
    // Framing shared by every bulk message (6.1, 6.2).
    TooShort,                // fewer bytes than the 10-byte header (or the 4-byte HardwareError)
    UnknownMessageType,      // bMessageType is not a CCID 1.1 message
    UnexpectedMessageType,   // a valid type, but of the other direction/pipe
    ExceedsMaxLength,        // 10 + dwLength exceeds the caller's dwMaxCCIDMessageLength
    Truncated,               // dwLength announces more bytes than were received
    TrailingBytes,           // more bytes were received than dwLength announces
    // Message-specific rules.
    PayloadNotEmpty,         // dwLength must be 0 for this message
    BadPayloadLength,        // fixed-size payload (8 bytes of rate + clock) has another size
    BadPowerSelect,          // bPowerSelect > 3 (6.1.1)
    BadClockCommand,         // bClockCommand > 1 (6.1.9)
    BadMechanicalFunction,   // bFunction not 1..5 (6.1.12)
    MissingPinOperation,     // Secure starting a command without bPINOperation (6.1.11)
    BadPinOperation,         // bPINOperation > 6
    BadProtocolNum,          // bProtocolNum not 0 (T=0) or 1 (T=1) (6.1.7)
    BadProtocolDataLength,   // abProtocolDataStructure not 5 (T=0) or 7 (T=1) bytes
    BadTcck,                 // bmTCCKST0 not 00/02, or bmTCCKST1 not 10..13
    BadClockStop,            // bClockStop > 3
    BadIfsc,                 // bIFSC 00 or FF (ISO/IEC 7816-3 11.4.2 allows 01..FE)
    // Interrupt-IN (6.3).
    MissingSlotBitmap,       // NotifySlotChange without a single bmSlotICCState byte
    SlotBitmapTooShort,      // fewer bitmap bytes than the caller's slot count needs
    BadInterruptLength,      // HardwareError longer than 4 bytes
};

std::string_view to_string(DecodeError e);

// The bError a reader reports when a PC_to_RDR message fails to decode this way
// (Table 6.2-2: offset of the rejected field, or 00 "command not supported").
std::uint8_t bad_parameter_offset(DecodeError e);

}  // namespace ccidkit::ccid

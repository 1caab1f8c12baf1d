// Errors of the host-side CCID driver (reader, slots, exchange levels). Every failure the
// driver reports is one of these codes plus a detail string; failed CCID commands keep the
// reader's bError (CCID Rev 1.1 section 6.2.6, Table 6.2-2) so callers can still see it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ccid/message_status.h"
#include "ccid/slot_error.h"
#include "ccid/transport.h"

namespace ccidkit::ccid {

enum class ReaderErrc {
    // The USB side.
    Timeout,              // the reader did not answer in time (after which it was sent ABORT)
    ReaderGone,           // the device disappeared (unplugged): nothing more will work
    Cancelled,            // Transport::cancel() woke the call
    TransportFailed,      // any other USB transfer error (stall, I/O, access, ...)
    MalformedReply,       // the reader's message failed to decode (truncated, oversize, ...)
    UnexpectedReply,      // a well-formed message of the wrong type for the command
    TooManyStaleReplies,  // only replies to other commands kept arriving
    FirmwareRefused,      // the reader's firmware is known broken (Quirks::min_firmware)
    TimeExtensionLimit,   // the reader kept asking for more time beyond the bounds
    // The card.
    CardRemoved,          // no card in the slot (absent, or removed during the command)
    CardNotPowered,       // the card is present but not active (power it on first)
    CardMute,             // the card did not answer (ICC_MUTE)
    CardCommunication,    // parity error, overrun or procedure byte conflict on the card link
    CardChanged,          // the card was removed/reinserted since it was powered on
    InvalidAtr,           // the ATR is missing or cannot be decoded well enough to use
    VoltageNotSupported,  // no voltage the reader offers suits the card (ICC_CLASS_NOT_SUPPORTED)
    UnsupportedCard,      // the card's protocol is not supported (ICC_PROTOCOL_NOT_SUPPORTED)
    NoCommonProtocol,     // negotiation: nothing both the card and the reader support
    NegotiationFailed,    // PPS refused or garbled even after the fallback
    ProtocolError,        // the T=0 / T=1 engine gave up (see detail)
    ResponseTooLong,      // the response exceeds what the driver accepts (65536 + 2)
    // The reader's verdict on a command.
    CommandNotSupported,  // bError 00
    BadParameter,         // bError 01..7F: the reader rejected a field of the command
    CommandAborted,       // bError FF (CMD_ABORTED)
    HardwareError,        // bError FB, or an interrupt HardwareError (e.g. overcurrent)
    SlotBusy,             // bError E0 / F2: the slot is busy
    PinTimeout,           // bError F0 (only outside Secure, which maps it to SW 6400)
    PinCancelled,         // bError EF (only outside Secure, which maps it to SW 6401)
    ReaderFailure,        // another (vendor or reserved) bError
    // The caller.
    InvalidApdu,          // empty or malformed command APDU
    ApduTooLong,          // the APDU does not fit the reader's exchange level
    CharacterLevelUnsupported,  // character-level readers are not driven by this stack
    InvalidSlot,          // no such slot
    InvalidArgument,      // another bad argument (detail says which)
};

std::string_view to_string(ReaderErrc e);

struct ReaderError {
    ReaderErrc code = ReaderErrc::ReaderFailure;
    std::string detail;                 // what exactly happened, for logs and users
    std::optional<SlotError> slot_error;  // the reader's bError when a command failed

    bool operator==(const ReaderError&) const = default;
};

// "card removed: ..." — the code's message followed by the detail.
std::string describe(const ReaderError& e);

ReaderError make_error(ReaderErrc code, std::string detail = {});

// USB-level failure -> driver error (Timeout, NoDevice -> ReaderGone, Cancelled, ...).
ReaderError from_transport(TransportError e, std::string_view what);

// A failed CCID command (bmCommandStatus = 1) -> driver error. For commands that reach the
// card (IccPowerOn, XfrBlock, Secure) and for ICC_MUTE, ICC status "absent" wins over bError:
// no card, whatever error the reader names (libccid reads ICC_MUTE + absent the same way).
ReaderError from_failed_status(const Status& status, MessageType command);

}  // namespace ccidkit::ccid

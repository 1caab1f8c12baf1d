// Bulk-OUT command messages, PC_to_RDR_* (CCID Rev 1.1 section 6.1): one struct per message,
// encoders for the host side and a strict decoder for the reader simulator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <variant>

#include "ccid/message_decode_error.h"
#include "ccid/message_protocol_data.h"
#include "ccid/message_types.h"
#include "common/bytes.h"

namespace ccidkit::ccid {

namespace pc_to_rdr {

struct IccPowerOn {  // 62h, 6.1.1
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    PowerSelect bPowerSelect = PowerSelect::Automatic;
    bool operator==(const IccPowerOn&) const = default;
};

struct IccPowerOff {  // 63h, 6.1.2
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    bool operator==(const IccPowerOff&) const = default;
};

struct GetSlotStatus {  // 65h, 6.1.3
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    bool operator==(const GetSlotStatus&) const = default;
};

struct XfrBlock {  // 6Fh, 6.1.4
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    std::uint8_t bBWI = 0;              // BWT multiplier for this block (T=1 TPDU readers)
    std::uint16_t wLevelParameter = 0;  // expected length (character level) or chain code (chain::)
    Bytes abData;
    bool operator==(const XfrBlock&) const = default;
};

struct GetParameters {  // 6Ch, 6.1.5
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    bool operator==(const GetParameters&) const = default;
};

struct ResetParameters {  // 6Dh, 6.1.6
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    bool operator==(const ResetParameters&) const = default;
};

struct SetParameters {  // 61h, 6.1.7; bProtocolNum follows from the structure's type
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    ProtocolParameters parameters = T0Parameters{};
    bool operator==(const SetParameters&) const = default;
};

struct Escape {  // 6Bh, 6.1.8
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    Bytes abData;
    bool operator==(const Escape&) const = default;
};

struct IccClock {  // 6Eh, 6.1.9
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    ClockCommand bClockCommand = ClockCommand::Restart;
    bool operator==(const IccClock&) const = default;
};

struct T0Apdu {  // 6Ah, 6.1.10
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    std::uint8_t bmChanges = 0;  // bit 0: take bClassGetResponse, bit 1: take bClassEnvelope
    std::uint8_t bClassGetResponse = 0;
    std::uint8_t bClassEnvelope = 0;
    bool operator==(const T0Apdu&) const = default;
};

struct Secure {  // 69h, 6.1.11
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    std::uint8_t bBWI = 0;
    std::uint16_t wLevelParameter = 0;
    // bPINOperation followed by the PIN data structure when this message starts a command
    // (wLevelParameter 0000h or 0001h); continuation data otherwise. See message_pin.h.
    Bytes abData;

    std::optional<PinOperation> pin_operation() const;
    bool operator==(const Secure&) const = default;
};

struct Mechanical {  // 71h, 6.1.12
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    MechanicalFunction bFunction = MechanicalFunction::Eject;
    bool operator==(const Mechanical&) const = default;
};

struct Abort {  // 72h, 6.1.13; pairs with the ABORT class request (5.3.1)
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    bool operator==(const Abort&) const = default;
};

struct SetDataRateAndClockFrequency {  // 73h, 6.1.14
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    std::uint32_t dwClockFrequency = 0;  // kHz
    std::uint32_t dwDataRate = 0;        // bps
    bool operator==(const SetDataRateAndClockFrequency&) const = default;
};

}  // namespace pc_to_rdr

using Command = std::variant<pc_to_rdr::IccPowerOn, pc_to_rdr::IccPowerOff, pc_to_rdr::GetSlotStatus,
                             pc_to_rdr::XfrBlock, pc_to_rdr::GetParameters, pc_to_rdr::ResetParameters,
                             pc_to_rdr::SetParameters, pc_to_rdr::Escape, pc_to_rdr::IccClock, pc_to_rdr::T0Apdu,
                             pc_to_rdr::Secure, pc_to_rdr::Mechanical, pc_to_rdr::Abort,
                             pc_to_rdr::SetDataRateAndClockFrequency>;

Bytes encode(const pc_to_rdr::IccPowerOn& m);
Bytes encode(const pc_to_rdr::IccPowerOff& m);
Bytes encode(const pc_to_rdr::GetSlotStatus& m);
Bytes encode(const pc_to_rdr::XfrBlock& m);
Bytes encode(const pc_to_rdr::GetParameters& m);
Bytes encode(const pc_to_rdr::ResetParameters& m);
Bytes encode(const pc_to_rdr::SetParameters& m);
Bytes encode(const pc_to_rdr::Escape& m);
Bytes encode(const pc_to_rdr::IccClock& m);
Bytes encode(const pc_to_rdr::T0Apdu& m);
Bytes encode(const pc_to_rdr::Secure& m);
Bytes encode(const pc_to_rdr::Mechanical& m);
Bytes encode(const pc_to_rdr::Abort& m);
Bytes encode(const pc_to_rdr::SetDataRateAndClockFrequency& m);
Bytes encode(const Command& m);

MessageType message_type(const Command& m);
std::uint8_t slot_of(const Command& m);
std::uint8_t seq_of(const Command& m);

// Decodes one whole bulk-OUT message. `max_message_length` is the reader's
// dwMaxCCIDMessageLength (header included). RFU bytes are ignored, not judged.
std::expected<Command, DecodeError> decode_command(ByteView message, std::size_t max_message_length);

}  // namespace ccidkit::ccid

// Bulk-IN response messages, RDR_to_PC_* (CCID Rev 1.1 section 6.2): one struct per message,
// a hostile-input-safe decoder for the host side and encoders for the reader simulator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <variant>

#include "ccid/message_decode_error.h"
#include "ccid/message_protocol_data.h"
#include "ccid/message_status.h"
#include "ccid/message_types.h"
#include "common/bytes.h"

namespace ccidkit::ccid {

namespace rdr_to_pc {

struct DataBlock {  // 80h, 6.2.1: answers IccPowerOn (ATR), XfrBlock, Secure
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    Status status;
    std::uint8_t bChainParameter = chain::kBeginsAndEnds;
    Bytes abData;
    bool operator==(const DataBlock&) const = default;
};

struct SlotStatus {  // 81h, 6.2.2
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    Status status;
    std::uint8_t bClockStatus = 0;  // see ClockStatus; kept raw, every byte value is reported as-is

    ClockStatus clock_status() const { return static_cast<ClockStatus>(bClockStatus & 0x03); }
    bool operator==(const SlotStatus&) const = default;
};

struct Parameters {  // 82h, 6.2.3
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    Status status;
    std::uint8_t bProtocolNum = 0;
    Bytes abProtocolDataStructure;  // raw: a failed command may carry none

    // The structure decoded strictly (see decode_protocol_data).
    std::expected<ProtocolParameters, DecodeError> parameters() const {
        return decode_protocol_data(bProtocolNum, abProtocolDataStructure);
    }
    bool operator==(const Parameters&) const = default;
};

struct Escape {  // 83h, 6.2.4
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    Status status;
    Bytes abData;
    bool operator==(const Escape&) const = default;
};

struct DataRateAndClockFrequency {  // 84h, 6.2.5
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    Status status;
    std::uint32_t dwClockFrequency = 0;  // kHz
    std::uint32_t dwDataRate = 0;        // bps
    bool operator==(const DataRateAndClockFrequency&) const = default;
};

// Builds a Parameters response from a decoded structure.
Parameters make_parameters(std::uint8_t slot, std::uint8_t seq, Status status, const ProtocolParameters& params);

}  // namespace rdr_to_pc

using Response = std::variant<rdr_to_pc::DataBlock, rdr_to_pc::SlotStatus, rdr_to_pc::Parameters, rdr_to_pc::Escape,
                              rdr_to_pc::DataRateAndClockFrequency>;

Bytes encode(const rdr_to_pc::DataBlock& m);
Bytes encode(const rdr_to_pc::SlotStatus& m);
Bytes encode(const rdr_to_pc::Parameters& m);
Bytes encode(const rdr_to_pc::Escape& m);
Bytes encode(const rdr_to_pc::DataRateAndClockFrequency& m);
Bytes encode(const Response& m);

MessageType message_type(const Response& m);
std::uint8_t slot_of(const Response& m);
std::uint8_t seq_of(const Response& m);
Status status_of(const Response& m);

// Decodes one whole bulk-IN transfer. `max_message_length` is the reader's
// dwMaxCCIDMessageLength (header included). Values of status and parameter bytes are kept
// raw (a reader reporting an odd value is still understood); only the framing and the
// fixed sizes of 6.2 are enforced: SlotStatus carries no data, DataRateAndClockFrequency
// carries 8 bytes (or none when the command failed).
std::expected<Response, DecodeError> decode_response(ByteView message, std::size_t max_message_length);

}  // namespace ccidkit::ccid

// abProtocolDataStructure of PC_to_RDR_SetParameters and RDR_to_PC_Parameters
// (CCID Rev 1.1 section 6.1.7, Tables 6.1-3 and 6.1-4).
#pragma once

#include <cstdint>
#include <expected>
#include <variant>

#include "ccid/message_decode_error.h"
#include "common/bytes.h"

namespace ccidkit::ccid {

// Defaults are the ISO/IEC 7816-3 values before any PPS or ATR interface byte applies.
struct T0Parameters {
    std::uint8_t bmFindexDindex = 0x11;     // high nibble Fi index (TA1), low nibble Di index
    std::uint8_t bmTCCKST0 = 0x00;          // bit 1: 0 direct, 1 inverse convention
    std::uint8_t bGuardTimeT0 = 0x00;       // extra guard time N (TC1)
    std::uint8_t bWaitingIntegerT0 = 0x0A;  // WI (TC2)
    std::uint8_t bClockStop = 0x00;         // 0 not allowed, 1 low, 2 high, 3 either

    bool inverse_convention() const { return (bmTCCKST0 & 0x02) != 0; }
    bool operator==(const T0Parameters&) const = default;
};

struct T1Parameters {
    std::uint8_t bmFindexDindex = 0x11;
    std::uint8_t bmTCCKST1 = 0x10;            // 0001 00cx: bit 0 CRC (else LRC), bit 1 inverse
    std::uint8_t bGuardTimeT1 = 0x00;         // extra guard time N (TC1)
    std::uint8_t bmWaitingIntegersT1 = 0x4D;  // high nibble BWI, low nibble CWI (TB3)
    std::uint8_t bClockStop = 0x00;
    std::uint8_t bIFSC = 0x20;                // TA3, 1..254
    std::uint8_t bNadValue = 0x00;

    bool uses_crc() const { return (bmTCCKST1 & 0x01) != 0; }
    bool inverse_convention() const { return (bmTCCKST1 & 0x02) != 0; }
    bool operator==(const T1Parameters&) const = default;
};

using ProtocolParameters = std::variant<T0Parameters, T1Parameters>;

inline constexpr std::size_t kT0ProtocolDataSize = 5;
inline constexpr std::size_t kT1ProtocolDataSize = 7;

// bProtocolNum for the structure (0 for T=0, 1 for T=1).
std::uint8_t protocol_num(const ProtocolParameters& params);

Bytes encode_protocol_data(const ProtocolParameters& params);

// Strict: the size must match the protocol, and bmTCCKS, bClockStop and bIFSC must hold
// defined values. Other fields (Fi/Di, guard time, waiting integers, NAD) are not judged here.
std::expected<ProtocolParameters, DecodeError> decode_protocol_data(std::uint8_t bProtocolNum, ByteView data);

}  // namespace ccidkit::ccid

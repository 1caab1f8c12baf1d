// Moving one command APDU through a CCID reader at its exchange level (CCID Rev 1.1 section
// 6.1.4 PC_to_RDR_XfrBlock, 6.2.1 RDR_to_PC_DataBlock, dwFeatures bits 16-18 of 5.1):
//  - TPDU, T=0: the host runs proto::T0Exchange, one TPDU per XfrBlock;
//  - TPDU, T=1: the host runs proto::T1Engine, one block per XfrBlock, with the card's S(WTX)
//    multiplier passed in bBWI and applied to the host's wait;
//  - short APDU: one XfrBlock with the whole APDU (short length fields, at most 261 bytes, 5.1);
//  - extended APDU: the APDU cut into dwMaxCCIDMessageLength-sized parts chained with
//    wLevelParameter 01h/03h/02h, each intermediate part answered by an empty DataBlock with
//    bChainParameter 10h; the response chained with bChainParameter 01h/03h/02h and fetched
//    with empty XfrBlocks carrying wLevelParameter 10h. At most 65536 + 2 response bytes;
//  - character level: refused (ReaderErrc::CharacterLevelUnsupported).
// When the reader (not the card) fails, the T=1 engine is put back to Idle with its block sizes
// kept, so the slot's next APDU is not refused; the T=0 exchange is dropped likewise.
// The functions only see an XfrFunction (one XfrBlock round trip), so they are independent of
// the slot, the reader and the USB transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>

#include "ccid/reader_error.h"
#include "ccid/timeouts.h"
#include "common/bytes.h"
#include "protocol/t0_exchange.h"
#include "protocol/t1_engine.h"

namespace ccidkit::ccid {

struct XfrRequest {
    std::uint8_t bBWI = 0;
    std::uint16_t wLevelParameter = 0;
    ByteView data;
    Millis timeout{0};
};

struct XfrReply {
    std::uint8_t bChainParameter = 0;
    Bytes data;
};

// One PC_to_RDR_XfrBlock and its RDR_to_PC_DataBlock; a failed command comes back as the
// mapped ReaderError (slot_error set).
using XfrFunction = std::function<std::expected<XfrReply, ReaderError>(const XfrRequest&)>;

struct TransferSetup {
    CardTiming timing;
    std::size_t max_message_length = 271;  // dwMaxCCIDMessageLength, header included
    Millis extra_timeout{0};               // Quirks::extra_timeout
};

// Largest response the driver accepts: 65536 data bytes + SW1 SW2.
inline constexpr std::size_t kMaxResponseApdu = 65538;
// Short APDU level limit (CCID 5.1): CLA INS P1 P2 Lc 255 data Le.
inline constexpr std::size_t kMaxShortApdu = 261;

// `base` with ENVELOPE segments and GET RESPONSE Le sized so that every TPDU and R-TPDU fits
// in setup.max_message_length (and the GET RESPONSE round budget raised to match).
proto::T0ExchangeOptions fit_t0_options(proto::T0ExchangeOptions base, const TransferSetup& setup);

// Refuses (ApduTooLong, nothing sent) a command whose single case-3 TPDU (5 + Nc bytes) does
// not fit in setup.max_message_length.
std::expected<Bytes, ReaderError> transfer_t0_tpdu(ByteView apdu, proto::T0Exchange& engine,
                                                   const TransferSetup& setup, const XfrFunction& xfr);

std::expected<Bytes, ReaderError> transfer_t1_tpdu(ByteView apdu, proto::T1Engine& engine,
                                                   const TransferSetup& setup, const XfrFunction& xfr);

// Stand-alone S(IFS request) exchange (ISO/IEC 7816-3:2006 11.4.2, Rule 4).
std::expected<void, ReaderError> negotiate_t1_ifsd(std::uint8_t ifsd, proto::T1Engine& engine,
                                                   const TransferSetup& setup, const XfrFunction& xfr);

// PC_to_RDR_Secure at TPDU level, T=1: the reader sent the first I-block itself (with the
// host's bTeoPrologue, taken from the engine's first block) and `first_reply` is the card's
// answer. Runs the rest (WTX, chained response) and returns the response APDU. A request to
// send that I-block again fails the exchange (the host only has the PIN-less template) and
// resets the engine's numbering, which the next exchange resynchronises.
std::expected<Bytes, ReaderError> continue_t1_after_reader_block(ByteView first_reply, proto::T1Engine& engine,
                                                                 const TransferSetup& setup, const XfrFunction& xfr);

// Refuses APDUs above kMaxShortApdu or above the message length, and extended length fields.
std::expected<Bytes, ReaderError> transfer_short_apdu(ByteView apdu, const TransferSetup& setup,
                                                      const XfrFunction& xfr);

std::expected<Bytes, ReaderError> transfer_extended_apdu(ByteView apdu, const TransferSetup& setup,
                                                         const XfrFunction& xfr);

// Ne + 2 for a well-formed APDU (the response size to plan the wait for), else `fallback`.
std::size_t expected_response_size(ByteView apdu, std::size_t fallback);

}  // namespace ccidkit::ccid

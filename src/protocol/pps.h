// Protocol and parameters selection (ISO/IEC 7816-3:2006 clause 9): building the PPS request
// and checking the card's response against it.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "common/bytes.h"

namespace ccidkit::proto {

inline constexpr std::uint8_t kPpss = 0xFF;
// PPSS, PPS0, PPS1, PPS2, PPS3, PCK.
inline constexpr std::size_t kMaxPpsLength = 6;

struct PpsRequest {
    std::uint8_t protocol = 0;       // T proposed in PPS0 bits 4-1 (0..14)
    std::optional<std::uint8_t> pps1;  // Fi/Di codes as in TA1; absent proposes Fd/Dd
    std::optional<std::uint8_t> pps2;  // SPU, coded as the first TB for T=15
    std::optional<std::uint8_t> pps3;  // RFU

    bool operator==(const PpsRequest&) const = default;
};

enum class PpsError : std::uint8_t {
    InvalidProtocol,       // request: T above 14 (T=15 is not a protocol)
    InvalidPps1,           // request: PPS1 holds an RFU Fi or Di code
    ResponseTooShort,      // fewer bytes than PPSS, PPS0, PCK or than PPS0 announces
    ResponseBadPpss,       // first byte is not FF
    ResponseReservedBit,   // PPS0 bit 8 set
    ResponseTooLong,       // bytes after the PCK that PPS0 places
    ResponsePckMismatch,   // XOR of PPSS..PCK is not 00
    ProtocolNotEchoed,     // PPS0 bits 4-1 differ from the request
    UnrequestedParameter,  // PPS1/2/3 present in the response but not in the request
    Pps1NotEchoed,
    Pps2NotEchoed,
    Pps3NotEchoed,
};
std::string_view to_string(PpsError error);

// Encodes PPSS, PPS0, the present PPS1..3 and PCK (9.2).
std::expected<Bytes, PpsError> build_pps_request(const PpsRequest& request);

// What a successful exchange settled (9.3): Fn/Dn are Fd/Dd when the card dropped PPS1.
struct PpsResult {
    std::uint8_t protocol = 0;
    std::uint8_t fi_code = 1;
    std::uint8_t di_code = 1;
    std::uint16_t f = 372;
    std::uint8_t d = 1;
    bool pps1_accepted = false;
    bool spu_accepted = false;  // PPS2 echoed
};

// Checks a PPS response against the request that was sent (9.3).
std::expected<PpsResult, PpsError> check_pps_response(const PpsRequest& request, ByteView response);

}  // namespace ccidkit::proto

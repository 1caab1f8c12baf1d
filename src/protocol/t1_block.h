// T=1 block codec (ISO/IEC 7816-3:2006 clause 11.3): prologue NAD PCB LEN, INF, epilogue EDC.
//
// PCB coding (11.3.2.2):
//   I-block 0 N(S) M 0 0 0 0 0        N(S) = bit 7 (0x40), M = more data (0x20)
//   R-block 1 0 0 N(R) e e e e        N(R) = bit 5 (0x10), e = 0 OK, 1 EDC/parity, 2 other
//   S-block 1 1 r t t t t t           r = response (0x20); t = 0 RESYNCH, 1 IFS, 2 ABORT,
//                                     3 WTX, 4 VPP error (response only, obsolete)
// Bits the standard marks RFU must be 0; decode rejects anything else as an invalid block, so
// the engine answers it with an R-block (Rule 7.1) rather than guessing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "protocol/t1_edc.h"

namespace ccidkit::proto {

// INF carries at most 254 bytes; LEN = FF is invalid (11.3.2.3).
inline constexpr std::size_t kT1MaxInf = 254;
// IFSC and IFSD before any S(IFS) exchange or TA(i) (11.4.2).
inline constexpr std::uint8_t kT1DefaultIfs = 32;
inline constexpr std::size_t kT1PrologueSize = 3;

enum class T1BlockType : std::uint8_t { I, R, S };
enum class T1RCode : std::uint8_t { Ok = 0, EdcError = 1, OtherError = 2 };
enum class T1SKind : std::uint8_t { Resynch = 0, Ifs = 1, Abort = 2, Wtx = 3, VppError = 4 };

std::string_view to_string(T1BlockType type);
std::string_view to_string(T1RCode code);
std::string_view to_string(T1SKind kind);

// NAD as seen by the other side: source and destination addresses swapped (11.3.2.1).
constexpr std::uint8_t swap_nad(std::uint8_t nad) {
    return static_cast<std::uint8_t>(((nad & 0x0Fu) << 4) | (nad >> 4));
}

// One block, EDC excluded. Accessors are meaningful for the matching block type only.
struct T1Block {
    std::uint8_t nad = 0;
    std::uint8_t pcb = 0;
    Bytes inf;

    T1BlockType type() const;
    // I-block
    std::uint8_t ns() const { return (pcb >> 6) & 1u; }
    bool more() const { return (pcb & 0x20u) != 0; }
    // R-block
    std::uint8_t nr() const { return (pcb >> 4) & 1u; }
    T1RCode r_code() const { return static_cast<T1RCode>(pcb & 0x0Fu); }
    // S-block
    T1SKind s_kind() const { return static_cast<T1SKind>(pcb & 0x1Fu); }
    bool is_response() const { return (pcb & 0x20u) != 0; }
    bool is_s(T1SKind kind, bool response) const {
        return type() == T1BlockType::S && s_kind() == kind && is_response() == response;
    }
    // INF[0] of S(IFS) / S(WTX); 0 when absent.
    std::uint8_t s_value() const { return inf.empty() ? 0 : inf[0]; }

    static T1Block i_block(std::uint8_t nad, std::uint8_t ns, bool more, ByteView inf);
    static T1Block r_block(std::uint8_t nad, std::uint8_t nr, T1RCode code);
    static T1Block s_block(std::uint8_t nad, T1SKind kind, bool response,
                           std::optional<std::uint8_t> value = std::nullopt);

    friend bool operator==(const T1Block&, const T1Block&) = default;
};

enum class T1BlockError : std::uint8_t {
    TooShort,          // fewer bytes than prologue + EDC
    LengthTooLarge,    // LEN = FF (INF is at most 254 bytes)
    LengthMismatch,    // the received size is not 3 + LEN + EDC size
    EdcMismatch,       // LRC/CRC does not match
    InvalidNad,        // NAD = FF (that value is PPSS, 11.3.2.1)
    InvalidPcb,        // RFU bits set, R-block error code 3..F, unknown S-block type
    InvalidInfLength,  // R-block with INF, or an S-block whose INF size does not fit its type
};
std::string_view to_string(T1BlockError error);

// The error code a receiver reports in its R-block for this problem (Rule 7.1): EDC failures
// are code 1, everything else code 2.
T1RCode r_code_for(T1BlockError error);

// Only fails (InvalidInfLength) when INF is longer than 254 bytes.
std::expected<Bytes, T1BlockError> encode(const T1Block& block, T1Edc edc);
std::expected<T1Block, T1BlockError> decode(ByteView raw, T1Edc edc);

// "I(0,M) 10 bytes", "R(1) EDC error", "S(WTX request 2)": for logs and test messages.
std::string describe(const T1Block& block);

}  // namespace ccidkit::proto

// Answer-to-Reset decoding (ISO/IEC 7816-3:2006 clause 8).
//
// parse_atr() never fails outright: it returns the best-effort decode together with the first
// problem found, so that a malformed ATR can still be displayed and, where the caller accepts
// the risk, used. The decode lives in fixed-size storage (an ATR is at most 33 bytes, 8.2.1),
// so parsing does not allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/bytes.h"
#include "protocol/t1_edc.h"

namespace ccidkit::proto {

// TS followed by at most 32 characters (8.2.1).
inline constexpr std::size_t kMaxAtrLength = 33;
inline constexpr std::size_t kMaxHistoricalBytes = 15;
// Every byte other than TS and T0 could in principle be an interface byte.
inline constexpr std::size_t kMaxInterfaceBytes = kMaxAtrLength - 2;

inline constexpr std::uint8_t kTsDirect = 0x3B;
inline constexpr std::uint8_t kTsInverse = 0x3F;
// 3F as it reads when an inverse-convention line is sampled with direct decoding.
inline constexpr std::uint8_t kTsInverseRaw = 0x03;

// Bit mask of protocols: bit T set for protocol T=T.
using ProtocolMask = std::uint16_t;
constexpr ProtocolMask protocol_bit(std::uint8_t t) {
    return static_cast<ProtocolMask>(1u << (t & 0x0F));
}

enum class Convention : std::uint8_t { Direct, Inverse };

// Converts one byte received under the inverse convention but sampled as direct convention:
// the levels are complemented and the bit order is reversed (8.1).
std::uint8_t inverse_convention_byte(std::uint8_t raw);
// Same for a whole buffer, in place, or into a new buffer.
void convert_inverse_convention(std::span<std::uint8_t> bytes);
Bytes inverse_convention_to_direct(ByteView raw);

enum class AtrError : std::uint8_t {
    None,
    Empty,                // no byte at all
    InvalidTs,            // TS is neither 3B, 3F nor the raw inverse form 03
    Truncated,            // T0 or an interface byte announced by T0/TDi is missing
    HistoricalTruncated,  // fewer historical bytes than T0 announces
    TckMissing,           // a protocol other than T=0 is indicated but no TCK follows
    TckMismatch,          // XOR of T0..TCK is not 00
    UnexpectedTck,        // only T=0 indicated, yet one extra byte that checks as a TCK follows
    TrailingBytes,        // bytes after the end of the ATR (after TCK, or after the historical bytes)
    TooLong,              // the ATR, as encoded by T0/TDi, is longer than 33 bytes
    InvalidFiDi,          // TA1 holds an RFU value of Fi or Di (tables 7 and 8)
};
std::string_view to_string(AtrError error);

// Problems that do not prevent using the card; the decoded value says what was done instead.
enum class AtrWarning : std::uint16_t {
    T15InTd1 = 1u << 0,     // TD1 indicates T=15, which is invalid there (8.2.3)
    WiZero = 1u << 1,       // TC2 = 00 is RFU (10.2); the default WI = 10 is used
    IfscInvalid = 1u << 2,  // IFSC 00 or FF is RFU (11.4.2); 00 -> default 32, FF -> 254
    BwiRfu = 1u << 3,       // BWI A..F is RFU (11.4.3); clamped to 9
};
inline constexpr AtrWarning kAllAtrWarnings[] = {AtrWarning::T15InTd1, AtrWarning::WiZero,
                                                 AtrWarning::IfscInvalid, AtrWarning::BwiRfu};
std::string_view to_string(AtrWarning warning);

enum class InterfaceByteKind : std::uint8_t { TA, TB, TC, TD };
std::string_view to_string(InterfaceByteKind kind);

struct InterfaceByte {
    InterfaceByteKind kind = InterfaceByteKind::TA;
    std::uint8_t index = 0;   // i of TAi/TBi/TCi/TDi, from 1
    std::uint8_t offset = 0;  // position in Atr::raw()
    std::uint8_t value = 0;
    // The T of TD(i-1): the protocol the group is specific to (15: global, 8.2.3). Absent
    // for group 1. By definition TA2 and TB2 are global and TC2 is specific to T=0 whatever
    // TD1 says; the derived values follow that rule.
    std::optional<std::uint8_t> group_protocol;
};

// The ATR selects the T=1 error detection code; one enum for both (t1_edc.h).
using Edc = T1Edc;

// T=1 parameters (11.4), from the first TA/TB/TC specific to T=1 (i > 2), else the defaults.
struct T1Parameters {
    std::uint8_t ifsc = 32;
    std::uint8_t cwi = 13;
    std::uint8_t bwi = 4;
    Edc edc = Edc::Lrc;
    std::optional<std::uint8_t> ifsc_byte;  // the raw first TA for T=1
    std::optional<std::uint8_t> cwi_bwi_byte;
    std::optional<std::uint8_t> edc_byte;
};

// TA2 (8.3): its presence puts the card in specific mode.
struct SpecificMode {
    std::uint8_t protocol = 0;         // bits 4-1
    bool implicit_parameters = false;  // bit 5: Fi/Di are implicit, not those of TA1
    bool can_change = false;           // bit 8 clear: the card can switch modes on warm reset
};

// Clock stop indicator X, bits 8-7 of the first TA after T=15 (8.3, table 10).
enum class ClockStop : std::uint8_t { NotSupported = 0, StateL = 1, StateH = 2, NoPreference = 3 };

// Class indicator Y bits (bits 6-1 of the first TA after T=15, table 11).
inline constexpr std::uint8_t kClassA = 0x01;  // 5 V
inline constexpr std::uint8_t kClassB = 0x02;  // 3 V
inline constexpr std::uint8_t kClassC = 0x04;  // 1.8 V

struct Atr {
    // Decoded bytes (after inverse-convention conversion when TS arrived as 03), at most
    // kMaxAtrLength of them; input_size counts what was handed to parse_atr.
    std::array<std::uint8_t, kMaxAtrLength> raw_bytes{};
    std::uint8_t raw_size = 0;
    std::size_t input_size = 0;
    bool converted_from_inverse = false;

    Convention convention = Convention::Direct;
    std::optional<std::uint8_t> t0;

    std::array<InterfaceByte, kMaxInterfaceBytes> interface_storage{};
    std::uint8_t interface_count = 0;

    std::uint8_t historical_offset = 0;
    std::uint8_t historical_expected = 0;  // K from T0
    std::uint8_t historical_count = 0;     // how many actually arrived

    bool tck_required = false;
    std::optional<std::uint8_t> tck;
    std::uint8_t end_offset = 0;  // one past the last byte belonging to the ATR

    // Derived (8.3). TA1 codes default to 1/1 when TA1 is absent; fi/fmax/di are nullopt when
    // the code is RFU.
    std::optional<std::uint8_t> ta1;
    std::uint8_t fi_code = 1;
    std::uint8_t di_code = 1;
    std::optional<std::uint16_t> fi;
    std::optional<std::uint32_t> fmax_khz;
    std::optional<std::uint8_t> di;

    std::optional<std::uint8_t> tc1;
    std::uint8_t extra_guard_time = 0;  // N (TC1), 255 meaning minimum guard time

    std::optional<std::uint8_t> tc2;
    std::uint8_t wi = 10;  // T=0 waiting time integer (10.2)

    T1Parameters t1;
    std::optional<SpecificMode> specific_mode;

    std::optional<std::uint8_t> t15_ta;  // first TA after T=15
    std::uint8_t class_indicator = kClassA;  // absent: class A only
    ClockStop clock_stop = ClockStop::NotSupported;
    std::optional<std::uint8_t> spu;  // first TB after T=15 (use of contact C6)

    ProtocolMask indicated_protocols = 0;  // every T in any TDi, including 15
    ProtocolMask offered_protocols = 0;    // protocols (not 15); T=0 when none is indicated
    std::uint8_t default_protocol = 0;     // first offered, or TA2's in specific mode

    std::uint16_t warnings = 0;

    ByteView raw() const { return {raw_bytes.data(), raw_size}; }
    ByteView historical() const { return {raw_bytes.data() + historical_offset, historical_count}; }
    std::span<const InterfaceByte> interface_bytes() const {
        return {interface_storage.data(), interface_count};
    }
    // The value of TAi/TBi/TCi/TDi, if present.
    std::optional<std::uint8_t> find(InterfaceByteKind kind, std::uint8_t index) const;
    bool offers(std::uint8_t protocol) const {
        return protocol < 15 && (offered_protocols & protocol_bit(protocol)) != 0;
    }
    bool has_warning(AtrWarning w) const { return (warnings & static_cast<std::uint16_t>(w)) != 0; }

    // F and D to use when TA1 is honoured, with Fd/Dd for RFU codes.
    std::uint16_t f_or_default() const { return fi.value_or(372); }
    std::uint8_t d_or_default() const { return di.value_or(1); }

    // Minimum delay between the leading edges of two consecutive characters sent to the card:
    // 12 + N etu, where N = 255 means 12 etu for T=0 and 11 etu for T=1 (8.3, 11.2).
    std::uint16_t guard_time_etu(std::uint8_t protocol) const;
};

struct AtrParse {
    Atr atr;
    AtrError error = AtrError::None;
    bool ok() const { return error == AtrError::None; }
};

// Decodes an ATR. TS = 03 is taken as an inverse-convention ATR sampled as direct convention
// and converted first. Bounded: looks at no more than kMaxAtrLength bytes.
AtrParse parse_atr(ByteView raw);

}  // namespace ccidkit::proto

#include "protocol/atr.h"

#include <algorithm>

#include "protocol/fi_di_tables.h"

namespace ccidkit::proto {

std::uint8_t inverse_convention_byte(std::uint8_t raw) {
    std::uint8_t reversed = 0;
    for (int bit = 0; bit < 8; ++bit) {
        if (raw & (1u << bit)) reversed |= static_cast<std::uint8_t>(0x80u >> bit);
    }
    return static_cast<std::uint8_t>(~reversed);
}

void convert_inverse_convention(std::span<std::uint8_t> bytes) {
    for (auto& b : bytes) b = inverse_convention_byte(b);
}

Bytes inverse_convention_to_direct(ByteView raw) {
    Bytes out(raw.begin(), raw.end());
    convert_inverse_convention(out);
    return out;
}

std::string_view to_string(AtrError error) {
    switch (error) {
        case AtrError::None: return "valid ATR";
        case AtrError::Empty: return "empty ATR";
        case AtrError::InvalidTs: return "invalid TS: neither 3B (direct) nor 3F (inverse convention)";
        case AtrError::Truncated: return "ATR truncated: an interface byte announced by T0 or TDi is missing";
        case AtrError::HistoricalTruncated:
            return "ATR truncated: fewer historical bytes than announced by T0";
        case AtrError::TckMissing:
            return "TCK missing: a protocol other than T=0 is indicated, so TCK is mandatory";
        case AtrError::TckMismatch: return "TCK mismatch: XOR of T0 to TCK is not 00";
        case AtrError::UnexpectedTck:
            return "unexpected TCK: only T=0 is indicated, so TCK must be absent";
        case AtrError::TrailingBytes: return "extra bytes after the end of the ATR";
        case AtrError::TooLong: return "ATR longer than 33 bytes";
        case AtrError::InvalidFiDi: return "TA1 holds a reserved (RFU) value of Fi or Di";
    }
    return "unknown ATR error";
}

std::string_view to_string(AtrWarning warning) {
    switch (warning) {
        case AtrWarning::T15InTd1: return "TD1 indicates T=15, which is invalid in TD1";
        case AtrWarning::WiZero: return "TC2 = 00 is reserved; the default WI = 10 is used";
        case AtrWarning::IfscInvalid:
            return "IFSC 00 or FF is reserved; 00 is replaced by the default 32, FF by 254";
        case AtrWarning::BwiRfu: return "BWI above 9 is reserved; 9 is used";
    }
    return "unknown ATR warning";
}

std::string_view to_string(InterfaceByteKind kind) {
    switch (kind) {
        case InterfaceByteKind::TA: return "TA";
        case InterfaceByteKind::TB: return "TB";
        case InterfaceByteKind::TC: return "TC";
        case InterfaceByteKind::TD: return "TD";
    }
    return "T?";
}

std::optional<std::uint8_t> Atr::find(InterfaceByteKind kind, std::uint8_t index) const {
    for (const auto& b : interface_bytes()) {
        if (b.kind == kind && b.index == index) return b.value;
    }
    return std::nullopt;
}

std::uint16_t Atr::guard_time_etu(std::uint8_t protocol) const {
    if (extra_guard_time == 255) return protocol == 1 ? 11 : 12;
    return static_cast<std::uint16_t>(12 + extra_guard_time);
}

namespace {

void derive_ta1(Atr& atr, std::uint8_t value) {
    atr.ta1 = value;
    atr.fi_code = value >> 4;
    atr.di_code = value & 0x0F;
}

void derive_t1_byte(Atr& atr, const InterfaceByte& b, bool& seen_ta, bool& seen_tb, bool& seen_tc) {
    T1Parameters& t1 = atr.t1;
    switch (b.kind) {
        case InterfaceByteKind::TA:
            if (seen_ta) return;
            seen_ta = true;
            t1.ifsc_byte = b.value;
            if (b.value == 0x00) {
                atr.warnings |= static_cast<std::uint16_t>(AtrWarning::IfscInvalid);
            } else if (b.value == 0xFF) {
                atr.warnings |= static_cast<std::uint16_t>(AtrWarning::IfscInvalid);
                t1.ifsc = 254;
            } else {
                t1.ifsc = b.value;
            }
            return;
        case InterfaceByteKind::TB:
            if (seen_tb) return;
            seen_tb = true;
            t1.cwi_bwi_byte = b.value;
            t1.cwi = b.value & 0x0F;
            t1.bwi = b.value >> 4;
            if (t1.bwi > 9) {
                atr.warnings |= static_cast<std::uint16_t>(AtrWarning::BwiRfu);
                t1.bwi = 9;
            }
            return;
        case InterfaceByteKind::TC:
            if (seen_tc) return;
            seen_tc = true;
            t1.edc_byte = b.value;
            t1.edc = (b.value & 0x01) ? Edc::Crc : Edc::Lrc;
            return;
        case InterfaceByteKind::TD: return;
    }
}

// Fills the derived values from whatever interface bytes were decoded (also after an error).
void derive(Atr& atr) {
    bool t1_ta = false, t1_tb = false, t1_tc = false, t15_ta = false, t15_tb = false;
    bool any_td = false;
    std::optional<std::uint8_t> first_protocol;
    for (const auto& b : atr.interface_bytes()) {
        if (b.kind == InterfaceByteKind::TD) {
            const std::uint8_t t = b.value & 0x0F;
            atr.indicated_protocols |= protocol_bit(t);
            if (b.index == 1 && t == 15) atr.warnings |= static_cast<std::uint16_t>(AtrWarning::T15InTd1);
            if (t != 15) {
                atr.offered_protocols |= protocol_bit(t);
                if (!first_protocol) first_protocol = t;
            }
            any_td = true;
            continue;
        }
        if (b.index == 1) {
            if (b.kind == InterfaceByteKind::TA) derive_ta1(atr, b.value);
            if (b.kind == InterfaceByteKind::TC) {
                atr.tc1 = b.value;
                atr.extra_guard_time = b.value;
            }
            // TB1 (programming voltage) is deprecated since the 2006 edition: decoded by explain only.
        } else if (b.index == 2) {
            if (b.kind == InterfaceByteKind::TA) {
                atr.specific_mode = SpecificMode{static_cast<std::uint8_t>(b.value & 0x0F),
                                                 (b.value & 0x10) != 0, (b.value & 0x80) == 0};
            } else if (b.kind == InterfaceByteKind::TC) {
                atr.tc2 = b.value;
                if (b.value == 0) {
                    atr.warnings |= static_cast<std::uint16_t>(AtrWarning::WiZero);
                } else {
                    atr.wi = b.value;
                }
            }
        } else if (b.group_protocol == 1) {
            derive_t1_byte(atr, b, t1_ta, t1_tb, t1_tc);
        } else if (b.group_protocol == 15) {
            if (b.kind == InterfaceByteKind::TA && !t15_ta) {
                t15_ta = true;
                atr.t15_ta = b.value;
                atr.clock_stop = static_cast<ClockStop>(b.value >> 6);
                atr.class_indicator = b.value & 0x3F;
            } else if (b.kind == InterfaceByteKind::TB && !t15_tb) {
                t15_tb = true;
                atr.spu = b.value;
            }
        }
    }
    // No TD1, or only T=15 indicated: T=0 is the only offer (8.2.3).
    if (!any_td || atr.offered_protocols == 0) atr.offered_protocols |= protocol_bit(0);
    atr.default_protocol = first_protocol.value_or(0);
    if (atr.specific_mode) atr.default_protocol = atr.specific_mode->protocol;

    atr.fi = fi_from_code(atr.fi_code);
    atr.fmax_khz = fmax_khz_from_code(atr.fi_code);
    atr.di = di_from_code(atr.di_code);
}

std::uint8_t xor_range(const Atr& atr, std::size_t begin, std::size_t end) {
    std::uint8_t x = 0;
    for (std::size_t k = begin; k < end; ++k) x ^= atr.raw_bytes[k];
    return x;
}

// Walks the structure of the (already converted) bytes in atr.raw_bytes. `cut` tells whether
// the input went on beyond the 33-byte window, which turns "ran out of bytes" into TooLong.
AtrError decode_structure(Atr& atr, bool cut) {
    const std::size_t n = atr.raw_size;
    const auto ran_out = [cut](AtrError e) { return cut ? AtrError::TooLong : e; };
    atr.end_offset = static_cast<std::uint8_t>(n);
    if (n < 2) return ran_out(AtrError::Truncated);

    atr.t0 = atr.raw_bytes[1];
    std::size_t pos = 2;
    std::uint8_t presence = *atr.t0 >> 4;
    std::uint8_t index = 1;
    std::optional<std::uint8_t> group_protocol;
    constexpr InterfaceByteKind kinds[] = {InterfaceByteKind::TA, InterfaceByteKind::TB,
                                           InterfaceByteKind::TC, InterfaceByteKind::TD};
    // Each group holds at least its TD when the chain goes on, so pos strictly grows and the
    // loop ends when the window (<= 33 bytes) is exhausted.
    for (;;) {
        bool next_group = false;
        for (int k = 0; k < 4; ++k) {
            if (!(presence & (1u << k))) continue;
            if (pos >= n) return ran_out(AtrError::Truncated);
            const std::uint8_t value = atr.raw_bytes[pos];
            atr.interface_storage[atr.interface_count++] =
                InterfaceByte{kinds[k], index, static_cast<std::uint8_t>(pos), value, group_protocol};
            ++pos;
            if (kinds[k] == InterfaceByteKind::TD) {
                presence = value >> 4;
                group_protocol = value & 0x0F;
                next_group = true;
            }
        }
        if (!next_group) break;
        ++index;
    }

    const std::uint8_t k_hist = *atr.t0 & 0x0F;
    atr.historical_offset = static_cast<std::uint8_t>(pos);
    atr.historical_expected = k_hist;
    atr.historical_count = static_cast<std::uint8_t>(std::min<std::size_t>(k_hist, n - pos));
    pos += atr.historical_count;
    atr.end_offset = static_cast<std::uint8_t>(pos);
    if (atr.historical_count < k_hist) return ran_out(AtrError::HistoricalTruncated);

    // TCK is present exactly when some TDi indicates a T other than 0 (8.2.5).
    atr.tck_required = false;
    for (const auto& b : atr.interface_bytes()) {
        if (b.kind == InterfaceByteKind::TD && (b.value & 0x0F) != 0) atr.tck_required = true;
    }
    if (atr.tck_required) {
        if (pos >= n) return ran_out(AtrError::TckMissing);
        atr.tck = atr.raw_bytes[pos];
        ++pos;
        atr.end_offset = static_cast<std::uint8_t>(pos);
        // Extra bytes mean the length disagrees with T0/TDi, which also explains a failing
        // check; TckMismatch is kept for a well-delimited ATR whose check byte is wrong.
        if (pos < atr.input_size) return AtrError::TrailingBytes;
        if (xor_range(atr, 1, pos) != 0) return AtrError::TckMismatch;
        return AtrError::None;
    } else if (pos < n && pos + 1 == atr.input_size && xor_range(atr, 1, pos + 1) == 0) {
        // A single extra byte that checks as a TCK: some T=0-only cards send one.
        atr.tck = atr.raw_bytes[pos];
        atr.end_offset = static_cast<std::uint8_t>(pos + 1);
        return AtrError::UnexpectedTck;
    }
    if (pos < atr.input_size) return AtrError::TrailingBytes;
    return AtrError::None;
}

}  // namespace

AtrParse parse_atr(ByteView raw) {
    AtrParse result;
    Atr& atr = result.atr;
    atr.input_size = raw.size();
    if (raw.empty()) {
        result.error = AtrError::Empty;
        return result;
    }
    const std::size_t n = std::min(raw.size(), kMaxAtrLength);
    std::copy_n(raw.begin(), n, atr.raw_bytes.begin());
    atr.raw_size = static_cast<std::uint8_t>(n);

    if (atr.raw_bytes[0] == kTsInverseRaw) {
        convert_inverse_convention(std::span<std::uint8_t>(atr.raw_bytes.data(), n));
        atr.converted_from_inverse = true;
    }
    if (atr.raw_bytes[0] == kTsDirect) {
        atr.convention = Convention::Direct;
    } else if (atr.raw_bytes[0] == kTsInverse) {
        atr.convention = Convention::Inverse;
    } else {
        result.error = AtrError::InvalidTs;
        atr.end_offset = 1;
        return result;
    }

    result.error = decode_structure(atr, raw.size() > n);
    derive(atr);
    if (result.error == AtrError::None && atr.ta1 && (!atr.fi || !atr.di)) {
        result.error = AtrError::InvalidFiDi;
    }
    return result;
}

}  // namespace ccidkit::proto

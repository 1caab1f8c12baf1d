// Error detection code of T=1 blocks (ISO/IEC 7816-3:2006 clause 11.3.3 / 11.4.4).
//
// LRC is the default; the card selects CRC with bit 1 of the first TCi (i > 2) after T=1 in
// its ATR. The standard names the CRC of ISO/IEC 13239 but leaves init value, final XOR and
// byte order open; we match libccid (and so every pcsc-lite user): reflected polynomial 0x8408
// (x^16 + x^12 + x^5 + 1), register preset to FFFF, no final XOR, high byte sent first. That
// is the catalogued CRC-16/MCRF4XX (check value 6F91 for "123456789").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/bytes.h"

namespace ccidkit::proto {

enum class T1Edc : std::uint8_t { Lrc, Crc };
std::string_view to_string(T1Edc edc);

constexpr std::size_t edc_size(T1Edc edc) { return edc == T1Edc::Crc ? 2 : 1; }

// XOR of every byte.
std::uint8_t t1_lrc(ByteView data);
// CRC-16/MCRF4XX as described above (value; see append_edc for the byte order).
std::uint16_t t1_crc(ByteView data);

// Appends the EDC computed over all of `block` (prologue + INF).
void append_edc(Bytes& block, T1Edc edc);
// True when the last edc_size(edc) bytes of `block` are the EDC of the bytes before them.
bool edc_matches(ByteView block, T1Edc edc);

}  // namespace ccidkit::proto

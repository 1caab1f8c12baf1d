// Transmission factors of ISO/IEC 7816-3:2006 clause 7.1 and 8.3: the clock rate conversion
// integer F (table 7, with the maximum clock fmax that goes with it) and the baud rate
// adjustment integer D (table 8), plus the small derived quantities (etu, bit rate).
#pragma once

#include <cstdint>
#include <optional>

namespace ccidkit::proto {

// Default values used during the ATR and whenever TA1 is absent (8.3): Fd = 372, Dd = 1,
// and the fmax that goes with the default TA1 = 11 (5 MHz).
inline constexpr std::uint16_t kFd = 372;
inline constexpr std::uint8_t kDd = 1;
inline constexpr std::uint8_t kDefaultFiCode = 1;
inline constexpr std::uint8_t kDefaultDiCode = 1;
inline constexpr std::uint32_t kDefaultFmaxKhz = 5000;

// Table 7. nullopt for the RFU codes 7, 8, E and F (and anything above 15).
std::optional<std::uint16_t> fi_from_code(std::uint8_t fi_code);
std::optional<std::uint32_t> fmax_khz_from_code(std::uint8_t fi_code);

// Table 8. nullopt for the RFU codes 0 and A..F (and anything above 15).
std::optional<std::uint8_t> di_from_code(std::uint8_t di_code);

// The Di codes ordered by the value of D, ascending (1, 2, 4, 8, 12, 16, 20, 32, 64); the
// codes are not monotonic in D (code 8 is D=12 but code 6 is D=32).
inline constexpr std::uint8_t kDiCodesByValue[] = {1, 2, 3, 4, 8, 5, 9, 6, 7};

// 1 etu = F / D clock cycles (7.1). Not an integer in general (e.g. 372/32).
double etu_clock_cycles(std::uint16_t f, std::uint8_t d);

// Bit rate at clock frequency f: f * D / F bits per second, rounded down. 0 when F is 0.
std::uint32_t data_rate_bps(std::uint32_t clock_khz, std::uint16_t f, std::uint8_t d);

}  // namespace ccidkit::proto

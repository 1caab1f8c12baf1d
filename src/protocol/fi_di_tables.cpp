#include "protocol/fi_di_tables.h"

#include <array>

namespace ccidkit::proto {

namespace {
// 0 marks an RFU entry in both tables.
constexpr std::array<std::uint16_t, 16> kFi = {372, 372, 558, 744, 1116, 1488, 1860, 0,
                                               0,   512, 768, 1024, 1536, 2048, 0,    0};
constexpr std::array<std::uint32_t, 16> kFmaxKhz = {4000, 5000,  6000,  8000,  12000, 16000,
                                                    20000, 0,    0,     5000,  7500,  10000,
                                                    15000, 20000, 0,    0};
constexpr std::array<std::uint8_t, 16> kDi = {0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0};
}  // namespace

std::optional<std::uint16_t> fi_from_code(std::uint8_t fi_code) {
    if (fi_code >= kFi.size() || kFi[fi_code] == 0) return std::nullopt;
    return kFi[fi_code];
}

std::optional<std::uint32_t> fmax_khz_from_code(std::uint8_t fi_code) {
    if (fi_code >= kFmaxKhz.size() || kFmaxKhz[fi_code] == 0) return std::nullopt;
    return kFmaxKhz[fi_code];
}

std::optional<std::uint8_t> di_from_code(std::uint8_t di_code) {
    if (di_code >= kDi.size() || kDi[di_code] == 0) return std::nullopt;
    return kDi[di_code];
}

double etu_clock_cycles(std::uint16_t f, std::uint8_t d) {
    if (d == 0) return 0.0;
    return static_cast<double>(f) / static_cast<double>(d);
}

std::uint32_t data_rate_bps(std::uint32_t clock_khz, std::uint16_t f, std::uint8_t d) {
    if (f == 0) return 0;
    // 64-bit intermediate: clock_khz * 1000 * 64 exceeds 32 bits for any real clock.
    const std::uint64_t rate = static_cast<std::uint64_t>(clock_khz) * 1000u * d / f;
    return rate > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(rate);
}

}  // namespace ccidkit::proto

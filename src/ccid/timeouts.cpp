#include "ccid/timeouts.h"

#include <algorithm>
#include <limits>

namespace ccidkit::ccid {

namespace {

constexpr std::uint64_t kMaxMicros = static_cast<std::uint64_t>(kMaxWait.count()) * 1000;

std::uint64_t clock_hz(const CardTiming& t) {
    // A clock of 0 would divide by zero; ISO 7816-3 5.2.3 puts f at 1 MHz or more.
    return std::uint64_t{std::max<std::uint32_t>(t.clock_khz, 1000)} * 1000;
}

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) { return std::min(kMaxMicros, a + std::min(b, kMaxMicros)); }

std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
    if (a == 0 || b == 0) return 0;
    if (a > kMaxMicros / b) return kMaxMicros;
    return std::min(kMaxMicros, a * b);
}

// Ceiling division of cycles (in units of 1e-6 s * Hz) by the clock.
std::uint64_t cycles_to_us(std::uint64_t cycles, const CardTiming& t) {
    const std::uint64_t hz = clock_hz(t);
    if (cycles > std::numeric_limits<std::uint64_t>::max() / 1'000'000) return kMaxMicros;
    return std::min(kMaxMicros, (cycles * 1'000'000 + hz - 1) / hz);
}

std::uint64_t etu_cycles_times(const CardTiming& t, std::uint64_t count) {
    // count etu = count * F / D clock cycles.
    const std::uint64_t f = std::max<std::uint16_t>(t.f, 1);
    const std::uint64_t d = std::max<std::uint8_t>(t.d, 1);
    return (count * f + d - 1) / d;
}

std::uint64_t etus_us(const CardTiming& t, std::uint64_t count) { return cycles_to_us(etu_cycles_times(t, count), t); }

std::uint64_t guard_etus(const CardTiming& t) {
    if (t.extra_guard_time == 255) return t.protocol == 1 ? 11 : 12;
    return 12 + std::uint64_t{t.extra_guard_time};
}

Millis to_millis_up(std::uint64_t us) {
    us = std::min(us, kMaxMicros);
    return Millis{static_cast<Millis::rep>((us + 999) / 1000)};
}

Millis finish(std::uint64_t card_us, Millis extra) {
    std::uint64_t us = sat_add(card_us, static_cast<std::uint64_t>(kReaderMargin.count()) * 1000);
    if (extra.count() > 0) us = sat_add(us, static_cast<std::uint64_t>(extra.count()) * 1000);
    return to_millis_up(us);
}

std::uint64_t blocks_for(std::size_t bytes, std::uint8_t block_size) {
    const std::uint64_t size = std::max<std::uint8_t>(block_size, 1);
    return std::max<std::uint64_t>(1, (bytes + size - 1) / size);
}

}  // namespace

Micros etu(const CardTiming& t) { return Micros{static_cast<Micros::rep>(etus_us(t, 1))}; }

Micros character_time(const CardTiming& t) {
    return Micros{static_cast<Micros::rep>(etus_us(t, guard_etus(t)))};
}

Micros t0_wwt(const CardTiming& t) {
    const std::uint64_t wi = t.wi == 0 ? 10 : t.wi;  // TC2 = 0 is RFU: the default applies
    return Micros{static_cast<Micros::rep>(cycles_to_us(wi * 960 * std::max<std::uint16_t>(t.f, 1), t))};
}

Micros t1_bwt(const CardTiming& t) {
    const unsigned bwi = std::min<unsigned>(t.bwi, 9);  // A..F are RFU (11.4.3)
    const std::uint64_t us = etus_us(t, 11) + cycles_to_us((std::uint64_t{1} << bwi) * 960 * 372, t);
    return Micros{static_cast<Micros::rep>(std::min(us, kMaxMicros))};
}

Micros t1_cwt(const CardTiming& t) {
    const unsigned cwi = std::min<unsigned>(t.cwi, 15);
    return Micros{static_cast<Micros::rep>(etus_us(t, 11 + (std::uint64_t{1} << cwi)))};
}

Millis tpdu_timeout(const CardTiming& t, std::size_t tx_bytes, std::size_t rx_bytes, unsigned multiplier,
                    Millis extra) {
    const std::uint64_t tx_us = sat_mul(static_cast<std::uint64_t>(character_time(t).count()), tx_bytes);
    std::uint64_t rx_us = 0;
    if (t.protocol == 1) {
        const auto bwt = static_cast<std::uint64_t>(t1_bwt(t).count());
        const auto cwt = static_cast<std::uint64_t>(t1_cwt(t).count());
        rx_us = sat_add(sat_mul(bwt, std::max(1u, multiplier)), sat_mul(cwt, rx_bytes));
    } else {
        const auto wwt = static_cast<std::uint64_t>(t0_wwt(t).count());
        // Procedure byte, the data characters, SW1 and SW2: each may take up to WWT.
        rx_us = sat_mul(sat_mul(wwt, rx_bytes + 3), std::max(1u, multiplier));
    }
    return finish(sat_add(tx_us, rx_us), extra);
}

Millis apdu_timeout(const CardTiming& t, std::size_t tx_bytes, std::size_t rx_bytes, Millis extra) {
    const std::uint64_t char_us = static_cast<std::uint64_t>(character_time(t).count());
    std::uint64_t us = sat_mul(char_us, tx_bytes);
    if (t.protocol == 1) {
        const std::uint64_t blocks = blocks_for(tx_bytes, t.ifsc) + blocks_for(rx_bytes, t.ifsd);
        us = sat_add(us, sat_mul(static_cast<std::uint64_t>(t1_bwt(t).count()), blocks));
        us = sat_add(us, sat_mul(static_cast<std::uint64_t>(t1_cwt(t).count()), rx_bytes + 4 * blocks));
    } else {
        // One TPDU plus one GET RESPONSE per 256 bytes, each with its header and status.
        const std::uint64_t rounds = 1 + (rx_bytes + 255) / 256;
        us = sat_add(us, sat_mul(char_us, 5 * rounds));
        us = sat_add(us, sat_mul(static_cast<std::uint64_t>(t0_wwt(t).count()), rx_bytes + 3 * rounds));
    }
    return finish(us, extra);
}

Millis power_on_timeout(std::uint32_t clock_khz, Millis extra) {
    CardTiming t;
    t.clock_khz = clock_khz;
    const std::uint64_t us = sat_add(cycles_to_us(40000, t), etus_us(t, 33ull * 9600));
    return finish(us, extra);
}

Millis stretched(Millis base, unsigned multiplier) {
    const std::uint64_t b = base.count() > 0 ? static_cast<std::uint64_t>(base.count()) : 0;
    const std::uint64_t m = std::max(1u, multiplier);
    const std::uint64_t cap = static_cast<std::uint64_t>(kMaxWait.count());
    if (b > cap / m) return kMaxWait;
    return Millis{static_cast<Millis::rep>(std::min(cap, b * m))};
}

}  // namespace ccidkit::ccid

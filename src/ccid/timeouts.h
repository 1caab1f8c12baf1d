// How long the host waits for a reader's answer, derived from the card's timing parameters
// (ISO/IEC 7816-3:2006 clauses 7.1, 8.3, 10.2 and 11.4.3) and the reader's clock. The reader
// enforces the card's own timing (WWT, BWT, CWT) and reports ICC_MUTE when the card misses
// it; the host's USB wait is that worst case plus a margin (kReaderMargin) so that the
// reader's verdict always arrives before ours (as libccid does). Pure arithmetic, saturating:
// no input overflows or produces an unbounded wait.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "ccid/transport.h"

namespace ccidkit::ccid {

using Micros = std::chrono::microseconds;

// The reader's own timeout must come first: 1 s on top of every computed card time.
inline constexpr Millis kReaderMargin{1000};
// Waits for commands that do not reach the card (GetSlotStatus, Get/SetParameters, ...).
inline constexpr Millis kControlTimeout{3000};
// No computed wait exceeds this (it bounds hostile TC2/BWI values and stretch factors).
inline constexpr Millis kMaxWait{10 * 60 * 1000};

struct CardTiming {
    std::uint8_t protocol = 0;         // 0 (T=0) or 1 (T=1)
    std::uint32_t clock_khz = 4000;    // f, the card clock (dwDefaultClock)
    std::uint16_t f = 372;             // F in use (Fi after PPS, else Fd = 372)
    std::uint8_t d = 1;                // D in use
    std::uint8_t extra_guard_time = 0; // N from TC1 (255: minimum guard time)
    std::uint8_t wi = 10;              // T=0 TC2
    std::uint8_t bwi = 4;              // T=1 TB3 high nibble
    std::uint8_t cwi = 13;             // T=1 TB3 low nibble
    std::uint8_t ifsc = 32;            // T=1 block sizes, to count blocks at APDU level
    std::uint8_t ifsd = 254;
    bool operator==(const CardTiming&) const = default;
};

// One elementary time unit: F / (D * f) (7.1).
Micros etu(const CardTiming& t);
// Character-to-character time the host sends at: 12 etu + N etu (8.3; N = 255 gives 12 etu
// for T=0 and 11 etu for T=1).
Micros character_time(const CardTiming& t);
// T=0 work waiting time WT = WI * 960 * Fi / f (10.2).
Micros t0_wwt(const CardTiming& t);
// T=1 block waiting time BWT = 11 etu + 2^BWI * 960 * 372 / f (11.4.3).
Micros t1_bwt(const CardTiming& t);
// T=1 character waiting time CWT = (11 + 2^CWI) etu (11.4.3).
Micros t1_cwt(const CardTiming& t);

// Host wait for one TPDU / T=1 block exchange: sending `tx_bytes`, then receiving up to
// `rx_bytes`. T=0: tx characters, then the procedure byte, data and SW1 SW2 each within WWT.
// T=1: tx characters, BWT (times `multiplier`, the card's S(WTX) value) for the first
// character, then CWT for each further one. Plus kReaderMargin and `extra`.
Millis tpdu_timeout(const CardTiming& t, std::size_t tx_bytes, std::size_t rx_bytes, unsigned multiplier = 1,
                    Millis extra = Millis{0});

// Host wait for one APDU run by the reader itself (short/extended APDU level): every TPDU or
// block the reader needs for `tx_bytes` out and `rx_bytes` back (T=0: one TPDU plus GET
// RESPONSE rounds of 256 bytes; T=1: IFSC/IFSD-sized blocks, each with BWT).
Millis apdu_timeout(const CardTiming& t, std::size_t tx_bytes, std::size_t rx_bytes, Millis extra = Millis{0});

// Power-on: up to 40000 clock cycles before TS, then 33 characters of at most 9600 etu each
// at Fd/Dd (8.1, 8.2; 10.2 with the initial WI = 10), plus kReaderMargin and `extra`.
Millis power_on_timeout(std::uint32_t clock_khz, Millis extra = Millis{0});

// base * multiplier, saturating at kMaxWait (a multiplier of 0 counts as 1).
Millis stretched(Millis base, unsigned multiplier);

}  // namespace ccidkit::ccid

// Building the Answer-to-Reset of a simulated card from a few parameters (ISO/IEC 7816-3:2006
// clause 8.2): the interface bytes are laid out the way real cards do it, so that the repo's
// ATR parser (protocol/atr.h) reads back exactly what was asked for.
//
// Layout produced (absent groups are skipped, TDi only when something follows):
//   TS=3B  T0  [TA1] [TC1] [TD1=first protocol]
//   group 2: [TA2 specific mode] [TC2 = WI, T=0 only] [TD2 = T=1 if T=1 is offered, else T=15]
//   group T=1 (i > 2): TA = IFSC, TB = BWI<<4 | CWI, [TC = 01 when CRC] [TD = T=15]
//   group T=15: TA = clock stop << 6 | class indicator
//   historical bytes, TCK (whenever a protocol other than T=0 is indicated, 8.2.5)
#pragma once

#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "protocol/atr.h"
#include "protocol/t1_edc.h"

namespace ccidkit::sim {

struct AtrSpec {
    bool t0 = false;  // offered protocols; the first offered one is the default (TD1)
    bool t1 = true;   // when neither is set, T=0 is offered implicitly (no TD1)
    std::optional<std::uint8_t> ta1;  // Fi/Di codes; absent means Fd/Dd
    std::optional<std::uint8_t> tc1;  // extra guard time N
    // TA2: the card is in specific mode (8.3). Bits 4-1 = protocol, bit 5 = implicit Fi/Di.
    std::optional<std::uint8_t> ta2;
    std::optional<std::uint8_t> wi;   // TC2 (T=0 waiting time integer), only when T=0 is offered
    std::uint8_t ifsc = 254;          // T=1 TA (1..254)
    std::uint8_t bwi = 4;             // T=1 TB high nibble
    std::uint8_t cwi = 5;             // T=1 TB low nibble
    proto::T1Edc edc = proto::T1Edc::Lrc;
    // Class indicator Y (kClassA/B/C bits) and clock stop X of the first TA after T=15. 0 (the
    // default) emits no T=15 group: the card is then class A only (8.3).
    std::uint8_t classes = 0;
    proto::ClockStop clock_stop = proto::ClockStop::NotSupported;
    Bytes historical;                 // at most 15 bytes (longer is cut)
};

// The ATR bytes for `spec` (at most 33 bytes by construction).
Bytes build_atr(const AtrSpec& spec);

// Historical bytes of the presets: category 80 followed by COMPACT-TLV data objects naming
// the simulator ("ccidkit" as card issuer's data, tag 5).
Bytes preset_historical_bytes();

}  // namespace ccidkit::sim

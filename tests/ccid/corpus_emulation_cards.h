// The simulated cards put into each emulated reader: one per protocol the driver believes the
// reader supports (T=1 first, then T=0), each offering only that protocol, with a voltage class
// the reader can supply and a TA1 chosen from the reader's own rate limits (dwDefaultClock,
// dwMaxDataRate, GET_DATA_RATES, quirks) so that the driver's rate handling is exercised:
//  - the first card offers the fastest Fi/Di the reader accepts, so a PPS (by the host, or by
//    the reader when it negotiates itself) moves the link off Fd/Dd;
//  - the second card offers the same Fi with the next larger Di, which the reader cannot do,
//    so the driver must fall back to a lower Di (or Fd/Dd).
// Voltages: the first card takes every class the reader supplies; the second only the lowest
// voltage, so a driver stepping 5 V -> 3 V -> 1.8 V must go down to it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ccid/descriptor_meaning.h"
#include "ccid/reader_caps.h"
#include "ccid/slot_setup.h"
#include "protocol/atr.h"
#include "protocol/fi_di_tables.h"
#include "protocol/pps_choice.h"
#include "sim/card/sim_card.h"

namespace ccidkit::emulation {

struct RatePair {
    std::uint8_t fi_code = 1;
    std::uint8_t di_code = 1;
    std::uint32_t rate_bps = 0;
    std::uint8_t ta1() const { return static_cast<std::uint8_t>((fi_code << 4) | di_code); }
};

// Every (Fi, Di) of ISO/IEC 7816-3 tables 7 and 8 faster than Fd/Dd whose rate at the reader's
// default clock the reader accepts, and whose fmax allows that clock; the fastest one (on a
// tie, the first in the order below: Fi code 0, the same 372 as code 1 but with a 4 MHz fmax,
// comes last).
inline std::optional<RatePair> fastest_accepted_rate(const proto::ReaderRateCaps& caps) {
    std::optional<RatePair> best;
    const std::uint32_t default_rate = proto::data_rate_bps(caps.default_clock_khz, proto::kFd, proto::kDd);
    for (std::uint8_t i = 1; i <= 16; ++i) {
        const auto fi = static_cast<std::uint8_t>(i % 16);
        const auto f = proto::fi_from_code(fi);
        const auto fmax = proto::fmax_khz_from_code(fi);
        if (!f || !fmax || *fmax < caps.default_clock_khz) continue;
        for (std::uint8_t di = 0; di < 16; ++di) {
            const auto d = proto::di_from_code(di);
            if (!d || (*f == proto::kFd && *d == proto::kDd)) continue;
            const std::uint32_t rate = proto::data_rate_bps(caps.default_clock_khz, *f, *d);
            // Pairs no faster than Fd/Dd (e.g. Fi 744 with D 2) would not exercise anything.
            if (rate <= default_rate + proto::kDataRateTolerance || !proto::reader_accepts_rate(caps, rate)) continue;
            if (!best || rate > best->rate_bps) best = RatePair{fi, di, rate};
        }
    }
    return best;
}

// The Di code whose D is the next larger value after `di_code`'s, if any.
inline std::optional<std::uint8_t> next_larger_di(std::uint8_t di_code) {
    const auto d = proto::di_from_code(di_code);
    if (!d) return std::nullopt;
    std::optional<std::uint8_t> next;
    std::uint8_t next_d = 0;
    for (const std::uint8_t code : proto::kDiCodesByValue) {
        const std::uint8_t v = *proto::di_from_code(code);
        if (v > *d && (!next || v < next_d)) {
            next = code;
            next_d = v;
        }
    }
    return next;
}

struct CardPlan {
    std::uint8_t protocol = 1;
    unsigned slot = 0;
    sim::AtrSpec atr;
    std::string description;
};

inline std::string classes_label(std::uint8_t classes) {
    std::string s;
    if (classes & proto::kClassA) s += "A";
    if (classes & proto::kClassB) s += "B";
    if (classes & proto::kClassC) s += "C";
    return s.empty() ? "-" : s;
}

// The lowest-voltage class among `voltages` (bVoltageSupport bits = class bits).
inline std::uint8_t lowest_class(std::uint8_t voltages) {
    if (voltages & proto::kClassC) return proto::kClassC;
    if (voltages & proto::kClassB) return proto::kClassB;
    return proto::kClassA;
}

inline std::vector<CardPlan> plan_cards(const ccid::ReaderCaps& caps) {
    std::vector<std::uint8_t> protocols;
    if (caps.t1) protocols.push_back(1);
    if (caps.t0) protocols.push_back(0);

    const proto::ReaderRateCaps rates = ccid::rate_caps(caps, 0);
    const std::optional<RatePair> best = fastest_accepted_rate(rates);
    const std::uint8_t voltages = static_cast<std::uint8_t>(caps.voltages & 0x07);

    std::vector<CardPlan> plans;
    for (std::size_t i = 0; i < protocols.size(); ++i) {
        CardPlan p;
        p.protocol = protocols[i];
        p.atr = p.protocol == 1 ? sim::SimCard::t1_default_atr() : sim::SimCard::t0_default_atr();
        p.atr.t0 = p.protocol == 0;
        p.atr.t1 = p.protocol == 1;
        // Multi-slot readers: the second card goes into the last slot.
        p.slot = i == 0 ? 0u : caps.slot_count - 1;
        p.atr.classes = i == 0 ? voltages : lowest_class(voltages);

        std::string rate;
        if (!best) {
            // The reader runs nothing faster than Fd/Dd: a card asking for D = 4 must be kept at
            // the defaults.
            p.atr.ta1 = 0x13;
            rate = "TA1 13 (D 4), beyond the reader";
        } else if (i == 0) {
            p.atr.ta1 = best->ta1();
            rate = fmt::format("TA1 {:02X} (the reader's fastest, {} bit/s)", best->ta1(), best->rate_bps);
        } else if (const auto faster = next_larger_di(best->di_code)) {
            p.atr.ta1 = static_cast<std::uint8_t>((best->fi_code << 4) | *faster);
            rate = fmt::format("TA1 {:02X} (above the reader's rates)", *p.atr.ta1);
        } else {
            p.atr.ta1 = best->ta1();
            rate = fmt::format("TA1 {:02X} (the reader's fastest, {} bit/s)", best->ta1(), best->rate_bps);
        }
        p.description = fmt::format("class {}, {}", classes_label(p.atr.classes), rate);
        plans.push_back(std::move(p));
    }
    return plans;
}

}  // namespace ccidkit::emulation

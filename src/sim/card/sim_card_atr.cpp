#include "sim/card/sim_card_atr.h"

#include <algorithm>
#include <vector>

namespace ccidkit::sim {

namespace {

// One group of interface bytes TAi TBi TCi and the protocol its TDi indicates (8.2.3).
struct Group {
    std::optional<std::uint8_t> ta, tb, tc;
    std::optional<std::uint8_t> td_protocol;  // set when TDi is present
};

std::uint8_t presence_bits(const Group& g) {
    std::uint8_t y = 0;
    if (g.ta) y |= 0x10;
    if (g.tb) y |= 0x20;
    if (g.tc) y |= 0x40;
    if (g.td_protocol) y |= 0x80;
    return y;
}

}  // namespace

Bytes build_atr(const AtrSpec& spec) {
    const bool offers_t1 = spec.t1;
    const bool offers_t0 = spec.t0 || !spec.t1;
    const bool t15_group = spec.classes != 0;
    const bool tc2 = offers_t0 && spec.wi.has_value();
    const std::uint8_t first = offers_t0 ? 0 : 1;

    std::vector<Group> groups(1);
    groups[0].ta = spec.ta1;
    groups[0].tc = spec.tc1;

    // Group 2 exists when anything beyond group 1 is needed: a T=1 offer (whose parameters
    // live in a group i > 2), specific mode, WI, the T=15 group, or T=1 as the only protocol.
    const bool need_group2 = offers_t1 || spec.ta2.has_value() || tc2 || t15_group;
    if (need_group2) {
        groups[0].td_protocol = first;
        Group g2;
        g2.ta = spec.ta2;
        if (tc2) g2.tc = spec.wi;
        groups.push_back(g2);
        if (offers_t1) {
            groups.back().td_protocol = 1;
            Group g;
            g.ta = static_cast<std::uint8_t>(std::clamp<unsigned>(spec.ifsc, 1, 254));
            g.tb = static_cast<std::uint8_t>(((spec.bwi & 0x0F) << 4) | (spec.cwi & 0x0F));
            if (spec.edc == proto::T1Edc::Crc) g.tc = 0x01;
            groups.push_back(g);
        }
        if (t15_group) {
            groups.back().td_protocol = 15;
            Group g;
            g.ta = static_cast<std::uint8_t>((static_cast<unsigned>(spec.clock_stop) << 6) | (spec.classes & 0x3F));
            groups.push_back(g);
        }
    }

    const std::size_t k = std::min<std::size_t>(spec.historical.size(), proto::kMaxHistoricalBytes);
    Bytes atr;
    atr.reserve(proto::kMaxAtrLength);
    atr.push_back(proto::kTsDirect);
    atr.push_back(static_cast<std::uint8_t>(presence_bits(groups[0]) | k));
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const Group& g = groups[i];
        if (g.ta) atr.push_back(*g.ta);
        if (g.tb) atr.push_back(*g.tb);
        if (g.tc) atr.push_back(*g.tc);
        if (g.td_protocol) {
            const std::uint8_t next = i + 1 < groups.size() ? presence_bits(groups[i + 1]) : 0;
            atr.push_back(static_cast<std::uint8_t>((next & 0xF0) | *g.td_protocol));
        }
    }
    atr.insert(atr.end(), spec.historical.begin(), spec.historical.begin() + static_cast<std::ptrdiff_t>(k));

    // TCK is present as soon as a TDi indicates anything other than T=0 (8.2.5).
    bool tck = false;
    for (const Group& g : groups) {
        if (g.td_protocol && *g.td_protocol != 0) tck = true;
    }
    if (tck) {
        std::uint8_t x = 0;
        for (std::size_t i = 1; i < atr.size(); ++i) x ^= atr[i];
        atr.push_back(x);
    }
    return atr;
}

Bytes preset_historical_bytes() {
    // Category indicator 80: COMPACT-TLV objects follow (ISO/IEC 7816-4 12.1.1).
    // 57 = tag 5 (card issuer's data), length 7.
    return Bytes{0x80, 0x57, 'c', 'c', 'i', 'd', 'k', 'i', 't'};
}

}  // namespace ccidkit::sim

#include "protocol/atr_explain.h"

#include <fmt/format.h>

#include "protocol/fi_di_tables.h"

namespace ccidkit::proto {

namespace {

std::string mhz(std::uint32_t khz) {
    return fmt::format("{:g} MHz", static_cast<double>(khz) / 1000.0);
}

std::string present_list(std::uint8_t presence, std::uint8_t index) {
    static constexpr const char* kNames[] = {"TA", "TB", "TC", "TD"};
    std::string out;
    for (int k = 0; k < 4; ++k) {
        if (!(presence & (1u << k))) continue;
        if (!out.empty()) out += ' ';
        out += fmt::format("{}{}", kNames[k], index);
    }
    return out.empty() ? std::string("no interface byte") : out;
}

std::string protocol_list(ProtocolMask mask) {
    std::string out;
    for (std::uint8_t t = 0; t < 16; ++t) {
        if (!(mask & protocol_bit(t))) continue;
        if (!out.empty()) out += ", ";
        out += fmt::format("T={}", t);
    }
    return out;
}

std::string class_list(std::uint8_t classes) {
    static constexpr const char* kClasses[] = {"A (5 V)", "B (3 V)", "C (1.8 V)"};
    std::string out;
    for (int k = 0; k < 3; ++k) {
        if (!(classes & (1u << k))) continue;
        if (!out.empty()) out += ", ";
        out += kClasses[k];
    }
    if (classes & 0x38) out += out.empty() ? "RFU bits" : ", RFU bits";
    return out.empty() ? std::string("none indicated") : out;
}

std::string_view clock_stop_text(ClockStop stop) {
    switch (stop) {
        case ClockStop::NotSupported: return "not supported";
        case ClockStop::StateL: return "supported in state L";
        case ClockStop::StateH: return "supported in state H";
        case ClockStop::NoPreference: return "supported, no preference";
    }
    return "?";
}

std::string describe_fi_di(std::uint8_t value) {
    const std::uint8_t fi_code = value >> 4, di_code = value & 0x0F;
    const auto f = fi_from_code(fi_code);
    const auto fmax = fmax_khz_from_code(fi_code);
    const auto d = di_from_code(di_code);
    std::string out = f ? fmt::format("Fi={} (fmax {})", *f, mhz(*fmax))
                        : fmt::format("Fi=RFU (code {:X})", fi_code);
    out += d ? fmt::format(", Di={}", *d) : fmt::format(", Di=RFU (code {:X})", di_code);
    if (f && d) out += fmt::format(", {:g} clock cycles per etu", etu_clock_cycles(*f, *d));
    return out;
}

std::string describe_td(const InterfaceByte& b) {
    const std::uint8_t t = b.value & 0x0F;
    std::string out = fmt::format("next: {}; ", present_list(b.value >> 4, b.index + 1));
    if (t == 15) {
        out += b.index == 1 ? "T=15 (invalid in TD1)" : "T=15: global interface bytes follow";
    } else if (t <= 1) {
        out += fmt::format("protocol T={} offered", t);
    } else {
        out += fmt::format("protocol T={} offered (RFU)", t);
    }
    return out;
}

std::string describe_group1(const Atr& atr, const InterfaceByte& b) {
    switch (b.kind) {
        case InterfaceByteKind::TA: return describe_fi_di(b.value);
        case InterfaceByteKind::TB:
            if (b.value == 0) return "no programming voltage (deprecated byte)";
            return fmt::format("programming voltage PI1={}, II={} (deprecated, ignored)", b.value & 0x1F,
                               (b.value >> 5) & 0x03);
        case InterfaceByteKind::TC:
            if (b.value == 255) return "N=255: minimum guard time (12 etu for T=0, 11 etu for T=1)";
            return fmt::format("N={}: extra guard time, {} etu between characters", b.value,
                               atr.guard_time_etu(0));
        case InterfaceByteKind::TD: return describe_td(b);
    }
    return {};
}

std::string describe_group2(const InterfaceByte& b) {
    switch (b.kind) {
        case InterfaceByteKind::TA:
            return fmt::format("specific mode: T={}, {}, card {} change mode", b.value & 0x0F,
                               (b.value & 0x10) ? "implicit Fi/Di (not those of TA1)" : "Fi/Di of TA1",
                               (b.value & 0x80) ? "cannot" : "can");
        case InterfaceByteKind::TB:
            return fmt::format("programming voltage PI2={} (deprecated, ignored)", b.value);
        case InterfaceByteKind::TC:
            if (b.value == 0) return "WI=0 is RFU; default WI=10 used for T=0";
            return fmt::format("WI={}: T=0 waiting time 960 x {} x Fi clock cycles", b.value, b.value);
        case InterfaceByteKind::TD: return describe_td(b);
    }
    return {};
}

// Tracks "first TA/TB/TC specific to T" while the explanation walks the bytes in order.
struct FirstSeen {
    bool t1[3] = {false, false, false};
    bool t15[3] = {false, false, false};
    bool take(bool (&flags)[3], InterfaceByteKind kind) {
        bool& f = flags[static_cast<int>(kind)];
        const bool first = !f;
        f = true;
        return first;
    }
};

std::string describe_t1(const InterfaceByte& b) {
    switch (b.kind) {
        case InterfaceByteKind::TA:
            if (b.value == 0) return "IFSC=0 is RFU; default 32 used";
            if (b.value == 255) return "IFSC=255 is RFU; 254 used";
            return fmt::format("T=1 IFSC={}", b.value);
        case InterfaceByteKind::TB: {
            const int bwi = b.value >> 4;
            return fmt::format("T=1 BWI={}{}, CWI={}", bwi, bwi > 9 ? " (RFU, 9 used)" : "", b.value & 0x0F);
        }
        case InterfaceByteKind::TC:
            return fmt::format("T=1 EDC: {}", (b.value & 0x01) ? "CRC" : "LRC");
        case InterfaceByteKind::TD: return describe_td(b);
    }
    return {};
}

std::string describe_t15(const InterfaceByte& b) {
    if (b.kind == InterfaceByteKind::TA) {
        return fmt::format("clock stop {}; class {}", clock_stop_text(static_cast<ClockStop>(b.value >> 6)),
                           class_list(b.value & 0x3F));
    }
    if (b.value == 0) return "SPU: contact C6 not used";
    return (b.value & 0x80) ? "SPU: proprietary use of contact C6" : "SPU: standard use of contact C6 (RFU)";
}

std::string describe_interface(const Atr& atr, const InterfaceByte& b, FirstSeen& seen) {
    if (b.kind == InterfaceByteKind::TD) return describe_td(b);
    if (b.index == 1) return describe_group1(atr, b);
    if (b.index == 2) return describe_group2(b);
    const std::uint8_t t = b.group_protocol.value_or(0);
    if (t == 1 && seen.take(seen.t1, b.kind)) return describe_t1(b);
    if (t == 15 && b.kind != InterfaceByteKind::TC && seen.take(seen.t15, b.kind)) return describe_t15(b);
    if (t == 15) return "global interface byte (RFU)";
    return fmt::format("specific to T={}", t);
}

std::string describe_historical(std::size_t k, std::uint8_t value) {
    if (k == 0) {
        if (value == 0x00) return "category: compact-TLV objects, then a 3-byte status indicator";
        if (value == 0x10) return "category: DIR data reference";
        if (value == 0x80) return "category: compact-TLV objects, optionally ending with a status indicator";
        if (value >= 0x81 && value <= 0x8F) return "category: RFU";
        return "category: proprietary";
    }
    if (value >= 0x20 && value < 0x7F) return fmt::format("historical byte '{}'", static_cast<char>(value));
    return "historical byte";
}

void add_summary(const Atr& atr, std::vector<AtrLine>& out) {
    const auto line = [&out](std::string name, std::string text) {
        out.push_back(AtrLine{std::nullopt, std::nullopt, std::move(name), std::move(text)});
    };
    if (atr.specific_mode) {
        line("mode", fmt::format("specific: T={}{}", atr.specific_mode->protocol,
                                 atr.specific_mode->implicit_parameters ? " with implicit Fi/Di" : ""));
    } else {
        line("mode", "negotiable: PPS may select a protocol and Fi/Di");
    }
    line("protocols", fmt::format("{} offered; default T={}", protocol_list(atr.offered_protocols),
                                  atr.default_protocol));
    if (atr.ta1) {
        line("rate", describe_fi_di(*atr.ta1));
    } else {
        line("rate", "no TA1: Fd=372, Dd=1 (372 clock cycles per etu)");
    }
    line("guard time", fmt::format("{} etu (T=0), {} etu (T=1)", atr.guard_time_etu(0), atr.guard_time_etu(1)));
    if (atr.offers(0)) line("T=0", fmt::format("WI={}", atr.wi));
    if (atr.offers(1)) {
        line("T=1", fmt::format("IFSC={}, CWI={}, BWI={}, EDC={}", atr.t1.ifsc, atr.t1.cwi, atr.t1.bwi,
                                atr.t1.edc == Edc::Crc ? "CRC" : "LRC"));
    }
    if (atr.t15_ta) {
        line("class", fmt::format("class {}; clock stop {}", class_list(atr.class_indicator),
                                  clock_stop_text(atr.clock_stop)));
    } else {
        line("class", "no class indicator: class A only; clock stop not supported");
    }
    if (atr.historical_count < atr.historical_expected) {
        line("historical", fmt::format("{} of {} historical bytes received", atr.historical_count,
                                       atr.historical_expected));
    }
    for (const AtrWarning w : kAllAtrWarnings) {
        if (atr.has_warning(w)) line("warning", std::string(to_string(w)));
    }
    if (atr.input_size > atr.raw_size) {
        line("input", fmt::format("{} more byte(s) beyond the 33-byte maximum not shown",
                                  atr.input_size - atr.raw_size));
    }
}

}  // namespace

std::vector<AtrLine> explain_atr(const Atr& atr) {
    std::vector<AtrLine> out;
    out.reserve(atr.raw_size + 10u);
    const auto byte_line = [&](std::size_t offset, std::string name, std::string text) {
        out.push_back(AtrLine{static_cast<std::uint8_t>(offset), atr.raw_bytes[offset], std::move(name),
                              std::move(text)});
    };
    if (atr.raw_size == 0) return out;

    const std::uint8_t ts = atr.raw_bytes[0];
    if (ts == kTsDirect || ts == kTsInverse) {
        std::string text = ts == kTsDirect ? "direct convention" : "inverse convention";
        if (atr.converted_from_inverse) text += " (received as 03: inverse-convention bytes, converted)";
        byte_line(0, "TS", std::move(text));
    } else {
        byte_line(0, "TS", "invalid initial character");
        for (std::size_t k = 1; k < atr.raw_size; ++k) byte_line(k, "?", "not decoded");
        return out;
    }

    std::size_t next = 1;
    if (atr.t0) {
        byte_line(1, "T0", fmt::format("{} present; K={} historical byte(s)", present_list(*atr.t0 >> 4, 1),
                                       *atr.t0 & 0x0F));
        next = 2;
    }
    FirstSeen seen;
    for (const auto& b : atr.interface_bytes()) {
        byte_line(b.offset, fmt::format("{}{}", to_string(b.kind), b.index), describe_interface(atr, b, seen));
        next = b.offset + 1u;
    }
    for (std::size_t k = 0; k < atr.historical_count; ++k) {
        const std::size_t offset = atr.historical_offset + k;
        byte_line(offset, fmt::format("T{}", k + 1), describe_historical(k, atr.raw_bytes[offset]));
        next = offset + 1;
    }
    if (atr.tck) {
        const std::size_t offset = atr.end_offset - 1u;
        std::uint8_t x = 0;
        for (std::size_t k = 1; k <= offset; ++k) x ^= atr.raw_bytes[k];
        std::string text = fmt::format("check byte: XOR of T0..TCK = {:02X} ({})", x, x == 0 ? "correct" : "wrong");
        if (!atr.tck_required) text += "; not expected, only T=0 is indicated";
        byte_line(offset, "TCK", std::move(text));
        next = offset + 1;
    }
    for (std::size_t k = next; k < atr.raw_size; ++k) byte_line(k, "extra", "byte after the end of the ATR");

    add_summary(atr, out);
    return out;
}

std::vector<AtrLine> explain_atr(const AtrParse& parse) {
    std::vector<AtrLine> out = explain_atr(parse.atr);
    if (!parse.ok()) {
        out.push_back(AtrLine{std::nullopt, std::nullopt, "error", std::string(to_string(parse.error))});
    }
    return out;
}

std::string render_atr_explanation(std::span<const AtrLine> lines) {
    std::string out;
    for (const auto& l : lines) {
        if (l.offset && l.value) {
            out += fmt::format("{:>2}  {:02X}  {:<5} {}\n", *l.offset, *l.value, l.name, l.description);
        } else {
            out += fmt::format("{}: {}\n", l.name, l.description);
        }
    }
    return out;
}

}  // namespace ccidkit::proto

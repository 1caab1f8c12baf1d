#include "ccid/descriptor_checks.h"

#include <algorithm>

#include <fmt/format.h>

namespace ccidkit::ccid {

namespace {

class WarningList {
public:
    void add(std::string_view field, std::uint32_t value, std::string reason) {
        list_.push_back(DescriptorWarning{field, value, std::move(reason)});
    }
    std::vector<DescriptorWarning> take() { return std::move(list_); }

private:
    std::vector<DescriptorWarning> list_;
};

void check_clock(WarningList& w, std::string_view field, std::uint32_t khz) {
    if (khz == 0)
        w.add(field, khz, "zero clock");
    else if (khz < kMinClockKhz)
        w.add(field, khz, "below 1 MHz, the ISO 7816-3 minimum");
    else if (khz > kMaxClockKhz)
        w.add(field, khz, "above 20 MHz, the highest f(max) of ISO 7816-3");
}

void check_rate(WarningList& w, std::string_view field, std::uint32_t bps) {
    if (bps == 0)
        w.add(field, bps, "zero data rate");
    else if (bps & 0x80000000u)
        w.add(field, bps, "negative when read as a signed 32-bit value");
    else if (bps > kMaxIsoDataRate)
        w.add(field, bps, fmt::format("faster than any ISO 7816-3 rate ({} bps)", kMaxIsoDataRate));
}

void check_features(WarningList& w, const CcidDescriptor& d, const DescriptorMeaning& m) {
    const std::uint32_t f = d.dwFeatures;
    if (m.level == ExchangeLevel::Contradictory)
        w.add("dwFeatures", f, fmt::format("several exchange levels set (bits 16-18 = {})", (f & kExchangeLevelMask) >> 16));
    if (m.has(Feature::AutoParameterNegotiation) && m.has(Feature::AutoPps))
        w.add("dwFeatures", f, "both automatic parameter negotiation (0x40) and automatic PPS (0x80) set; CCID 1.1 allows one");
    const bool apdu = m.level == ExchangeLevel::ShortApdu || m.level == ExchangeLevel::ExtendedApdu;
    if (apdu && !(m.has(Feature::AutoParameterNegotiation) || m.has(Feature::AutoPps)))
        w.add("dwFeatures", f, "APDU level without automatic negotiation (0x40) or PPS (0x80), which CCID 1.1 requires");
    if (apdu && !m.has(Feature::AutoConfigFromAtr))
        w.add("dwFeatures", f, "APDU level without automatic configuration from the ATR (0x02), which CCID 1.1 requires");
    if (m.reserved_feature_bits)
        w.add("dwFeatures", f, fmt::format("reserved bits 0x{:08X} set", m.reserved_feature_bits));
}

void check_message_length(WarningList& w, std::uint32_t length, ExchangeLevel level) {
    constexpr std::string_view field = "dwMaxCCIDMessageLength";
    if (length < kMinMessageLength) {
        w.add(field, length, "smaller than one 64-byte bulk packet");
        return;
    }
    if (length > kMaxMessageLength) {
        w.add(field, length, fmt::format("larger than {} (65544 + 10), the CCID 1.1 maximum", kMaxMessageLength));
        return;
    }
    const bool needs_short_apdu = level == ExchangeLevel::Tpdu || level == ExchangeLevel::ShortApdu ||
                                  level == ExchangeLevel::ExtendedApdu;
    if (needs_short_apdu && length < kMinApduMessageLength)
        w.add(field, length,
              fmt::format("below {} (261 + 10): a short APDU or a full T=0 TPDU does not fit in one message",
                          kMinApduMessageLength));
}

}  // namespace

std::vector<DescriptorWarning> check_descriptor(const CcidDescriptor& d) {
    const DescriptorMeaning m = interpret(d);
    WarningList w;

    if (d.bLength > kCcidDescriptorLength)
        w.add("bLength", d.bLength, fmt::format("{} bytes after the standard 54 (ignored)", d.bLength - kCcidDescriptorLength));
    if (d.bDescriptorType != kCcidDescriptorType)
        w.add("bDescriptorType", d.bDescriptorType, "vendor-specific type 0xFF instead of 0x21 (pre-CCID 1.0 reader)");
    if (d.bcdCCID != 0x0100 && d.bcdCCID != 0x0110)
        w.add("bcdCCID", d.bcdCCID, fmt::format("version {} does not exist (1.00 or 1.10 expected)", format_bcd_version(d.bcdCCID)));
    if (m.slot_count > kMaxUsableSlots)
        w.add("bMaxSlotIndex", d.bMaxSlotIndex, fmt::format("{} slots; only the first {} are used", m.slot_count, kMaxUsableSlots));

    if ((d.bVoltageSupport & 0x07) == 0)
        w.add("bVoltageSupport", d.bVoltageSupport, "no voltage named; automatic selection assumed");
    if (m.reserved_voltage_bits)
        w.add("bVoltageSupport", d.bVoltageSupport, fmt::format("reserved bits 0x{:02X} set", m.reserved_voltage_bits));

    if (!m.t0 && !m.t1)
        w.add("dwProtocols", d.dwProtocols, "neither T=0 nor T=1; both assumed, the ATR decides");
    if (m.reserved_protocol_bits)
        w.add("dwProtocols", d.dwProtocols, fmt::format("reserved bits 0x{:08X} set", m.reserved_protocol_bits));

    check_clock(w, "dwDefaultClock", d.dwDefaultClock);
    check_clock(w, "dwMaximumClock", d.dwMaximumClock);
    if (d.dwMaximumClock != 0 && d.dwMaximumClock < d.dwDefaultClock)
        w.add("dwMaximumClock", d.dwMaximumClock, fmt::format("below dwDefaultClock ({} kHz)", d.dwDefaultClock));

    check_rate(w, "dwDataRate", d.dwDataRate);
    check_rate(w, "dwMaxDataRate", d.dwMaxDataRate);
    if (d.dwMaxDataRate != 0 && d.dwMaxDataRate < d.dwDataRate)
        w.add("dwMaxDataRate", d.dwMaxDataRate, fmt::format("below dwDataRate ({} bps)", d.dwDataRate));

    // IFSD only matters to T=1 (or to a reader naming no protocol, where T=1 is assumed).
    if (m.t1 || !m.t0) {
        if (d.dwMaxIFSD == 0)
            w.add("dwMaxIFSD", d.dwMaxIFSD, "zero: the reader states no IFSD");
        else if (d.dwMaxIFSD > kMaxIfsd)
            w.add("dwMaxIFSD", d.dwMaxIFSD, "above 254, the largest IFSD of ISO 7816-3 11.4.2");
    }

    if (m.reserved_synch_bits)
        w.add("dwSynchProtocols", d.dwSynchProtocols, fmt::format("reserved bits 0x{:08X} set", m.reserved_synch_bits));
    if (m.reserved_mechanical_bits)
        w.add("dwMechanical", d.dwMechanical, fmt::format("reserved bits 0x{:08X} set", m.reserved_mechanical_bits));

    check_features(w, d, m);
    check_message_length(w, d.dwMaxCCIDMessageLength, m.level);

    if ((m.lcd_lines == 0) != (m.lcd_columns == 0))
        w.add("wLcdLayout", d.wLcdLayout, fmt::format("{} lines of {} characters: one dimension is zero", m.lcd_lines, m.lcd_columns));
    if (m.reserved_pin_bits)
        w.add("bPINSupport", d.bPINSupport, fmt::format("reserved bits 0x{:02X} set", m.reserved_pin_bits));

    if (d.bMaxCCIDBusySlots == 0)
        w.add("bMaxCCIDBusySlots", d.bMaxCCIDBusySlots, "zero: no slot could ever be used; 1 assumed");
    else if (d.bMaxCCIDBusySlots > m.slot_count)
        w.add("bMaxCCIDBusySlots", d.bMaxCCIDBusySlots, fmt::format("more than the {} slot(s)", m.slot_count));
    return w.take();
}

namespace {

ExchangeLevel usable_level(std::uint32_t dwFeatures) {
    const ExchangeLevel level = exchange_level(dwFeatures);
    if (level != ExchangeLevel::Contradictory) return level;
    // Several bits: take the lowest one deterministically; no real reader does this.
    if (dwFeatures & kLevelTpdu) return ExchangeLevel::Tpdu;
    return ExchangeLevel::ShortApdu;
}

bool plausible_clock(std::uint32_t khz) { return khz >= kMinClockKhz && khz <= kMaxClockKhz; }
bool plausible_rate(std::uint32_t bps) { return bps != 0 && (bps & 0x80000000u) == 0; }

}  // namespace

EffectiveLimits effective_limits(const CcidDescriptor& d) {
    const DescriptorMeaning m = interpret(d);
    EffectiveLimits e;
    e.slot_count = std::min(m.slot_count, kMaxUsableSlots);
    e.max_busy_slots = std::clamp<unsigned>(d.bMaxCCIDBusySlots, 1, e.slot_count);
    e.t0 = m.t0 || !m.t1;
    e.t1 = m.t1 || !m.t0;
    e.voltages = (d.bVoltageSupport & 0x07) != 0 ? static_cast<std::uint8_t>(d.bVoltageSupport & 0x07) : std::uint8_t{0x07};

    e.default_clock_khz = plausible_clock(d.dwDefaultClock) ? d.dwDefaultClock : kFallbackClockKhz;
    e.max_clock_khz = plausible_clock(d.dwMaximumClock) ? std::max(d.dwMaximumClock, e.default_clock_khz)
                                                         : e.default_clock_khz;
    // Default ISO 7816-3 rate is f / 372 (Fd = 372, Dd = 1).
    e.default_data_rate = plausible_rate(d.dwDataRate) ? d.dwDataRate : e.default_clock_khz * 1000 / 372;
    e.max_data_rate = plausible_rate(d.dwMaxDataRate) ? std::max(d.dwMaxDataRate, e.default_data_rate)
                                                      : e.default_data_rate;

    e.level = usable_level(d.dwFeatures);
    const std::uint32_t floor = e.level == ExchangeLevel::Character ? kMinMessageLength : kMinApduMessageLength;
    e.max_message_length = std::clamp(d.dwMaxCCIDMessageLength, floor, kMaxMessageLength);
    e.max_send_length = std::clamp(d.dwMaxCCIDMessageLength, kMinMessageLength, kMaxMessageLength);

    // IFSD 0 means "not stated": offer the largest; anything above 254 cannot be sent in S(IFS).
    std::uint32_t ifsd = (d.dwMaxIFSD == 0 || d.dwMaxIFSD > kMaxIfsd) ? kMaxIfsd : d.dwMaxIFSD;
    // Chaining is cheap, an overrun reader buffer is not: keep a whole T=1 block with CRC
    // inside the length the reader advertised, even when that length was floored above.
    const std::uint64_t advertised = d.dwMaxCCIDMessageLength;
    if (advertised > kCcidHeaderLength + kT1BlockOverhead)
        ifsd = static_cast<std::uint32_t>(std::min<std::uint64_t>(ifsd, advertised - kCcidHeaderLength - kT1BlockOverhead));
    else
        ifsd = 1;
    e.ifsd = ifsd;
    return e;
}

}  // namespace ccidkit::ccid

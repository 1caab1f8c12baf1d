// Only descriptor headers here: descriptor_checks.h cannot share a translation unit with the
// message headers (both declare ccid::kMaxSlots).
#include "ccid/reader_caps.h"

#include <algorithm>

#include "ccid/descriptor_checks.h"
#include "ccid/quirks_lookup.h"

namespace ccidkit::ccid {

ReaderCaps make_reader_caps(const CcidDescriptor& raw, const Quirks& quirks) {
    ReaderCaps caps;
    caps.descriptor = apply_overrides(raw, quirks.descriptor);
    const EffectiveLimits lim = effective_limits(caps.descriptor);
    caps.slot_count = lim.slot_count;
    caps.max_busy_slots = lim.max_busy_slots;
    caps.t0 = lim.t0;
    caps.t1 = lim.t1;
    caps.voltages = lim.voltages != 0 ? lim.voltages : 0x07;
    caps.default_clock_khz = lim.default_clock_khz;
    caps.max_clock_khz = lim.max_clock_khz;
    caps.default_data_rate = lim.default_data_rate;
    caps.max_data_rate = lim.max_data_rate;
    if (quirks.max_data_rate && *quirks.max_data_rate > 0)
        caps.max_data_rate = std::min(caps.max_data_rate, *quirks.max_data_rate);
    caps.level = lim.level;
    switch (quirks.level) {
        case ExchangeLevelOverride::None: break;
        case ExchangeLevelOverride::Tpdu: caps.level = ExchangeLevel::Tpdu; break;
        case ExchangeLevelOverride::ShortApdu: caps.level = ExchangeLevel::ShortApdu; break;
        case ExchangeLevelOverride::ExtendedApdu: caps.level = ExchangeLevel::ExtendedApdu; break;
    }
    caps.ifsd = lim.ifsd;
    if (quirks.max_ifsd && *quirks.max_ifsd > 0) caps.ifsd = std::min<std::uint32_t>(caps.ifsd, *quirks.max_ifsd);
    caps.max_message_length = lim.max_message_length;
    caps.max_send_length = lim.max_send_length;
    caps.features = caps.descriptor.dwFeatures & ~kExchangeLevelMask;
    return caps;
}

std::vector<std::uint32_t> filter_data_rates(const std::vector<std::uint32_t>& rates, std::uint32_t max_rate) {
    std::vector<std::uint32_t> out;
    out.reserve(rates.size());
    for (auto r : rates) {
        if (r == 0) continue;
        if (max_rate != 0 && r > max_rate) continue;
        if (std::find(out.begin(), out.end(), r) != out.end()) continue;
        out.push_back(r);
    }
    return out;
}

}  // namespace ccidkit::ccid

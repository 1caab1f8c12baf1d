// What a reader can do, as the driver uses it: the class descriptor with the quirks'
// descriptor overrides applied, then made safe by effective_limits() (descriptor_checks.h),
// plus the exchange level override and the rate/clock lists read at open (CCID Rev 1.1
// sections 5.1 and 5.3).
#pragma once

#include <cstdint>
#include <vector>

#include "ccid/descriptor.h"
#include "ccid/descriptor_meaning.h"
#include "ccid/quirks.h"

namespace ccidkit::ccid {

struct ReaderCaps {
    CcidDescriptor descriptor;  // after DescriptorOverrides
    unsigned slot_count = 1;
    unsigned max_busy_slots = 1;
    bool t0 = true, t1 = true;
    std::uint8_t voltages = 0x07;  // bVoltageSupport bits (kVoltage5V, ...), never 0
    std::uint32_t default_clock_khz = 4000;
    std::uint32_t max_clock_khz = 4000;
    std::uint32_t default_data_rate = 10752;
    std::uint32_t max_data_rate = 10752;  // capped by Quirks::max_data_rate
    ExchangeLevel level = ExchangeLevel::Tpdu;  // after Quirks::level; never Contradictory
    std::uint32_t ifsd = 254;                   // capped by Quirks::max_ifsd
    std::uint32_t max_message_length = 271;     // dwMaxCCIDMessageLength for replies (lenient)
    std::uint32_t max_send_length = 271;        // ... for what the host sends (strict), <= the above
    std::uint32_t features = 0;                 // dwFeatures without the level field
    std::vector<std::uint32_t> data_rates;      // GET_DATA_RATES (filtered), empty if unknown
    std::vector<std::uint32_t> clocks_khz;      // GET_CLOCK_FREQUENCIES, empty if unknown

    bool has(Feature f) const { return (features & static_cast<std::uint32_t>(f)) != 0; }
};

// Everything but the lists (filled in by Reader::open).
ReaderCaps make_reader_caps(const CcidDescriptor& raw, const Quirks& quirks);

// Drops rates above `max_rate` (0: keep all) and duplicates; keeps the reader's order.
std::vector<std::uint32_t> filter_data_rates(const std::vector<std::uint32_t>& rates, std::uint32_t max_rate);

}  // namespace ccidkit::ccid

#include "ccid/descriptor_report.h"

#include <fmt/format.h>

namespace ccidkit::ccid {

std::expected<ParsedCcidDescriptor, DescriptorError> parse_ccid_descriptor(ByteView raw) {
    auto fields = decode_ccid_descriptor(raw);
    if (!fields) return std::unexpected(fields.error());
    ParsedCcidDescriptor parsed;
    parsed.meaning = interpret(*fields);
    parsed.warnings = check_descriptor(*fields);
    parsed.effective = effective_limits(*fields);
    parsed.fields = std::move(*fields);
    return parsed;
}

std::vector<std::string> describe_parsed_descriptor(const ParsedCcidDescriptor& parsed) {
    std::vector<std::string> out = describe_descriptor(parsed.fields);
    for (const DescriptorWarning& w : parsed.warnings)
        out.push_back(fmt::format("warning: {} = 0x{:X} ({}): {}", w.field, w.value, w.value, w.reason));
    const EffectiveLimits& e = parsed.effective;
    out.push_back("effective values:");
    out.push_back(fmt::format("  slots {}, at most {} busy", e.slot_count, e.max_busy_slots));
    out.push_back(fmt::format("  protocols{}{}", e.t0 ? " T=0" : "", e.t1 ? " T=1" : ""));
    out.push_back(fmt::format("  voltages 0x{:02X}", e.voltages));
    out.push_back(fmt::format("  clock {} kHz default, {} kHz maximum", e.default_clock_khz, e.max_clock_khz));
    out.push_back(fmt::format("  data rate {} bps default, {} bps maximum", e.default_data_rate, e.max_data_rate));
    out.push_back(fmt::format("  {}", to_string(e.level)));
    out.push_back(fmt::format("  IFSD {}", e.ifsd));
    out.push_back(fmt::format("  message length {} bytes", e.max_message_length));
    return out;
}

}  // namespace ccidkit::ccid

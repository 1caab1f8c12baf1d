// CCID class descriptor (CCID Rev 1.1 section 5.1): decode, meaning, plausibility checks, the
// effective limits the transport uses, and the text report. Input: the descriptor bytes from
// its bLength byte on, as found after an interface descriptor.
#include <cstddef>
#include <cstdint>

#include "ccid/descriptor.h"
#include "ccid/descriptor_checks.h"
#include "ccid/descriptor_meaning.h"
#include "ccid/descriptor_report.h"
#include "fuzz_support.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

void check_limits(const CcidDescriptor& d, const EffectiveLimits& e) {
    FUZZ_CHECK(e.slot_count >= 1 && e.slot_count <= kMaxUsableSlots);
    FUZZ_CHECK(e.max_busy_slots >= 1 && e.max_busy_slots <= e.slot_count);
    FUZZ_CHECK(e.t0 || e.t1);
    FUZZ_CHECK(e.voltages >= 1 && e.voltages <= 7);
    FUZZ_CHECK(e.default_clock_khz >= kMinClockKhz && e.default_clock_khz <= kMaxClockKhz);
    FUZZ_CHECK(e.max_clock_khz >= e.default_clock_khz && e.max_clock_khz <= kMaxClockKhz);
    FUZZ_CHECK(e.default_data_rate > 0);
    FUZZ_CHECK(e.max_data_rate >= e.default_data_rate);
    FUZZ_CHECK(e.level != ExchangeLevel::Contradictory);
    FUZZ_CHECK(e.ifsd >= 1 && e.ifsd <= kMaxIfsd);
    FUZZ_CHECK(e.max_message_length >= kMinMessageLength && e.max_message_length <= kMaxMessageLength);
    if (e.level == ExchangeLevel::ShortApdu || e.level == ExchangeLevel::ExtendedApdu)
        FUZZ_CHECK(e.max_message_length >= kMinApduMessageLength);
    // A whole T=1 block (CRC) fits in the length the reader advertised.
    if (d.dwMaxCCIDMessageLength > kCcidHeaderLength + kT1BlockOverhead)
        FUZZ_CHECK(e.ifsd + kCcidHeaderLength + kT1BlockOverhead <= d.dwMaxCCIDMessageLength);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView raw(data, size);
    const auto decoded = decode_ccid_descriptor(raw);
    const auto parsed = parse_ccid_descriptor(raw);
    FUZZ_CHECK(decoded.has_value() == parsed.has_value());
    if (!decoded) {
        FUZZ_CHECK(!to_string(decoded.error()).empty());
        return 0;
    }
    const CcidDescriptor& d = *decoded;
    FUZZ_CHECK(parsed->fields == d);
    FUZZ_CHECK(d.bLength >= kCcidDescriptorLength && d.bLength <= size);
    FUZZ_CHECK(d.trailing.size() == d.bLength - kCcidDescriptorLength);

    // The codec is exact: encoding the fields gives back the bLength bytes that were read.
    const Bytes encoded = encode_ccid_descriptor(d);
    FUZZ_CHECK(encoded.size() == d.bLength);
    FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), raw.begin()));

    check_limits(d, parsed->effective);
    FUZZ_CHECK(parsed->effective == effective_limits(d));
    const DescriptorMeaning m = interpret(d);
    FUZZ_CHECK(m.slot_count == d.bMaxSlotIndex + 1u);
    FUZZ_CHECK(m.level == exchange_level(d.dwFeatures));
    FUZZ_CHECK((m.feature_bits & kExchangeLevelMask) == 0);
    for (const auto& w : parsed->warnings) {
        FUZZ_CHECK(!w.field.empty());
        FUZZ_CHECK(!w.reason.empty());
    }
    const auto lines = describe_parsed_descriptor(*parsed);
    FUZZ_CHECK(!lines.empty());
    std::size_t total = 0;
    for (const auto& l : lines) total += l.size();
    // The report is bounded whatever the bytes (trailing bytes at most 201).
    FUZZ_CHECK(total < 64 * 1024);
    return 0;
}

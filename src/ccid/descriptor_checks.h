// Plausibility of a CCID class descriptor, and the values the transport should actually use.
// Real readers ship descriptors with impossible versions, zero clocks, IFSD 0 or 4096, message
// lengths too small for a short APDU, etc. (see docs/design/descriptor.md for the corpus numbers):
// nothing here rejects a descriptor, it names what cannot be trusted and picks safe values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ccid/descriptor.h"
#include "ccid/descriptor_meaning.h"

namespace ccidkit::ccid {

struct DescriptorWarning {
    std::string_view field;  // specification field name, e.g. "dwMaxIFSD" (static storage)
    std::uint32_t value;     // the raw field value
    std::string reason;

    bool operator==(const DescriptorWarning&) const = default;
};

std::vector<DescriptorWarning> check_descriptor(const CcidDescriptor& d);

// Limits used when a descriptor value is implausible, with where they come from.
inline constexpr unsigned kMaxUsableSlots = 16;  // no reader has more; bounds per-slot state
inline constexpr std::uint32_t kMinClockKhz = 1000;          // ISO 7816-3 5.2.3: f >= 1 MHz
inline constexpr std::uint32_t kMaxClockKhz = 20000;         // ISO 7816-3 table 7: highest f(max)
inline constexpr std::uint32_t kFallbackClockKhz = 4000;     // the usual reader clock
// Fastest ISO 7816-3 rate: f(max) 5 MHz with Fi 372 and Di 64 (tables 7 and 8).
inline constexpr std::uint32_t kMaxIsoDataRate = 5'000'000u * 64u / 372u;
inline constexpr std::uint32_t kMaxIfsd = 254;               // ISO 7816-3 11.4.2: IFS 1..254
inline constexpr std::uint32_t kCcidHeaderLength = 10;       // CCID 1.1 section 6: message header
inline constexpr std::uint32_t kShortApduMax = 261;          // CLA INS P1 P2 Lc 255 bytes Le
// CCID 1.1 section 5.1: extended APDU readers take 261+10 to 65544+10 bytes per message.
inline constexpr std::uint32_t kMinApduMessageLength = kShortApduMax + kCcidHeaderLength;
inline constexpr std::uint32_t kMaxMessageLength = 65544 + kCcidHeaderLength;
// Otherwise the minimum is the bulk-OUT wMaxPacketSize: 64 on every full-speed reader.
inline constexpr std::uint32_t kMinMessageLength = 64;
// T=1 block overhead around INF: NAD PCB LEN, then a CRC (the larger EDC).
inline constexpr std::uint32_t kT1BlockOverhead = 3 + 2;

struct EffectiveLimits {
    unsigned slot_count = 1;            // 1..kMaxUsableSlots
    unsigned max_busy_slots = 1;        // 1..slot_count
    bool t0 = true, t1 = true;          // both assumed when the descriptor names neither
    std::uint8_t voltages = 0x07;       // all three assumed when none is named
    std::uint32_t default_clock_khz = kFallbackClockKhz;
    std::uint32_t max_clock_khz = kFallbackClockKhz;  // >= default_clock_khz
    std::uint32_t default_data_rate = 10752;
    std::uint32_t max_data_rate = 10752;              // >= default_data_rate
    ExchangeLevel level = ExchangeLevel::Tpdu;        // never Contradictory
    std::uint32_t ifsd = kMaxIfsd;                    // 1..254, fits in one message
    // Two limits from dwMaxCCIDMessageLength (header included). Replies are decoded against the
    // lenient one: readers that report too little still get their answers read. What the host
    // sends keeps to the strict one, the reported value itself (floored at one bulk packet):
    // CCID 1.1 section 5.1 lets the reader refuse anything longer (bError 01, dwLength).
    std::uint32_t max_message_length = 271;           // lenient: raised to 271 unless character level
    std::uint32_t max_send_length = 271;              // strict: kMinMessageLength..kMaxMessageLength

    bool operator==(const EffectiveLimits&) const = default;
};

EffectiveLimits effective_limits(const CcidDescriptor& d);

}  // namespace ccidkit::ccid

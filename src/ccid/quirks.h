// Per-reader fixes as data (issue: "Quirks are data"). One table keyed by VID:PID (and an
// optional bcdDevice range) says what a real reader gets wrong; the CCID layer applies the
// resulting `Quirks` value and never tests vendor or product IDs itself. A user file named by
// $CCIDKIT_QUIRKS_FILE adds or overrides rows for bring-up of a new reader.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ccid/descriptor.h"

namespace ccidkit::ccid {

// Descriptor fields a reader reports wrongly. Applied over the parsed descriptor before any
// other decision is made.
struct DescriptorOverrides {
    std::optional<std::uint32_t> dwFeatures;
    std::optional<std::uint32_t> dwMaxIFSD;
    std::optional<std::uint32_t> dwMaxCCIDMessageLength;
    std::optional<std::uint32_t> dwMaxDataRate;
    std::optional<std::uint32_t> dwProtocols;
    std::optional<std::uint8_t> bPINSupport;
    std::optional<std::uint8_t> bVoltageSupport;
    std::optional<std::uint8_t> bMaxCCIDBusySlots;
    bool operator==(const DescriptorOverrides&) const = default;
};

enum class ExchangeLevelOverride : std::uint8_t { None, Tpdu, ShortApdu, ExtendedApdu };

// Behaviour switches. Default-constructed = a well-behaved reader.
struct Quirks {
    DescriptorOverrides descriptor;
    // Treat the reader as this exchange level whatever dwFeatures says (e.g. readers that
    // declare short APDU but chain responses like extended APDU).
    ExchangeLevelOverride level = ExchangeLevelOverride::None;
    // Drop data rates above this from the GET_DATA_RATES list and cap dwMaxDataRate.
    std::optional<std::uint32_t> max_data_rate;
    // Never send a PPS; use the card's default protocol and Fd/Dd.
    bool no_pps = false;
    // Behave as if the reader did the T=1 IFSD exchange itself (reader fails S(IFS)).
    bool skip_ifsd_exchange = false;
    // Power the slot off before powering it on (state machine must start from off).
    bool power_off_before_on = false;
    // Poll with GetSlotStatus even when an interrupt endpoint exists (missed events).
    bool poll_slot_status = false;
    // Ignore the interrupt endpoint entirely.
    bool ignore_interrupt_endpoint = false;
    // Send the ABORT sequence (class request + PC_to_RDR_Abort) when opening the reader.
    bool abort_on_open = false;
    // Multiply every command timeout during open by this factor (slow-starting firmware).
    unsigned open_timeout_factor = 1;
    // Extra time added to every card command timeout (slow on-card operations).
    std::chrono::milliseconds extra_timeout{0};
    // Cap the T=1 IFSD we announce (USB stacks that hang on n*wMaxPacketSize frames).
    std::optional<std::uint8_t> max_ifsd;
    // Never use a NAD other than 0.
    bool no_nad = false;
    // Known-broken firmware: refuse the reader below this bcdDevice unless the user overrides.
    std::optional<std::uint16_t> min_firmware;
    // The interface is vendor class (0xFF) but carries a CCID descriptor: enumerate it.
    bool vendor_class_ccid = false;
    // Read each reply only after its command has gone out (no bulk-IN transfer queued ahead
    // of the bulk-OUT one; Transport::prepare_bulk_in), for firmware that mishandles an IN
    // token arriving before the command.
    bool no_bulk_in_read_ahead = false;
    bool operator==(const Quirks&) const = default;
};

struct QuirkRow {
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::uint16_t bcd_min = 0x0000;  // inclusive bcdDevice range the row applies to
    std::uint16_t bcd_max = 0xFFFF;
    std::string name;    // reader model, for reports
    std::string reason;  // what goes wrong without the fix (shown by `ccidctl info/diag`)
    Quirks quirks;
};

// The built-in table (quirks_table.cpp): one row per reader and firmware range whose fix one
// of the switches above expresses. Rows of the same VID:PID never overlap in bcdDevice, every
// row has a name and a reason and changes at least one field. Lookup, merging with the
// user's rows and reporting live in quirks_lookup.h; the user file format in quirks_file.h.
std::span<const QuirkRow> builtin_quirks();

}  // namespace ccidkit::ccid

// The user's quirks file ($CCIDKIT_QUIRKS_FILE): extra or corrected rows for bringing up a
// reader the built-in table does not know. Plain text, one row per line:
//
//   # comment (also after a row)
//   08e6:3437 bcd=0000-0200 no_pps max_ifsd=48 dwMaxIFSD=254 level=extended reason="..."
//
// A row starts with VID:PID (hex, "0x" allowed) and lists the settings it changes; any other
// setting keeps the value of earlier rows. Every key accepts "default", which restores the
// well-behaved value (e.g. `min_firmware=default` accepts a firmware the table refuses).
// The full key list is in docs/design/quirks.md. A file with any malformed line is rejected
// as a whole: the error names the line and the reason, and no row of it is used.
#pragma once

#include <bitset>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "ccid/quirks.h"

namespace ccidkit::ccid {

// One behaviour field of `Quirks`, so a row can say which fields it sets (a user row may set
// a field back to its default to cancel a built-in fix).
enum class QuirkField : std::uint8_t {
    dwFeatures,
    dwMaxIFSD,
    dwMaxCCIDMessageLength,
    dwMaxDataRate,
    dwProtocols,
    bPINSupport,
    bVoltageSupport,
    bMaxCCIDBusySlots,
    level,
    max_data_rate,
    no_pps,
    skip_ifsd_exchange,
    power_off_before_on,
    poll_slot_status,
    ignore_interrupt_endpoint,
    abort_on_open,
    open_timeout_factor,
    extra_timeout,
    max_ifsd,
    no_nad,
    min_firmware,
    vendor_class_ccid,
    no_bulk_in_read_ahead,
};
inline constexpr std::size_t kQuirkFieldCount = 23;
using QuirkFieldSet = std::bitset<kQuirkFieldCount>;

constexpr std::size_t index_of(QuirkField f) { return static_cast<std::size_t>(f); }
constexpr QuirkField quirk_field_at(std::size_t i) { return static_cast<QuirkField>(i); }

// The key that names the field in the file (also used in reports): "dwMaxIFSD", "no_pps", ...
std::string_view key_name(QuirkField f);

// Calls fn(member) with a reference to the member of `q` that `f` names. The member types
// differ (bool, optional<uint32_t>, milliseconds, ...), so fn is usually a generic lambda.
template <typename Q, typename Fn>
decltype(auto) visit_quirk_field(Q& q, QuirkField f, Fn&& fn) {
    switch (f) {
        case QuirkField::dwFeatures: return fn(q.descriptor.dwFeatures);
        case QuirkField::dwMaxIFSD: return fn(q.descriptor.dwMaxIFSD);
        case QuirkField::dwMaxCCIDMessageLength: return fn(q.descriptor.dwMaxCCIDMessageLength);
        case QuirkField::dwMaxDataRate: return fn(q.descriptor.dwMaxDataRate);
        case QuirkField::dwProtocols: return fn(q.descriptor.dwProtocols);
        case QuirkField::bPINSupport: return fn(q.descriptor.bPINSupport);
        case QuirkField::bVoltageSupport: return fn(q.descriptor.bVoltageSupport);
        case QuirkField::bMaxCCIDBusySlots: return fn(q.descriptor.bMaxCCIDBusySlots);
        case QuirkField::level: return fn(q.level);
        case QuirkField::max_data_rate: return fn(q.max_data_rate);
        case QuirkField::no_pps: return fn(q.no_pps);
        case QuirkField::skip_ifsd_exchange: return fn(q.skip_ifsd_exchange);
        case QuirkField::power_off_before_on: return fn(q.power_off_before_on);
        case QuirkField::poll_slot_status: return fn(q.poll_slot_status);
        case QuirkField::ignore_interrupt_endpoint: return fn(q.ignore_interrupt_endpoint);
        case QuirkField::abort_on_open: return fn(q.abort_on_open);
        case QuirkField::open_timeout_factor: return fn(q.open_timeout_factor);
        case QuirkField::extra_timeout: return fn(q.extra_timeout);
        case QuirkField::max_ifsd: return fn(q.max_ifsd);
        case QuirkField::no_nad: return fn(q.no_nad);
        case QuirkField::min_firmware: return fn(q.min_firmware);
        case QuirkField::vendor_class_ccid: return fn(q.vendor_class_ccid);
        case QuirkField::no_bulk_in_read_ahead: return fn(q.no_bulk_in_read_ahead);
    }
    return fn(q.vendor_class_ccid);  // unreachable for valid enumerators
}

// dst.<f> = src.<f>; and whether a.<f> == b.<f>.
void copy_quirk_field(Quirks& dst, const Quirks& src, QuirkField f);
bool same_quirk_field(const Quirks& a, const Quirks& b, QuirkField f);

// A row from the user's file, with the fields it names (merged field by field over the
// built-in rows) and where it came from.
struct UserQuirkRow {
    QuirkRow row;
    QuirkFieldSet fields;
    std::size_t line = 0;  // 1-based line in the file
};

// Bounds that keep a hostile or corrupt file from costing unbounded time or memory.
inline constexpr std::size_t kMaxQuirksFileBytes = 256 * 1024;
inline constexpr std::size_t kMaxQuirksLineBytes = 1024;
inline constexpr std::size_t kMaxQuirksRows = 4096;

enum class QuirksFileErrorCode {
    CannotOpen,         // the file could not be opened or read
    FileTooLarge,       // above kMaxQuirksFileBytes
    LineTooLong,        // above kMaxQuirksLineBytes
    TooManyRows,        // above kMaxQuirksRows
    ControlCharacter,   // a byte below 0x20 (other than tab) or 0x7F
    BadId,              // the row does not start with VID:PID
    BadBcd,             // a bcdDevice value or range that does not parse, or low > high
    UnknownKey,         // a key that is not in the list
    DuplicateKey,       // the same key twice on one row
    MissingValue,       // a key that needs "=value" has none
    BadValue,           // the value does not parse for that key
    OutOfRange,         // the value parses but is outside what the key allows
    Syntax,             // quoting or token structure is wrong
    NothingToChange,    // the row names no setting at all
};

std::string_view to_string(QuirksFileErrorCode e);

struct QuirksFileError {
    QuirksFileErrorCode code = QuirksFileErrorCode::Syntax;
    std::size_t line = 0;  // 1-based; 0 when the error is about the whole file
    std::string detail;    // what exactly was wrong (the key, the value, the path)
    bool operator==(const QuirksFileError&) const = default;
};

// "quirks file line 3: unknown key: 'nopps'" (line omitted when 0).
std::string describe(const QuirksFileError& e);

// Parses the text of a quirks file. `source` names the file in the default reason of rows
// that have no reason="...". All rows or an error: never a partial result.
std::expected<std::vector<UserQuirkRow>, QuirksFileError> parse_quirks_text(
    std::string_view text, std::string_view source = "quirks file");

// Reads (at most kMaxQuirksFileBytes + 1 bytes of) the file and parses it.
std::expected<std::vector<UserQuirkRow>, QuirksFileError> read_quirks_file(const std::string& path);

// The settings of `fields` in file syntax ("no_pps max_data_rate=9600"), and a whole row
// ("058f:9540 bcd=0000-0120 max_data_rate=200000 name=\"...\" reason=\"...\""); the parser
// reads both back to the same values.
std::string format_settings(const Quirks& q, const QuirkFieldSet& fields);
std::string format_quirk_row(const QuirkRow& row, const QuirkFieldSet& fields);

// bcdDevice as lsusb shows it: 0x0516 -> "5.16".
std::string format_bcd(std::uint16_t bcd);

}  // namespace ccidkit::ccid

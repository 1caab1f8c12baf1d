// Which quirks apply to a reader: the built-in rows and then the user's rows whose VID:PID
// and bcdDevice range match, merged field by field in that order (a later row overrides only
// the fields it sets). Also the reports built on that (`ccidctl info`, udev rules).
//
// The user's rows come from the file named by $CCIDKIT_QUIRKS_FILE, read once at the first
// lookup, or from an explicit load_quirks_file(). A file that does not parse is rejected as a
// whole, logged, and kept as user_quirks_error(); lookups then use the built-in rows only.
// All functions here are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ccid/descriptor.h"
#include "ccid/quirks.h"
#include "ccid/quirks_file.h"

namespace ccidkit::ccid {

inline constexpr const char* kQuirksFileEnvVar = "CCIDKIT_QUIRKS_FILE";

// ---- Pure functions over explicit row sets (no global state) ----

// Fields of `q` that differ from the well-behaved default: what a built-in row sets.
QuirkFieldSet changed_fields(const Quirks& q);

bool row_matches(const QuirkRow& row, std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device);

// Merges `builtin` rows (their non-default fields), then `user` rows (the fields they name),
// each in order, for one device.
Quirks merge_quirks(std::span<const QuirkRow> builtin, std::span<const UserQuirkRow> user, std::uint16_t vid,
                    std::uint16_t pid, std::uint16_t bcd_device);

// True when some bcdDevice of this VID:PID ends up with vendor_class_ccid set.
bool any_vendor_class(std::span<const QuirkRow> builtin, std::span<const UserQuirkRow> user, std::uint16_t vid,
                      std::uint16_t pid);

// ---- Lookups over the built-in table plus the current user rows ----

Quirks quirks_for(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device);

// Whether a vendor-class (0xFF) interface of this device is a CCID reader to enumerate. The
// two-argument form answers for any firmware of the model; the other for this firmware.
bool is_vendor_class_reader(std::uint16_t vid, std::uint16_t pid);
bool is_vendor_class_reader(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device);

// Every VID:PID for which is_vendor_class_reader(vid, pid) holds, sorted, no duplicates.
std::vector<std::pair<std::uint16_t, std::uint16_t>> vendor_class_ids();

// The descriptor with each overridden field replaced.
CcidDescriptor apply_overrides(CcidDescriptor descriptor, const DescriptorOverrides& overrides);

// A row that matched a device, for reports.
struct QuirkMatch {
    std::string name;
    std::string reason;
    std::uint16_t bcd_min = 0;
    std::uint16_t bcd_max = 0xFFFF;
    bool from_user_file = false;
    std::size_t line = 0;  // line in the user's file (from_user_file only)
};
std::vector<QuirkMatch> matching_rows(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device);

// One human line per non-default field of `q`, e.g. "dwMaxIFSD forced to 254".
std::vector<std::string> describe_quirks(const Quirks& q);

// What `ccidctl info` prints: the matching rows (name, origin, reason), then describe_quirks()
// of the merged result. Empty for a well-behaved reader.
std::vector<std::string> describe_quirks_for(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device);

// The built-in table as a Markdown table (docs/design/quirks.md embeds it).
std::string builtin_quirks_markdown();

// ---- The user's rows ----

// Reads and parses `path`; on success its rows replace the current user rows and the count
// is returned. On failure nothing changes except user_quirks_error(). Either way the
// environment variable is no longer consulted.
std::expected<std::size_t, QuirksFileError> load_quirks_file(const std::string& path);

// Replaces the user rows (e.g. rows given on a command line); clears user_quirks_error().
void set_user_quirks(std::vector<UserQuirkRow> rows);
void clear_user_quirks();
// Forgets the user rows and any error: the next lookup reads $CCIDKIT_QUIRKS_FILE again.
void reset_user_quirks();
std::vector<UserQuirkRow> user_quirks();

// The reason the last file (from the environment or load_quirks_file) was rejected.
std::optional<QuirksFileError> user_quirks_error();

}  // namespace ccidkit::ccid

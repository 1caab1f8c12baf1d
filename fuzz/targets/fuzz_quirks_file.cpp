// The user's quirks file ($CCIDKIT_QUIRKS_FILE): text from a user or a system image, read at
// every start of the driver. Input: the file's bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ccid/quirks_file.h"
#include "fuzz_support.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

// Rows whose formatted form is parsed back (each parse is a full file parse).
constexpr std::size_t kRoundTripRows = 8;

// A row written back in file syntax (`ccidctl info` prints rows this way) reads back the same.
void check_round_trip(const UserQuirkRow& row) {
    const std::string line = format_quirk_row(row.row, row.fields);
    // The written form may be longer than what was read (defaults spelt out, escapes).
    if (line.size() > kMaxQuirksLineBytes) return;
    const auto again = parse_quirks_text(line, "round trip");
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->size() == 1);
    const UserQuirkRow& r = again->front();
    FUZZ_CHECK(r.fields == row.fields);
    FUZZ_CHECK(r.row.vid == row.row.vid && r.row.pid == row.row.pid);
    FUZZ_CHECK(r.row.bcd_min == row.row.bcd_min && r.row.bcd_max == row.row.bcd_max);
    FUZZ_CHECK(r.row.name == row.row.name);
    FUZZ_CHECK(r.row.reason == row.row.reason);
    for (std::size_t i = 0; i < kQuirkFieldCount; ++i)
        if (row.fields.test(i)) FUZZ_CHECK(same_quirk_field(r.row.quirks, row.row.quirks, quirk_field_at(i)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::size_t lines = 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    const auto rows = parse_quirks_text(text, "fuzz");
    if (!rows) {
        // The error names a line of the file (or 0: the whole file) and reads as a sentence.
        FUZZ_CHECK(rows.error().line <= lines);
        FUZZ_CHECK(!to_string(rows.error().code).empty());
        FUZZ_CHECK(!describe(rows.error()).empty());
        FUZZ_CHECK(describe(rows.error()).size() < 4 * kMaxQuirksLineBytes);  // bounded, even quoting a long line
        return 0;
    }
    FUZZ_CHECK(size <= kMaxQuirksFileBytes);
    FUZZ_CHECK(rows->size() <= kMaxQuirksRows);
    std::size_t previous = 0;
    for (std::size_t i = 0; i < rows->size(); ++i) {
        const UserQuirkRow& row = (*rows)[i];
        FUZZ_CHECK(row.line > previous && row.line <= lines);  // one row per line, in order
        previous = row.line;
        FUZZ_CHECK(row.fields.any());
        FUZZ_CHECK(row.row.bcd_min <= row.row.bcd_max);
        FUZZ_CHECK(!row.row.reason.empty());
        if (i < kRoundTripRows) check_round_trip(row);
    }
    return 0;
}

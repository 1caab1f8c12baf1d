// The bring-up report of `ccidctl diag`: a list of checks with a status each, measurements,
// a verdict and, when something failed that a quirk fixes, the quirks-file row to try.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ccid/quirks_file.h"
#include "json.h"

namespace ccidkit::ccidctl {

enum class CheckStatus : std::uint8_t { Pass, Info, Skip, Warn, Fail };
std::string_view to_string(CheckStatus s);

struct Check {
    std::string id;     // "descriptor.parse", "card.power-on.3v", ...
    std::string title;  // one line for people
    CheckStatus status = CheckStatus::Pass;
    std::vector<std::string> details;
    std::vector<std::pair<std::string, std::string>> measurements;  // name, value with unit
};

struct QuirkSuggestion {
    ccid::QuirkRow row;
    ccid::QuirkFieldSet fields;
    std::vector<std::string> why;  // one line per field
};

struct DiagReport {
    std::string reader;
    std::string location;
    std::uint16_t vendor_id = 0, product_id = 0, bcd_device = 0;
    std::vector<Check> checks;
    std::optional<QuirkSuggestion> suggestion;

    Check& add(std::string id, std::string title, CheckStatus status = CheckStatus::Pass);
    CheckStatus verdict() const;  // the worst status of any check (Info and Skip count as Pass)
};

void print_report_text(std::ostream& out, const DiagReport& r);
void write_report_json(JsonWriter& j, const DiagReport& r);

}  // namespace ccidkit::ccidctl

#include "diag_report.h"

#include <fmt/format.h>

#include <algorithm>

namespace ccidkit::ccidctl {

std::string_view to_string(CheckStatus s) {
    switch (s) {
        case CheckStatus::Pass: return "pass";
        case CheckStatus::Info: return "info";
        case CheckStatus::Skip: return "skip";
        case CheckStatus::Warn: return "warn";
        case CheckStatus::Fail: return "fail";
    }
    return "unknown";
}

Check& DiagReport::add(std::string id, std::string title, CheckStatus status) {
    checks.push_back(Check{std::move(id), std::move(title), status, {}, {}});
    return checks.back();
}

CheckStatus DiagReport::verdict() const {
    CheckStatus worst = CheckStatus::Pass;
    for (const auto& c : checks) {
        if (c.status == CheckStatus::Fail) return CheckStatus::Fail;
        if (c.status == CheckStatus::Warn) worst = CheckStatus::Warn;
    }
    return worst;
}

namespace {

std::string_view verdict_text(CheckStatus v) {
    switch (v) {
        case CheckStatus::Fail: return "PROBLEMS: the reader needs a fix (see the failed checks)";
        case CheckStatus::Warn: return "USABLE with warnings (see the warnings)";
        default: return "OK: no problem found";
    }
}

}  // namespace

void print_report_text(std::ostream& out, const DiagReport& r) {
    out << "ccidkit reader diagnostics\n";
    out << "Reader: " << r.reader << '\n';
    out << fmt::format("Device: {:04X}:{:04X} bcdDevice {} at {}\n\n", r.vendor_id, r.product_id,
                       ccid::format_bcd(r.bcd_device), r.location);
    for (const auto& c : r.checks) {
        out << fmt::format("[{:4}] {}\n", to_string(c.status), c.title);
        for (const auto& d : c.details) out << "       " << d << '\n';
        for (const auto& [name, value] : c.measurements) out << "       " << name << ": " << value << '\n';
    }
    const auto v = r.verdict();
    out << "\nVerdict: " << verdict_text(v) << '\n';
    if (r.suggestion) {
        out << "\nSuggested quirks row (add it to the file named by $CCIDKIT_QUIRKS_FILE, test, then\n"
               "propose it for src/ccid/quirks_table.cpp; see docs/BRINGUP.md):\n";
        out << "  " << ccid::format_quirk_row(r.suggestion->row, r.suggestion->fields) << '\n';
        for (const auto& w : r.suggestion->why) out << "  # " << w << '\n';
    }
}

void write_report_json(JsonWriter& j, const DiagReport& r) {
    j.begin_object();
    j.key("reader").begin_object();
    j.field("name", r.reader).field("location", r.location);
    j.field("vendor_id", unsigned{r.vendor_id}).field("product_id", unsigned{r.product_id});
    j.field("bcd_device", unsigned{r.bcd_device});
    j.end_object();
    j.key("checks").begin_array();
    for (const auto& c : r.checks) {
        j.begin_object().field("id", c.id).field("title", c.title).field("status", to_string(c.status));
        j.string_array("details", c.details);
        j.key("measurements").begin_object();
        for (const auto& [name, value] : c.measurements) j.field(name, value);
        j.end_object().end_object();
    }
    j.end_array();
    j.field("verdict", to_string(r.verdict()));
    j.key("suggested_quirks_row");
    if (r.suggestion) {
        j.begin_object();
        j.field("row", ccid::format_quirk_row(r.suggestion->row, r.suggestion->fields));
        j.string_array("why", r.suggestion->why);
        j.end_object();
    } else {
        j.null();
    }
    j.end_object();
}

}  // namespace ccidkit::ccidctl

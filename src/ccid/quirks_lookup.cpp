#include "ccid/quirks_lookup.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>

#include "ccid/logging.h"

namespace ccidkit::ccid {

QuirkFieldSet changed_fields(const Quirks& q) {
    static const Quirks kDefault{};
    QuirkFieldSet set;
    for (std::size_t i = 0; i < kQuirkFieldCount; ++i) {
        if (!same_quirk_field(q, kDefault, quirk_field_at(i))) set.set(i);
    }
    return set;
}

bool row_matches(const QuirkRow& row, std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device) {
    return row.vid == vid && row.pid == pid && bcd_device >= row.bcd_min && bcd_device <= row.bcd_max;
}

namespace {

void merge_fields(Quirks& into, const Quirks& from, const QuirkFieldSet& fields) {
    for (std::size_t i = 0; i < kQuirkFieldCount; ++i) {
        if (fields.test(i)) copy_quirk_field(into, from, quirk_field_at(i));
    }
}

}  // namespace

Quirks merge_quirks(std::span<const QuirkRow> builtin, std::span<const UserQuirkRow> user, std::uint16_t vid,
                    std::uint16_t pid, std::uint16_t bcd_device) {
    Quirks q;
    for (const QuirkRow& row : builtin) {
        if (row_matches(row, vid, pid, bcd_device)) merge_fields(q, row.quirks, changed_fields(row.quirks));
    }
    for (const UserQuirkRow& u : user) {
        if (row_matches(u.row, vid, pid, bcd_device)) merge_fields(q, u.row.quirks, u.fields);
    }
    return q;
}

bool any_vendor_class(std::span<const QuirkRow> builtin, std::span<const UserQuirkRow> user, std::uint16_t vid,
                      std::uint16_t pid) {
    // The merged value only changes where a row's range starts or ends, so checking bcdDevice
    // 0 and every row boundary covers all 65536 firmware versions.
    std::set<std::uint16_t> points{0};
    auto add = [&](const QuirkRow& row) {
        if (row.vid != vid || row.pid != pid) return;
        points.insert(row.bcd_min);
        if (row.bcd_max < 0xFFFF) points.insert(static_cast<std::uint16_t>(row.bcd_max + 1));
    };
    for (const QuirkRow& row : builtin) add(row);
    for (const UserQuirkRow& u : user) add(u.row);
    return std::ranges::any_of(points, [&](std::uint16_t bcd) {
        return merge_quirks(builtin, user, vid, pid, bcd).vendor_class_ccid;
    });
}

// ---- The user's rows: one process-wide set behind a mutex ----

namespace {

using RowSet = std::shared_ptr<const std::vector<UserQuirkRow>>;

struct UserRegistry {
    std::mutex mutex;
    bool initialised = false;  // the environment was consulted, or an explicit load happened
    RowSet rows = std::make_shared<const std::vector<UserQuirkRow>>();
    std::optional<QuirksFileError> error;
};

UserRegistry& registry() {
    static UserRegistry r;
    return r;
}

void load_from_environment(UserRegistry& r) {
    const char* path = std::getenv(kQuirksFileEnvVar);
    if (path == nullptr || *path == '\0') return;
    auto rows = read_quirks_file(path);
    if (!rows) {
        // A misconfiguration: said on stderr even with logging off (as for CCIDKIT_USB_FD).
        fmt::print(stderr, "ccidkit: {} is ignored, built-in quirks only: {}\n", kQuirksFileEnvVar, describe(rows.error()));
        r.error = rows.error();
        return;
    }
    ccid::logger()->info("quirks: {} row(s) from {}", rows->size(), path);
    r.rows = std::make_shared<const std::vector<UserQuirkRow>>(std::move(*rows));
}

RowSet current_user_rows() {
    UserRegistry& r = registry();
    std::lock_guard lock(r.mutex);
    if (!r.initialised) {
        r.initialised = true;
        load_from_environment(r);
    }
    return r.rows;
}

}  // namespace

std::expected<std::size_t, QuirksFileError> load_quirks_file(const std::string& path) {
    auto rows = read_quirks_file(path);
    UserRegistry& r = registry();
    std::lock_guard lock(r.mutex);
    r.initialised = true;
    if (!rows) {
        ccid::logger()->error("quirks: {} rejected: {}", path, describe(rows.error()));
        r.error = rows.error();
        return std::unexpected(rows.error());
    }
    std::size_t n = rows->size();
    r.rows = std::make_shared<const std::vector<UserQuirkRow>>(std::move(*rows));
    r.error.reset();
    return n;
}

void set_user_quirks(std::vector<UserQuirkRow> rows) {
    UserRegistry& r = registry();
    std::lock_guard lock(r.mutex);
    r.initialised = true;
    r.rows = std::make_shared<const std::vector<UserQuirkRow>>(std::move(rows));
    r.error.reset();
}

void clear_user_quirks() { set_user_quirks({}); }

void reset_user_quirks() {
    UserRegistry& r = registry();
    std::lock_guard lock(r.mutex);
    r.initialised = false;
    r.rows = std::make_shared<const std::vector<UserQuirkRow>>();
    r.error.reset();
}

std::vector<UserQuirkRow> user_quirks() { return *current_user_rows(); }

std::optional<QuirksFileError> user_quirks_error() {
    current_user_rows();  // make sure the environment has been consulted
    UserRegistry& r = registry();
    std::lock_guard lock(r.mutex);
    return r.error;
}

// ---- Lookups ----

Quirks quirks_for(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device) {
    RowSet user = current_user_rows();
    return merge_quirks(builtin_quirks(), *user, vid, pid, bcd_device);
}

bool is_vendor_class_reader(std::uint16_t vid, std::uint16_t pid) {
    RowSet user = current_user_rows();
    return any_vendor_class(builtin_quirks(), *user, vid, pid);
}

bool is_vendor_class_reader(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device) {
    return quirks_for(vid, pid, bcd_device).vendor_class_ccid;
}

std::vector<std::pair<std::uint16_t, std::uint16_t>> vendor_class_ids() {
    RowSet user = current_user_rows();
    std::set<std::pair<std::uint16_t, std::uint16_t>> ids;
    for (const QuirkRow& row : builtin_quirks()) ids.emplace(row.vid, row.pid);
    for (const UserQuirkRow& u : *user) ids.emplace(u.row.vid, u.row.pid);
    std::vector<std::pair<std::uint16_t, std::uint16_t>> out;
    for (const auto& [vid, pid] : ids) {
        if (any_vendor_class(builtin_quirks(), *user, vid, pid)) out.emplace_back(vid, pid);
    }
    return out;
}

CcidDescriptor apply_overrides(CcidDescriptor d, const DescriptorOverrides& o) {
    if (o.dwFeatures) d.dwFeatures = *o.dwFeatures;
    if (o.dwMaxIFSD) d.dwMaxIFSD = *o.dwMaxIFSD;
    if (o.dwMaxCCIDMessageLength) d.dwMaxCCIDMessageLength = *o.dwMaxCCIDMessageLength;
    if (o.dwMaxDataRate) d.dwMaxDataRate = *o.dwMaxDataRate;
    if (o.dwProtocols) d.dwProtocols = *o.dwProtocols;
    if (o.bPINSupport) d.bPINSupport = *o.bPINSupport;
    if (o.bVoltageSupport) d.bVoltageSupport = *o.bVoltageSupport;
    if (o.bMaxCCIDBusySlots) d.bMaxCCIDBusySlots = *o.bMaxCCIDBusySlots;
    return d;
}

// ---- Reports ----

namespace {

std::string_view level_text(ExchangeLevelOverride l) {
    switch (l) {
        case ExchangeLevelOverride::None: return "as the descriptor says";
        case ExchangeLevelOverride::Tpdu: return "TPDU";
        case ExchangeLevelOverride::ShortApdu: return "short APDU";
        case ExchangeLevelOverride::ExtendedApdu: return "extended APDU";
    }
    return "?";
}

std::string describe_field(const Quirks& q, QuirkField f) {
    const DescriptorOverrides& d = q.descriptor;
    auto forced = [](std::string_view name, std::optional<std::uint32_t> v, bool hex) {
        if (!v) return fmt::format("{} as the reader reports it", name);
        return hex ? fmt::format("{} forced to 0x{:08X}", name, *v) : fmt::format("{} forced to {}", name, *v);
    };
    auto forced8 = [&](std::string_view name, std::optional<std::uint8_t> v) {
        return forced(name, v ? std::optional<std::uint32_t>(*v) : std::nullopt, false);
    };
    switch (f) {
        case QuirkField::dwFeatures: return forced("dwFeatures", d.dwFeatures, true);
        case QuirkField::dwMaxIFSD: return forced("dwMaxIFSD", d.dwMaxIFSD, false);
        case QuirkField::dwMaxCCIDMessageLength: return forced("dwMaxCCIDMessageLength", d.dwMaxCCIDMessageLength, false);
        case QuirkField::dwMaxDataRate: return forced("dwMaxDataRate", d.dwMaxDataRate, false);
        case QuirkField::dwProtocols: return forced("dwProtocols", d.dwProtocols, false);
        case QuirkField::bPINSupport:
            if (d.bPINSupport == std::uint8_t{0}) return std::string("bPINSupport forced to 0: the PIN pad is not used");
            return forced8("bPINSupport", d.bPINSupport);
        case QuirkField::bVoltageSupport: return forced8("bVoltageSupport", d.bVoltageSupport);
        case QuirkField::bMaxCCIDBusySlots: return forced8("bMaxCCIDBusySlots", d.bMaxCCIDBusySlots);
        case QuirkField::level: return fmt::format("exchange level treated as {}", level_text(q.level));
        case QuirkField::max_data_rate:
            if (!q.max_data_rate) return std::string("data rates not capped");
            return fmt::format("data rates above {} bit/s dropped", *q.max_data_rate);
        case QuirkField::no_pps:
            return q.no_pps ? std::string("no PPS: the card's default protocol and Fi/Di are kept")
                            : std::string("PPS allowed");
        case QuirkField::skip_ifsd_exchange:
            return q.skip_ifsd_exchange ? std::string("T=1 IFSD request skipped (done as if by the reader)")
                                        : std::string("T=1 IFSD request sent");
        case QuirkField::power_off_before_on:
            return q.power_off_before_on ? std::string("slot powered off before every power on")
                                         : std::string("power on without a power off first");
        case QuirkField::poll_slot_status:
            return q.poll_slot_status ? std::string("card presence also polled with GetSlotStatus")
                                      : std::string("card presence from the interrupt endpoint");
        case QuirkField::ignore_interrupt_endpoint:
            return q.ignore_interrupt_endpoint ? std::string("interrupt endpoint ignored")
                                               : std::string("interrupt endpoint used");
        case QuirkField::abort_on_open:
            return q.abort_on_open ? std::string("ABORT sequence sent when the reader is opened")
                                   : std::string("no ABORT at open");
        case QuirkField::open_timeout_factor:
            return fmt::format("timeouts while opening multiplied by {}", q.open_timeout_factor);
        case QuirkField::extra_timeout:
            return fmt::format("{} ms added to every card command timeout", q.extra_timeout.count());
        case QuirkField::max_ifsd:
            if (!q.max_ifsd) return std::string("T=1 IFSD not capped");
            return fmt::format("T=1 IFSD announced at most {}", *q.max_ifsd);
        case QuirkField::no_nad:
            return q.no_nad ? std::string("T=1 NAD always 0") : std::string("T=1 NAD as configured");
        case QuirkField::min_firmware:
            if (!q.min_firmware) return std::string("no firmware refused");
            return fmt::format("firmware below {} is known broken: reader refused (override with min_firmware=default)",
                               format_bcd(*q.min_firmware));
        case QuirkField::vendor_class_ccid:
            return q.vendor_class_ccid ? std::string("vendor-class (0xFF) interface used as a CCID reader")
                                       : std::string("vendor-class interface not used");
        case QuirkField::no_bulk_in_read_ahead:
            return q.no_bulk_in_read_ahead ? std::string("each reply read only after its command has gone out")
                                           : std::string("reply read queued before each command");
    }
    return "?";
}

// "any", "1.11", "below 5.16", "from 5.10", "5.04-5.0F".
std::string bcd_range_text(std::uint16_t lo, std::uint16_t hi) {
    if (lo == 0 && hi == 0xFFFF) return "any";
    if (lo == hi) return format_bcd(lo);
    if (lo == 0) return "below " + format_bcd(static_cast<std::uint16_t>(hi + 1));
    if (hi == 0xFFFF) return "from " + format_bcd(lo);
    return fmt::format("{}-{}", format_bcd(lo), format_bcd(hi));
}

std::string range_text(std::uint16_t lo, std::uint16_t hi) {
    std::string r = bcd_range_text(lo, hi);
    return r == "any" ? std::string("any firmware") : "firmware " + r;
}

std::string markdown_cell(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\|";
        else out.push_back(c);
    }
    return out;
}

}  // namespace

std::vector<QuirkMatch> matching_rows(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device) {
    RowSet user = current_user_rows();
    std::vector<QuirkMatch> out;
    for (const QuirkRow& row : builtin_quirks()) {
        if (row_matches(row, vid, pid, bcd_device)) out.push_back({row.name, row.reason, row.bcd_min, row.bcd_max, false, 0});
    }
    for (const UserQuirkRow& u : *user) {
        if (row_matches(u.row, vid, pid, bcd_device))
            out.push_back({u.row.name, u.row.reason, u.row.bcd_min, u.row.bcd_max, true, u.line});
    }
    return out;
}

std::vector<std::string> describe_quirks(const Quirks& q) {
    std::vector<std::string> lines;
    QuirkFieldSet fields = changed_fields(q);
    for (std::size_t i = 0; i < kQuirkFieldCount; ++i) {
        if (fields.test(i)) lines.push_back(describe_field(q, quirk_field_at(i)));
    }
    return lines;
}

std::vector<std::string> describe_quirks_for(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_device) {
    std::vector<std::string> lines;
    for (const QuirkMatch& m : matching_rows(vid, pid, bcd_device)) {
        std::string origin = m.from_user_file ? fmt::format("user file line {}", m.line) : std::string("built-in");
        lines.push_back(fmt::format("quirk row \"{}\" ({}, {}): {}", m.name, origin, range_text(m.bcd_min, m.bcd_max),
                                    m.reason));
    }
    for (std::string& l : describe_quirks(quirks_for(vid, pid, bcd_device))) lines.push_back("  " + std::move(l));
    return lines;
}

std::string builtin_quirks_markdown() {
    std::string out = "| VID:PID | bcdDevice | Reader | Settings | Why |\n|---|---|---|---|---|\n";
    for (const QuirkRow& row : builtin_quirks()) {
        out += fmt::format("| {:04x}:{:04x} | {} | {} | `{}` | {} |\n", row.vid, row.pid,
                           bcd_range_text(row.bcd_min, row.bcd_max), markdown_cell(row.name),
                           format_settings(row.quirks, changed_fields(row.quirks)), markdown_cell(row.reason));
    }
    return out;
}

}  // namespace ccidkit::ccid

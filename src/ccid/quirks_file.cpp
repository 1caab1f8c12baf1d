#include "ccid/quirks_file.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <type_traits>

namespace ccidkit::ccid {

std::string_view key_name(QuirkField f) {
    switch (f) {
        case QuirkField::dwFeatures: return "dwFeatures";
        case QuirkField::dwMaxIFSD: return "dwMaxIFSD";
        case QuirkField::dwMaxCCIDMessageLength: return "dwMaxCCIDMessageLength";
        case QuirkField::dwMaxDataRate: return "dwMaxDataRate";
        case QuirkField::dwProtocols: return "dwProtocols";
        case QuirkField::bPINSupport: return "bPINSupport";
        case QuirkField::bVoltageSupport: return "bVoltageSupport";
        case QuirkField::bMaxCCIDBusySlots: return "bMaxCCIDBusySlots";
        case QuirkField::level: return "level";
        case QuirkField::max_data_rate: return "max_data_rate";
        case QuirkField::no_pps: return "no_pps";
        case QuirkField::skip_ifsd_exchange: return "skip_ifsd_exchange";
        case QuirkField::power_off_before_on: return "power_off_before_on";
        case QuirkField::poll_slot_status: return "poll_slot_status";
        case QuirkField::ignore_interrupt_endpoint: return "ignore_interrupt_endpoint";
        case QuirkField::abort_on_open: return "abort_on_open";
        case QuirkField::open_timeout_factor: return "open_timeout_factor";
        case QuirkField::extra_timeout: return "extra_timeout";
        case QuirkField::max_ifsd: return "max_ifsd";
        case QuirkField::no_nad: return "no_nad";
        case QuirkField::min_firmware: return "min_firmware";
        case QuirkField::vendor_class_ccid: return "vendor_class_ccid";
        case QuirkField::no_bulk_in_read_ahead: return "no_bulk_in_read_ahead";
    }
    return "?";
}

std::string_view to_string(QuirksFileErrorCode e) {
    switch (e) {
        case QuirksFileErrorCode::CannotOpen: return "cannot open or read the file";
        case QuirksFileErrorCode::FileTooLarge: return "file too large";
        case QuirksFileErrorCode::LineTooLong: return "line too long";
        case QuirksFileErrorCode::TooManyRows: return "too many rows";
        case QuirksFileErrorCode::ControlCharacter: return "control character in the text";
        case QuirksFileErrorCode::BadId: return "a row must start with VID:PID in hex";
        case QuirksFileErrorCode::BadBcd: return "bad bcdDevice value or range";
        case QuirksFileErrorCode::UnknownKey: return "unknown key";
        case QuirksFileErrorCode::DuplicateKey: return "key given twice on one row";
        case QuirksFileErrorCode::MissingValue: return "key needs a value";
        case QuirksFileErrorCode::BadValue: return "value does not parse";
        case QuirksFileErrorCode::OutOfRange: return "value out of range";
        case QuirksFileErrorCode::Syntax: return "syntax error";
        case QuirksFileErrorCode::NothingToChange: return "row changes nothing";
    }
    return "unknown quirks file error";
}

std::string describe(const QuirksFileError& e) {
    std::string where = e.line == 0 ? std::string("quirks file") : fmt::format("quirks file line {}", e.line);
    if (e.detail.empty()) return fmt::format("{}: {}", where, to_string(e.code));
    return fmt::format("{}: {}: {}", where, to_string(e.code), e.detail);
}

std::string format_bcd(std::uint16_t bcd) {
    return fmt::format("{:X}.{:02X}", bcd >> 8, bcd & 0xFF);
}

namespace {

struct Problem {
    QuirksFileErrorCode code;
    std::string detail;
};

template <typename T>
using Result = std::expected<T, Problem>;

std::unexpected<Problem> fail(QuirksFileErrorCode code, std::string detail) {
    return std::unexpected(Problem{code, std::move(detail)});
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool starts_with_0x(std::string_view s) { return s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'); }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// 1..4 hex digits, optional 0x prefix.
std::optional<std::uint16_t> parse_hex16(std::string_view s) {
    if (starts_with_0x(s)) s.remove_prefix(2);
    if (s.empty() || s.size() > 4) return std::nullopt;
    std::uint16_t v = 0;
    for (char c : s) {
        if (!is_hex(c)) return std::nullopt;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// bcdDevice: "0516" / "0x0516" (hex as stored) or "5.16" (as lsusb prints it: 1-2 hex
// digits, a dot, exactly 2 hex digits).
std::optional<std::uint16_t> parse_bcd(std::string_view s) {
    auto dot = s.find('.');
    if (dot == std::string_view::npos) return parse_hex16(s);
    std::string_view major = s.substr(0, dot);
    std::string_view minor = s.substr(dot + 1);
    if (major.empty() || major.size() > 2 || minor.size() != 2) return std::nullopt;
    auto hi = parse_hex16(major);
    auto lo = parse_hex16(minor);
    if (!hi || !lo || starts_with_0x(major) || starts_with_0x(minor)) return std::nullopt;
    return static_cast<std::uint16_t>((*hi << 8) | *lo);
}

// Decimal or 0x-prefixed hex, no sign. Out of range of uint64 reports OutOfRange.
Result<std::uint64_t> parse_number(std::string_view key, std::string_view s) {
    int base = 10;
    std::string_view digits = s;
    if (starts_with_0x(s)) {
        base = 16;
        digits.remove_prefix(2);
    }
    if (digits.empty()) return fail(QuirksFileErrorCode::BadValue, fmt::format("{}={}: expected a number", key, s));
    for (char c : digits) {
        bool ok = base == 16 ? is_hex(c) : (c >= '0' && c <= '9');
        if (!ok) return fail(QuirksFileErrorCode::BadValue, fmt::format("{}={}: expected a number", key, s));
    }
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (ec == std::errc::result_out_of_range)
        return fail(QuirksFileErrorCode::OutOfRange, fmt::format("{}={}: number too large", key, s));
    if (ec != std::errc{} || p != digits.data() + digits.size())
        return fail(QuirksFileErrorCode::BadValue, fmt::format("{}={}: expected a number", key, s));
    return v;
}

// What each field key accepts. Numbers outside [lo, hi] are OutOfRange.
struct KeySpec {
    QuirkField field;
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
};

// The ranges are what the CCID 1.1 table 5.1-1 fields and ISO/IEC 7816-3 allow, plus sane
// caps for the timing switches (a typo must not become a one-hour timeout).
constexpr std::array<KeySpec, kQuirkFieldCount> kKeySpecs = {{
    {QuirkField::dwFeatures, 0, 0xFFFFFFFF},
    {QuirkField::dwMaxIFSD, 1, 254},                    // ISO/IEC 7816-3 11.4.2: IFSD 1..254
    {QuirkField::dwMaxCCIDMessageLength, 11, 65544 + 10},  // header + at least 1 byte .. extended APDU
    {QuirkField::dwMaxDataRate, 1, 0xFFFFFFFF},
    {QuirkField::dwProtocols, 1, 3},                    // bit 0 = T=0, bit 1 = T=1
    {QuirkField::bPINSupport, 0, 3},                    // bit 0 = verify, bit 1 = modify
    {QuirkField::bVoltageSupport, 1, 7},                // 5 V, 3 V, 1.8 V bits
    {QuirkField::bMaxCCIDBusySlots, 1, 255},
    {QuirkField::level, 0, 0},
    {QuirkField::max_data_rate, 1, 0xFFFFFFFF},
    {QuirkField::no_pps, 0, 0},
    {QuirkField::skip_ifsd_exchange, 0, 0},
    {QuirkField::power_off_before_on, 0, 0},
    {QuirkField::poll_slot_status, 0, 0},
    {QuirkField::ignore_interrupt_endpoint, 0, 0},
    {QuirkField::abort_on_open, 0, 0},
    {QuirkField::open_timeout_factor, 1, 100},
    {QuirkField::extra_timeout, 0, 600000},             // milliseconds, at most 10 minutes
    {QuirkField::max_ifsd, 1, 254},
    {QuirkField::no_nad, 0, 0},
    {QuirkField::min_firmware, 0, 0xFFFF},
    {QuirkField::vendor_class_ccid, 0, 0},
    {QuirkField::no_bulk_in_read_ahead, 0, 0},
}};

const KeySpec* find_key(std::string_view key) {
    for (const KeySpec& spec : kKeySpecs) {
        if (iequals(key_name(spec.field), key)) return &spec;
    }
    return nullptr;
}

Result<bool> parse_flag(std::string_view key, std::optional<std::string_view> value) {
    if (!value) return true;  // a bare key switches the behaviour on
    for (std::string_view yes : {"1", "yes", "true", "on"})
        if (iequals(*value, yes)) return true;
    for (std::string_view no : {"0", "no", "false", "off"})
        if (iequals(*value, no)) return false;
    return fail(QuirksFileErrorCode::BadValue, fmt::format("{}={}: expected yes/no/true/false/on/off/1/0", key, *value));
}

Result<std::uint64_t> parse_ranged(const KeySpec& spec, std::string_view key, std::string_view value) {
    auto n = parse_number(key, value);
    if (!n) return std::unexpected(n.error());
    if (*n < spec.lo || *n > spec.hi)
        return fail(QuirksFileErrorCode::OutOfRange, fmt::format("{}={}: allowed {}..{}", key, value, spec.lo, spec.hi));
    return *n;
}

Result<ExchangeLevelOverride> parse_level(std::string_view key, std::string_view value) {
    struct Name {
        std::string_view text;
        ExchangeLevelOverride level;
    };
    constexpr Name names[] = {
        {"none", ExchangeLevelOverride::None},
        {"tpdu", ExchangeLevelOverride::Tpdu},
        {"short", ExchangeLevelOverride::ShortApdu},
        {"short_apdu", ExchangeLevelOverride::ShortApdu},
        {"extended", ExchangeLevelOverride::ExtendedApdu},
        {"extended_apdu", ExchangeLevelOverride::ExtendedApdu},
    };
    for (const Name& n : names)
        if (iequals(value, n.text)) return n.level;
    return fail(QuirksFileErrorCode::BadValue, fmt::format("{}={}: expected none, tpdu, short or extended", key, value));
}

// "300000", "300000ms" or "300s".
Result<std::chrono::milliseconds> parse_duration(const KeySpec& spec, std::string_view key, std::string_view value) {
    std::string_view digits = value;
    std::uint64_t scale = 1;
    if (digits.size() > 2 && iequals(digits.substr(digits.size() - 2), "ms")) {
        digits.remove_suffix(2);
    } else if (digits.size() > 1 && iequals(digits.substr(digits.size() - 1), "s")) {
        digits.remove_suffix(1);
        scale = 1000;
    }
    if (starts_with_0x(digits))
        return fail(QuirksFileErrorCode::BadValue, fmt::format("{}={}: expected milliseconds, e.g. 500ms or 2s", key, value));
    auto n = parse_number(key, digits);
    if (!n) return fail(n.error().code, fmt::format("{}={}: expected milliseconds, e.g. 500ms or 2s", key, value));
    if (*n > spec.hi / scale)
        return fail(QuirksFileErrorCode::OutOfRange, fmt::format("{}={}: allowed 0..{}ms", key, value, spec.hi));
    return std::chrono::milliseconds(static_cast<std::int64_t>(*n * scale));
}

// Sets one member from its text value; the member's type says how the text is read.
template <typename M>
Result<void> assign(M& member, const KeySpec& spec, std::string_view key, std::optional<std::string_view> value) {
    if constexpr (std::is_same_v<M, bool>) {
        auto b = parse_flag(key, value);
        if (!b) return std::unexpected(b.error());
        member = *b;
        return {};
    } else {
        if (!value) return fail(QuirksFileErrorCode::MissingValue, fmt::format("{} needs =value", key));
        if constexpr (std::is_same_v<M, ExchangeLevelOverride>) {
            auto l = parse_level(key, *value);
            if (!l) return std::unexpected(l.error());
            member = *l;
        } else if constexpr (std::is_same_v<M, std::chrono::milliseconds>) {
            auto d = parse_duration(spec, key, *value);
            if (!d) return std::unexpected(d.error());
            member = *d;
        } else if constexpr (std::is_same_v<M, std::optional<std::uint16_t>>) {
            auto b = parse_bcd(*value);
            if (!b) return fail(QuirksFileErrorCode::BadBcd, fmt::format("{}={}: expected e.g. 0516 or 5.16", key, *value));
            member = *b;
        } else if constexpr (std::is_same_v<M, unsigned>) {
            auto n = parse_ranged(spec, key, *value);
            if (!n) return std::unexpected(n.error());
            member = static_cast<unsigned>(*n);
        } else {
            using V = typename M::value_type;  // optional<uint8_t> / optional<uint32_t>
            auto n = parse_ranged(spec, key, *value);
            if (!n) return std::unexpected(n.error());
            member = static_cast<V>(*n);
        }
        return {};
    }
}

// One "key" or "key=value" token of a row; the value is unquoted already.
struct Token {
    std::string key;
    std::optional<std::string> value;
};

// Splits a line (without its newline) into tokens. '#' outside quotes starts a comment.
// Quoted values take \" and \\ escapes.
Result<std::vector<Token>> tokenize(std::string_view line) {
    std::vector<Token> tokens;
    std::size_t i = 0;
    const std::size_t n = line.size();
    while (i < n) {
        while (i < n && is_space(line[i])) ++i;
        if (i >= n || line[i] == '#') break;
        Token t;
        while (i < n && !is_space(line[i]) && line[i] != '=' && line[i] != '#') {
            if (line[i] == '"') return fail(QuirksFileErrorCode::Syntax, fmt::format("quote in a key near '{}'", t.key));
            t.key.push_back(line[i++]);
        }
        if (t.key.empty()) return fail(QuirksFileErrorCode::Syntax, "'=' without a key");
        if (i < n && line[i] == '=') {
            ++i;
            std::string v;
            if (i < n && line[i] == '"') {
                ++i;
                bool closed = false;
                while (i < n) {
                    char c = line[i++];
                    if (c == '"') {
                        closed = true;
                        break;
                    }
                    if (c == '\\') {
                        if (i >= n) break;
                        char e = line[i++];
                        if (e != '"' && e != '\\')
                            return fail(QuirksFileErrorCode::Syntax, fmt::format("{}: unknown escape '\\{}' (only \\\" and \\\\)", t.key, e));
                        c = e;
                    }
                    v.push_back(c);
                }
                if (!closed) return fail(QuirksFileErrorCode::Syntax, fmt::format("{}: unterminated quoted value", t.key));
                if (i < n && !is_space(line[i]) && line[i] != '#')
                    return fail(QuirksFileErrorCode::Syntax, fmt::format("{}: text right after the closing quote", t.key));
            } else {
                while (i < n && !is_space(line[i]) && line[i] != '#') {
                    if (line[i] == '"' || line[i] == '=')
                        return fail(QuirksFileErrorCode::Syntax,
                                    fmt::format("{}: '{}' inside an unquoted value (quote the value)", t.key, line[i]));
                    v.push_back(line[i++]);
                }
                if (v.empty()) return fail(QuirksFileErrorCode::MissingValue, fmt::format("{}= has an empty value", t.key));
            }
            t.value = std::move(v);
        }
        tokens.push_back(std::move(t));
    }
    return tokens;
}

Result<std::pair<std::uint16_t, std::uint16_t>> parse_id(const Token& t) {
    auto colon = t.key.find(':');
    auto bad = [&] {
        return fail(QuirksFileErrorCode::BadId, fmt::format("'{}{}' (expected e.g. 08e6:3437)", t.key, t.value ? "=..." : ""));
    };
    if (t.value || colon == std::string::npos) return bad();
    auto vid = parse_hex16(std::string_view(t.key).substr(0, colon));
    auto pid = parse_hex16(std::string_view(t.key).substr(colon + 1));
    if (!vid || !pid) return bad();
    return std::pair{*vid, *pid};
}

// "bcd=0100" (one version) or "bcd=0000-0200" (inclusive range).
Result<std::pair<std::uint16_t, std::uint16_t>> parse_bcd_range(std::string_view value) {
    auto dash = value.find('-');
    auto bad = [&] { return fail(QuirksFileErrorCode::BadBcd, fmt::format("bcd={}: expected e.g. 0200, 2.00 or 0000-0200", value)); };
    if (dash == std::string_view::npos) {
        auto one = parse_bcd(value);
        if (!one) return bad();
        return std::pair{*one, *one};
    }
    auto lo = parse_bcd(value.substr(0, dash));
    auto hi = parse_bcd(value.substr(dash + 1));
    if (!lo || !hi) return bad();
    if (*lo > *hi) return fail(QuirksFileErrorCode::BadBcd, fmt::format("bcd={}: low end above high end", value));
    return std::pair{*lo, *hi};
}

Result<UserQuirkRow> parse_row(const std::vector<Token>& tokens, std::size_t line_no, std::string_view source) {
    UserQuirkRow out;
    out.line = line_no;
    auto id = parse_id(tokens.front());
    if (!id) return std::unexpected(id.error());
    out.row.vid = id->first;
    out.row.pid = id->second;
    bool have_bcd = false, have_name = false, have_reason = false;
    for (std::size_t k = 1; k < tokens.size(); ++k) {
        const Token& t = tokens[k];
        std::optional<std::string_view> value;
        if (t.value) value = *t.value;
        auto once = [&](bool& seen) -> Result<void> {
            if (seen) return fail(QuirksFileErrorCode::DuplicateKey, t.key);
            seen = true;
            if (!value) return fail(QuirksFileErrorCode::MissingValue, fmt::format("{} needs =value", t.key));
            return {};
        };
        if (iequals(t.key, "bcd")) {
            if (auto ok = once(have_bcd); !ok) return std::unexpected(ok.error());
            auto range = parse_bcd_range(*value);
            if (!range) return std::unexpected(range.error());
            out.row.bcd_min = range->first;
            out.row.bcd_max = range->second;
            continue;
        }
        if (iequals(t.key, "name")) {
            if (auto ok = once(have_name); !ok) return std::unexpected(ok.error());
            out.row.name = std::string(*value);
            continue;
        }
        if (iequals(t.key, "reason")) {
            if (auto ok = once(have_reason); !ok) return std::unexpected(ok.error());
            out.row.reason = std::string(*value);
            continue;
        }
        const KeySpec* spec = find_key(t.key);
        if (spec == nullptr) return fail(QuirksFileErrorCode::UnknownKey, fmt::format("'{}'", t.key));
        std::size_t idx = index_of(spec->field);
        if (out.fields.test(idx)) return fail(QuirksFileErrorCode::DuplicateKey, std::string(key_name(spec->field)));
        out.fields.set(idx);
        if (value && iequals(*value, "default")) {
            copy_quirk_field(out.row.quirks, Quirks{}, spec->field);
            continue;
        }
        Result<void> set = visit_quirk_field(out.row.quirks, spec->field, [&](auto& member) {
            return assign(member, *spec, key_name(spec->field), value);
        });
        if (!set) return std::unexpected(set.error());
    }
    if (out.fields.none())
        return fail(QuirksFileErrorCode::NothingToChange,
                    fmt::format("{:04x}:{:04x} names no setting", out.row.vid, out.row.pid));
    // An empty value (name="") gets the default too: reports must never show a blank, and a
    // row written back by format_quirk_row (which leaves empty values out) must read the same.
    if (out.row.name.empty()) out.row.name = fmt::format("{:04x}:{:04x} (user row)", out.row.vid, out.row.pid);
    if (out.row.reason.empty()) out.row.reason = fmt::format("set by {} line {}", source, line_no);
    return out;
}

}  // namespace

void copy_quirk_field(Quirks& dst, const Quirks& src, QuirkField f) {
    visit_quirk_field(dst, f, [&](auto& d) {
        visit_quirk_field(src, f, [&](const auto& s) {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(d)>, std::remove_cvref_t<decltype(s)>>) d = s;
        });
    });
}

bool same_quirk_field(const Quirks& a, const Quirks& b, QuirkField f) {
    bool same = false;
    visit_quirk_field(a, f, [&](const auto& x) {
        visit_quirk_field(b, f, [&](const auto& y) {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(x)>, std::remove_cvref_t<decltype(y)>>) same = (x == y);
        });
    });
    return same;
}

namespace {

std::string_view level_key(ExchangeLevelOverride l) {
    switch (l) {
        case ExchangeLevelOverride::None: return "none";
        case ExchangeLevelOverride::Tpdu: return "tpdu";
        case ExchangeLevelOverride::ShortApdu: return "short";
        case ExchangeLevelOverride::ExtendedApdu: return "extended";
    }
    return "none";
}

template <typename M>
std::string format_value(const M& m, QuirkField f) {
    if constexpr (std::is_same_v<M, ExchangeLevelOverride>) {
        return std::string(level_key(m));
    } else if constexpr (std::is_same_v<M, std::chrono::milliseconds>) {
        return fmt::format("{}ms", m.count());
    } else if constexpr (std::is_same_v<M, unsigned>) {
        return fmt::format("{}", m);
    } else if constexpr (std::is_same_v<M, std::optional<std::uint16_t>>) {
        return m ? format_bcd(*m) : std::string("default");
    } else {
        if (!m) return "default";
        if (f == QuirkField::dwFeatures) return fmt::format("0x{:08X}", static_cast<std::uint32_t>(*m));
        return fmt::format("{}", static_cast<std::uint32_t>(*m));
    }
}

std::string quote_value(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

}  // namespace

std::string format_settings(const Quirks& q, const QuirkFieldSet& fields) {
    std::string out;
    for (std::size_t i = 0; i < kQuirkFieldCount; ++i) {
        if (!fields.test(i)) continue;
        QuirkField f = quirk_field_at(i);
        if (!out.empty()) out.push_back(' ');
        out += key_name(f);
        visit_quirk_field(q, f, [&](const auto& m) {
            using M = std::remove_cvref_t<decltype(m)>;
            if constexpr (std::is_same_v<M, bool>) {
                if (!m) out += "=no";
            } else {
                out += "=" + format_value(m, f);
            }
        });
    }
    return out;
}

std::string format_quirk_row(const QuirkRow& row, const QuirkFieldSet& fields) {
    std::string out = fmt::format("{:04x}:{:04x}", row.vid, row.pid);
    if (row.bcd_min != 0 || row.bcd_max != 0xFFFF)
        out += fmt::format(" bcd={:04X}-{:04X}", row.bcd_min, row.bcd_max);
    std::string settings = format_settings(row.quirks, fields);
    if (!settings.empty()) out += " " + settings;
    if (!row.name.empty()) out += " name=" + quote_value(row.name);
    if (!row.reason.empty()) out += " reason=" + quote_value(row.reason);
    return out;
}

std::expected<std::vector<UserQuirkRow>, QuirksFileError> parse_quirks_text(std::string_view text,
                                                                             std::string_view source) {
    auto error = [](QuirksFileErrorCode code, std::size_t line, std::string detail) {
        return std::unexpected(QuirksFileError{code, line, std::move(detail)});
    };
    if (text.size() > kMaxQuirksFileBytes)
        return error(QuirksFileErrorCode::FileTooLarge, 0, fmt::format("{} bytes, at most {}", text.size(), kMaxQuirksFileBytes));
    std::vector<UserQuirkRow> rows;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        ++line_no;
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() > kMaxQuirksLineBytes)
            return error(QuirksFileErrorCode::LineTooLong, line_no, fmt::format("{} bytes, at most {}", line.size(), kMaxQuirksLineBytes));
        for (std::size_t i = 0; i < line.size(); ++i) {
            auto c = static_cast<unsigned char>(line[i]);
            if ((c < 0x20 && c != '\t') || c == 0x7F)
                return error(QuirksFileErrorCode::ControlCharacter, line_no, fmt::format("byte 0x{:02X} at column {}", c, i + 1));
        }
        auto tokens = tokenize(line);
        if (!tokens) return error(tokens.error().code, line_no, tokens.error().detail);
        if (tokens->empty()) continue;  // blank or comment-only line
        if (rows.size() >= kMaxQuirksRows)
            return error(QuirksFileErrorCode::TooManyRows, line_no, fmt::format("at most {}", kMaxQuirksRows));
        auto row = parse_row(*tokens, line_no, source);
        if (!row) return error(row.error().code, line_no, row.error().detail);
        rows.push_back(std::move(*row));
    }
    return rows;
}

std::expected<std::vector<UserQuirkRow>, QuirksFileError> read_quirks_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        return std::unexpected(QuirksFileError{QuirksFileErrorCode::CannotOpen, 0, path + " is a directory"});
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(QuirksFileError{QuirksFileErrorCode::CannotOpen, 0, path});
    std::string text(kMaxQuirksFileBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) return std::unexpected(QuirksFileError{QuirksFileErrorCode::CannotOpen, 0, path});
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxQuirksFileBytes)
        return std::unexpected(QuirksFileError{QuirksFileErrorCode::FileTooLarge, 0,
                                               fmt::format("{}: more than {} bytes", path, kMaxQuirksFileBytes)});
    return parse_quirks_text(text, path);
}

}  // namespace ccidkit::ccid

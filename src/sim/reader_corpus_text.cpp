#include "sim/reader_corpus_text.h"

#include <array>
#include <cctype>
#include <limits>

#include <fmt/format.h>

namespace ccidkit::sim::corpus_text {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::uint32_t> parse_plain_hex(std::string_view digits, std::size_t max_digits) {
    if (digits.empty() || digits.size() > max_digits) return std::nullopt;
    std::uint32_t v = 0;
    for (const char c : digits) {
        const int d = hex_digit(c);
        if (d < 0) return std::nullopt;
        v = (v << 4) | static_cast<std::uint32_t>(d);
    }
    return v;
}

std::optional<std::uint32_t> parse_plain_decimal(std::string_view digits, std::size_t max_digits) {
    if (digits.empty() || digits.size() > max_digits) return std::nullopt;
    std::uint32_t v = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return v;
}

}  // namespace

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (lower(s[i]) != lower(prefix[i])) return false;
    return true;
}

bool contains_nocase(std::string_view s, std::string_view needle) {
    if (needle.size() > s.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= s.size(); ++i)
        if (starts_with_nocase(s.substr(i), needle)) return true;
    return false;
}

std::optional<std::uint32_t> parse_hex(std::string_view token) {
    if (token.size() < 3 || token[0] != '0' || (token[1] != 'x' && token[1] != 'X')) return std::nullopt;
    return parse_plain_hex(token.substr(2), 8);
}

std::optional<std::int64_t> parse_decimal(std::string_view token) {
    const bool negative = !token.empty() && token.front() == '-';
    if (negative) token.remove_prefix(1);
    std::int64_t v = 0;
    if (token.empty() || token.size() > 10) return std::nullopt;
    for (const char c : token) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return negative ? -v : v;
}

std::optional<std::uint32_t> parse_dword(std::string_view token) {
    const auto v = parse_decimal(token);
    if (!v || *v < std::numeric_limits<std::int32_t>::min() || *v > std::numeric_limits<std::uint32_t>::max())
        return std::nullopt;
    // A negative print is the same 32 bits read as signed.
    return static_cast<std::uint32_t>(*v);
}

std::optional<std::uint16_t> parse_bcd(std::string_view token, bool* one_digit_minor) {
    const std::size_t dot = token.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const auto major = parse_plain_hex(token.substr(0, dot), 2);
    const std::string_view minor_digits = token.substr(dot + 1);
    const auto minor = parse_plain_hex(minor_digits, 2);
    if (!major || !minor) return std::nullopt;
    if (one_digit_minor) *one_digit_minor = minor_digits.size() == 1;
    return static_cast<std::uint16_t>((*major << 8) | *minor);
}

std::optional<std::uint32_t> parse_mhz_as_khz(std::string_view token) {
    const std::size_t dot = token.find('.');
    if (dot == std::string_view::npos || token.size() - dot - 1 != 3) return std::nullopt;
    const auto whole = parse_plain_decimal(token.substr(0, dot), 7);
    const auto thousandths = parse_plain_decimal(token.substr(dot + 1), 3);
    if (!whole || !thousandths) return std::nullopt;
    const std::uint64_t khz = std::uint64_t{*whole} * 1000 + *thousandths;
    if (khz > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
    return static_cast<std::uint32_t>(khz);
}

std::pair<std::string_view, std::string_view> first_token(std::string_view s) {
    s = trim(s);
    const std::size_t space = s.find(' ');
    if (space == std::string_view::npos) return {s, {}};
    return {s.substr(0, space), trim(s.substr(space + 1))};
}

namespace {

using ccid::ExchangeLevel;
using ccid::Feature;

struct FeaturePhrase {
    std::string_view phrase;  // lower-case words `parse` uses, old and new wording
    std::optional<Feature> feature;
    std::optional<ExchangeLevel> level;
};

// Longer phrases first where one contains another ("short and extended apdu" vs "short apdu").
constexpr std::array<FeaturePhrase, 17> kFeaturePhrases{{
    {"automatic parameter configuration based on atr", Feature::AutoConfigFromAtr, {}},
    {"automatic activation of icc", Feature::AutoActivation, {}},
    {"automatic icc voltage selection", Feature::AutoVoltage, {}},
    {"automatic icc clock frequency change", Feature::AutoClock, {}},
    {"automatic baud rate change", Feature::AutoBaud, {}},
    {"automatic parameters negotiation", Feature::AutoParameterNegotiation, {}},
    {"automatic pps", Feature::AutoPps, {}},
    {"clock stop mode", Feature::ClockStop, {}},
    {"nad value other than 00", Feature::NadOtherThanZero, {}},
    {"automatic ifsd exchange", Feature::AutoIfsd, {}},
    {"iccd token", Feature::IccdToken, {}},
    {"unknown (iccd?)", Feature::IccdToken, {}},
    {"usb wake up signaling", Feature::UsbWakeUp, {}},
    {"character level exchange", {}, ExchangeLevel::Character},
    {"tpdu level exchange", {}, ExchangeLevel::Tpdu},
    {"short and extended apdu level exchange", {}, ExchangeLevel::ExtendedApdu},
    {"short apdu level exchange", {}, ExchangeLevel::ShortApdu},
}};

std::uint32_t level_bits(ExchangeLevel level) {
    switch (level) {
        case ExchangeLevel::Tpdu: return ccid::kLevelTpdu;
        case ExchangeLevel::ShortApdu: return ccid::kLevelShortApdu;
        case ExchangeLevel::ExtendedApdu: return ccid::kLevelExtendedApdu;
        case ExchangeLevel::Character:
        case ExchangeLevel::Contradictory: break;
    }
    return 0;
}

// "....02", "..01..", "04....": two hex digits at the position of their dwFeatures byte.
std::optional<std::uint32_t> feature_prefix_value(std::string_view prefix) {
    if (prefix.size() != 6) return std::nullopt;
    for (std::size_t pair = 0; pair < 3; ++pair) {
        const std::string_view two = prefix.substr(pair * 2, 2);
        if (two == "..") continue;
        const auto byte = parse_plain_hex(two, 2);
        if (!byte) return std::nullopt;
        // First pair is byte 2 (bits 16-23), last pair is byte 0.
        return *byte << (8 * (2 - pair));
    }
    return std::nullopt;
}

bool apply_feature_line(std::string_view text, CorpusInterface& record, std::vector<std::string>& notes,
                        std::size_t line_number) {
    CorpusClaims& claims = record.claims;
    if (contains_nocase(text, "no special characteristics")) {
        claims.features_none = true;
        return true;
    }
    auto [prefix, rest] = first_token(text);
    std::optional<std::uint32_t> prefix_value = feature_prefix_value(prefix);
    if (!prefix_value) {
        rest = text;
        notes.push_back(fmt::format("line {}: feature line without its bit prefix (old parse format)", line_number));
    }
    for (const FeaturePhrase& p : kFeaturePhrases) {
        if (!contains_nocase(rest, p.phrase)) continue;
        const std::uint32_t bits = p.feature ? static_cast<std::uint32_t>(*p.feature) : level_bits(*p.level);
        if (prefix_value && *prefix_value != bits)
            notes.push_back(fmt::format("line {}: prefix {} does not match the phrase (0x{:08X})", line_number, prefix, bits));
        if (p.feature) claims.features |= bits;
        if (p.level) claims.level = *p.level;
        return true;
    }
    return false;
}

bool apply_rate_or_request_line(std::string_view field, std::string_view text, CorpusInterface& record,
                                std::vector<std::string>& notes, std::size_t line_number) {
    if (starts_with_nocase(text, "Support ")) {
        const auto [number, unit] = first_token(text.substr(8));
        const auto value = parse_decimal(number);
        if (!value || *value < std::numeric_limits<std::int32_t>::min() || *value > std::numeric_limits<std::int32_t>::max())
            return false;
        if (unit == "kHz") {
            record.clock_frequencies_khz.push_back(static_cast<std::int32_t>(*value));
        } else if (unit == "bps") {
            if (field == "bNumClockSupported")
                notes.push_back(fmt::format("line {}: data rate listed under bNumClockSupported (old parse format)", line_number));
            record.data_rates_bps.push_back(static_cast<std::int32_t>(*value));
        } else {
            return false;
        }
        return true;
    }
    if (starts_with_nocase(text, "IFD does not support") || starts_with_nocase(text, "Got ") ||
        starts_with_nocase(text, "wrong size for")) {
        record.request_remarks.emplace_back(text);
        return true;
    }
    return false;
}

std::optional<unsigned> leading_count(std::string_view text, std::string_view suffix) {
    const auto [number, rest] = first_token(text);
    if (rest != suffix) return std::nullopt;
    const auto v = parse_decimal(number);
    if (!v || *v < 0 || *v > 255) return std::nullopt;
    return static_cast<unsigned>(*v);
}

}  // namespace

bool apply_meaning_line(std::string_view field, std::string_view text, CorpusInterface& record,
                        std::vector<std::string>& notes, std::size_t line_number) {
    CorpusClaims& c = record.claims;
    text = trim(text);
    if (field == "bDescriptorType" && text == "PROPRIETARY bDescriptorType") return c.proprietary_type = true;
    if (field == "bVoltageSupport") {
        if (text == "5.0V") return c.voltage_5v = true;
        if (text == "3.0V") return c.voltage_3v = true;
        if (text == "1.8V") return c.voltage_1v8 = true;
        return false;
    }
    if (field == "dwProtocols") {
        if (text == "T=0") return c.t0 = true;
        if (text == "T=1") return c.t1 = true;
        return false;
    }
    if (field == "bNumClockSupported" || field == "bNumDataRatesSupported")
        return apply_rate_or_request_line(field, text, record, notes, line_number);
    if (field == "dwSynchProtocols") {
        if (text == "2-wire protocol") return c.synch_2wire = true;
        if (text == "3-wire protocol") return c.synch_3wire = true;
        if (text == "I2C protocol") return c.synch_i2c = true;
        return false;
    }
    if (field == "dwMechanical") {
        if (text == "No special characteristics") return c.mech_none = true;
        if (text == "Card accept mechanism") return c.mech_accept = true;
        if (text == "Card ejection mechanism") return c.mech_eject = true;
        if (text == "Card capture mechanism") return c.mech_capture = true;
        if (text == "Card lock/unlock mechanism") return c.mech_lock = true;
        return false;
    }
    if (field == "dwFeatures") return apply_feature_line(text, record, notes, line_number);
    if (field == "bClassGetResponse" && text == "echoes the APDU class") return c.get_response_echoes_class = true;
    if (field == "bClassEnvelope" && text == "echoes the APDU class") return c.envelope_echoes_class = true;
    if (field == "wLcdLayout") {
        if (const auto n = leading_count(text, "lines")) return (c.lcd_lines = *n).has_value();
        if (const auto n = leading_count(text, "characters per line")) return (c.lcd_columns = *n).has_value();
        return false;
    }
    if (field == "bPINSupport") {
        if (text == "PIN Verification supported") return c.pin_verify = true;
        if (text == "PIN Modification supported") return c.pin_modify = true;
        return false;
    }
    return false;
}

}  // namespace ccidkit::sim::corpus_text

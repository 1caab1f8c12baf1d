// Internal to the corpus loader: small text helpers and the reading of `parse`'s meaning lines
// (the indented lines under a descriptor field). Not a public API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/reader_corpus.h"

namespace ccidkit::sim::corpus_text {

std::string_view trim(std::string_view s);
bool starts_with_nocase(std::string_view s, std::string_view prefix);
bool contains_nocase(std::string_view s, std::string_view needle);

// "0x1F" (prefix required, 1..8 hex digits).
std::optional<std::uint32_t> parse_hex(std::string_view token);
// Optional '-', 1..10 decimal digits; any value of int64 range that fits the digits.
std::optional<std::int64_t> parse_decimal(std::string_view token);
// A printed "%d" of a 32-bit field: accepts -2^31 .. 2^32-1 and returns the field's bits.
std::optional<std::uint32_t> parse_dword(std::string_view token);
// "%X.%02X" of a BCD word; `one_digit_minor` is set when the minor part had a single digit.
std::optional<std::uint16_t> parse_bcd(std::string_view token, bool* one_digit_minor = nullptr);
// "%.3f" of kHz/1000: "3.579" -> 3579. Exactly three decimals.
std::optional<std::uint32_t> parse_mhz_as_khz(std::string_view token);

// Splits "value rest of line" at the first space.
std::pair<std::string_view, std::string_view> first_token(std::string_view s);

// Applies one meaning line printed under class-descriptor `field`. Returns false when the
// line is not one `parse` prints there. `note` receives format remarks (e.g. old format).
bool apply_meaning_line(std::string_view field, std::string_view text, CorpusInterface& record,
                        std::vector<std::string>& notes, std::size_t line_number);

}  // namespace ccidkit::sim::corpus_text

// The script format of `ccidctl script`, after pcsc-tools' scriptor: one command per line.
//   # comment                      ignored (so are blank lines)
//   00 A4 04 00 07 A0000000041010  a command APDU in hex
//   00 B0 00 00 00 => 90 00        ... with the status word (2 bytes) or the whole response expected
//   reset                          warm reset of the card
//   exit                           stop here
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace ccidkit::ccidctl {

struct ScriptStep {
    enum class Kind : std::uint8_t { Apdu, Reset, Exit } kind = Kind::Apdu;
    Bytes apdu;
    std::optional<Bytes> expected;
    std::size_t line = 0;
};

inline constexpr std::size_t kMaxScriptSteps = 100000;

// Error text names the line.
std::expected<std::vector<ScriptStep>, std::string> parse_script(std::string_view text);

}  // namespace ccidkit::ccidctl

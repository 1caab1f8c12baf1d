// Human-readable account of an ATR, byte by byte, for `ccidctl atr` and for logs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/atr.h"

namespace ccidkit::proto {

struct AtrLine {
    // Byte lines have an offset and a value; summary lines have neither.
    std::optional<std::uint8_t> offset;
    std::optional<std::uint8_t> value;
    std::string name;         // "TS", "T0", "TA1", "T1".."T15", "TCK", "extra"; or a summary topic
    std::string description;  // e.g. "Fi=512 (fmax 5 MHz), Di=32, 16 clock cycles per etu"
};

// One line per received byte (in order), then summary lines.
std::vector<AtrLine> explain_atr(const Atr& atr);
// Same, plus an "error" line when the parse failed.
std::vector<AtrLine> explain_atr(const AtrParse& parse);

// Aligned text, one line per entry, each ending in '\n'.
std::string render_atr_explanation(std::span<const AtrLine> lines);

}  // namespace ccidkit::proto

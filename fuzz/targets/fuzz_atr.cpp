// ATR parser (ISO/IEC 7816-3:2006 clause 8) and its explanation. Input: the ATR bytes as a
// reader would report them (any length, any convention).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "protocol/atr.h"
#include "protocol/atr_explain.h"
#include "protocol/fi_di_tables.h"

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

void check_atr(const Atr& atr, std::size_t input_size) {
    FUZZ_CHECK(atr.raw_size <= kMaxAtrLength);
    FUZZ_CHECK(atr.raw_size <= input_size);
    FUZZ_CHECK(atr.input_size == input_size);
    FUZZ_CHECK(atr.interface_count <= kMaxInterfaceBytes);
    FUZZ_CHECK(atr.end_offset <= atr.raw_size);
    for (const auto& b : atr.interface_bytes()) {
        FUZZ_CHECK(b.offset >= 2 && b.offset < atr.raw_size);
        FUZZ_CHECK(b.index >= 1);
        FUZZ_CHECK(b.value == atr.raw_bytes[b.offset]);
        FUZZ_CHECK(!b.group_protocol || *b.group_protocol <= 15);
    }
    FUZZ_CHECK(atr.historical_expected <= kMaxHistoricalBytes);
    FUZZ_CHECK(atr.historical_count <= atr.historical_expected);
    FUZZ_CHECK(atr.historical_offset + atr.historical_count <= atr.raw_size);
    FUZZ_CHECK(atr.historical().size() == atr.historical_count);

    FUZZ_CHECK(atr.fi_code <= 15 && atr.di_code <= 15);
    // The derived values are filled once TS is valid (an empty ATR or a bad TS stops before).
    if (atr.raw_size >= 1 && (atr.raw_bytes[0] == kTsDirect || atr.raw_bytes[0] == kTsInverse)) {
        FUZZ_CHECK(atr.fi == fi_from_code(atr.fi_code));
        FUZZ_CHECK(atr.di == di_from_code(atr.di_code));
    }
    FUZZ_CHECK(atr.f_or_default() > 0 && atr.d_or_default() > 0);

    FUZZ_CHECK(atr.t1.ifsc >= 1 && atr.t1.ifsc <= 254);
    FUZZ_CHECK(atr.t1.bwi <= 9);
    FUZZ_CHECK(atr.t1.cwi <= 15);
    FUZZ_CHECK(atr.wi >= 1);
    FUZZ_CHECK(atr.class_indicator <= 0x3F);
    FUZZ_CHECK(static_cast<unsigned>(atr.clock_stop) <= 3);

    for (std::uint8_t t : {std::uint8_t{0}, std::uint8_t{1}}) {
        const auto gt = atr.guard_time_etu(t);
        FUZZ_CHECK(gt >= 11 && gt <= 12 + 254);
    }
    if (atr.raw_size >= 2 && atr.t0) {
        // At least one protocol is always offered (T=0 by default), never T=15.
        FUZZ_CHECK(atr.offered_protocols != 0);
        FUZZ_CHECK((atr.offered_protocols & protocol_bit(15)) == 0);
        FUZZ_CHECK((atr.offered_protocols & ~atr.indicated_protocols) == 0 || atr.offers(0));
        if (!atr.specific_mode) FUZZ_CHECK(atr.offers(atr.default_protocol));
    }
    FUZZ_CHECK(atr.default_protocol <= 15);
}

void check_explanation(const AtrParse& parse) {
    const auto lines = explain_atr(parse);
    std::size_t byte_lines = 0;
    for (const auto& line : lines) {
        FUZZ_CHECK(line.offset.has_value() == line.value.has_value());
        if (line.offset) {
            FUZZ_CHECK(*line.offset < parse.atr.raw_size);
            FUZZ_CHECK(*line.value == parse.atr.raw_bytes[*line.offset]);
            ++byte_lines;
        }
    }
    // One line per received byte of the window.
    FUZZ_CHECK(byte_lines <= parse.atr.raw_size);
    const std::string text = render_atr_explanation(lines);
    FUZZ_CHECK(lines.empty() || !text.empty());
    // Rendering is linear in the number of lines: no byte expands without bound.
    FUZZ_CHECK(text.size() <= 512 * (lines.size() + 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView raw(data, size);
    const AtrParse parse = parse_atr(raw);
    check_atr(parse.atr, size);
    check_explanation(parse);

    if (parse.ok()) {
        // A valid ATR is exactly the bytes that T0/TDi delimit, TCK included.
        FUZZ_CHECK(size == parse.atr.raw_size);
        FUZZ_CHECK(parse.atr.end_offset == parse.atr.raw_size);
        // Parsing its decoded (direct-convention) bytes again gives the same decode.
        const AtrParse again = parse_atr(parse.atr.raw());
        FUZZ_CHECK(again.ok());
        FUZZ_CHECK(again.atr.interface_count == parse.atr.interface_count);
        FUZZ_CHECK(again.atr.offered_protocols == parse.atr.offered_protocols);
        FUZZ_CHECK(again.atr.default_protocol == parse.atr.default_protocol);
        FUZZ_CHECK(again.atr.warnings == parse.atr.warnings);
    }
    return 0;
}

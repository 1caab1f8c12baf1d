// Shared helpers of the fuzz targets: a bounded reader over the fuzzer's bytes, and an
// invariant check that aborts (so libFuzzer records the input) with a readable reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "common/bytes.h"

namespace ccidkit::fuzz {

// Reads fields off the front of the input; past the end every read yields zeros / empty, so a
// target never has to check lengths and short inputs stay meaningful.
class Input {
public:
    Input(const std::uint8_t* data, std::size_t size) : rest_(data, size) {}
    explicit Input(ByteView bytes) : rest_(bytes) {}

    bool empty() const { return rest_.empty(); }
    std::size_t remaining() const { return rest_.size(); }

    std::uint8_t u8() {
        if (rest_.empty()) return 0;
        const std::uint8_t b = rest_[0];
        rest_ = rest_.subspan(1);
        return b;
    }
    std::uint16_t u16() {  // big-endian
        const unsigned hi = u8();
        return static_cast<std::uint16_t>((hi << 8) | u8());
    }
    std::uint32_t u32() {
        const std::uint32_t hi = u16();
        return (hi << 16) | u16();
    }
    bool flag() { return (u8() & 1u) != 0; }
    // Up to n bytes (fewer at the end of the input).
    ByteView bytes(std::size_t n) {
        const std::size_t k = n < rest_.size() ? n : rest_.size();
        const ByteView out = rest_.first(k);
        rest_ = rest_.subspan(k);
        return out;
    }
    // A length-prefixed chunk: one length byte, then that many bytes.
    ByteView chunk8() { return bytes(u8()); }
    // A chunk with a two-byte big-endian length.
    ByteView chunk16() { return bytes(u16()); }
    ByteView rest() { return bytes(rest_.size()); }

private:
    ByteView rest_;
};

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "\n*** fuzz invariant violated: %s (%s:%d)\n", what, file, line);
    std::abort();
}

}  // namespace ccidkit::fuzz

// Unlike assert(), always on (the fuzz build keeps NDEBUG out of the picture).
#define FUZZ_CHECK(cond)                                                                \
    do {                                                                                \
        if (!(cond)) ::ccidkit::fuzz::invariant_failed(#cond, __FILE__, __LINE__);      \
    } while (0)

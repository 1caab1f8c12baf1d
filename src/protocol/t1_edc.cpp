#include "protocol/t1_edc.h"

#include <array>

namespace ccidkit::proto {

namespace {

// Byte-at-a-time table for the reflected polynomial 0x8408.
constexpr std::array<std::uint16_t, 256> make_crc_table() {
    std::array<std::uint16_t, 256> table{};
    for (unsigned i = 0; i < 256; ++i) {
        std::uint16_t crc = static_cast<std::uint16_t>(i);
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1u) ? static_cast<std::uint16_t>((crc >> 1) ^ 0x8408u)
                             : static_cast<std::uint16_t>(crc >> 1);
        }
        table[i] = crc;
    }
    return table;
}

constexpr auto kCrcTable = make_crc_table();

}  // namespace

std::string_view to_string(T1Edc edc) {
    switch (edc) {
        case T1Edc::Lrc: return "LRC";
        case T1Edc::Crc: return "CRC";
    }
    return "unknown EDC";
}

std::uint8_t t1_lrc(ByteView data) {
    std::uint8_t lrc = 0;
    for (const std::uint8_t b : data) lrc ^= b;
    return lrc;
}

std::uint16_t t1_crc(ByteView data) {
    std::uint16_t crc = 0xFFFF;
    for (const std::uint8_t b : data) {
        crc = static_cast<std::uint16_t>((crc >> 8) ^ kCrcTable[(crc ^ b) & 0xFFu]);
    }
    return crc;
}

void append_edc(Bytes& block, T1Edc edc) {
    if (edc == T1Edc::Lrc) {
        block.push_back(t1_lrc(block));
        return;
    }
    const std::uint16_t crc = t1_crc(block);
    block.push_back(static_cast<std::uint8_t>(crc >> 8));
    block.push_back(static_cast<std::uint8_t>(crc & 0xFFu));
}

bool edc_matches(ByteView block, T1Edc edc) {
    const std::size_t n = edc_size(edc);
    if (block.size() < n) return false;
    const ByteView body = block.first(block.size() - n);
    if (edc == T1Edc::Lrc) return t1_lrc(body) == block.back();
    const std::uint16_t crc = t1_crc(body);
    return block[block.size() - 2] == static_cast<std::uint8_t>(crc >> 8) &&
           block[block.size() - 1] == static_cast<std::uint8_t>(crc & 0xFFu);
}

}  // namespace ccidkit::proto

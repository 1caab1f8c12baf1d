// T=1 EDC: LRC and the libccid CRC (vectors from the shared T=1 note, section 6).
#include "protocol/t1_edc.h"

#include <gtest/gtest.h>

#include <string_view>

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

Bytes ascii(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace

TEST(T1Edc, CrcCatalogueCheckValue) {
    // CRC-16/MCRF4XX check value; libccid puts 6F then 91 on the wire.
    EXPECT_EQ(t1_crc(ascii("123456789")), 0x6F91);
    Bytes b = ascii("123456789");
    append_edc(b, T1Edc::Crc);
    ASSERT_EQ(b.size(), 11u);
    EXPECT_EQ(b[9], 0x6F);
    EXPECT_EQ(b[10], 0x91);
}

struct CrcVector {
    const char* data;
    std::uint16_t crc;
};

TEST(T1Edc, CrcVectorsOfTheNote) {
    const CrcVector vectors[] = {
        {"00 C1 01 FE", 0x544E},       // S(IFS request 254)
        {"00 E1 01 FE", 0x5775},       // S(IFS response 254)
        {"00 C0 00", 0xF399},          // S(RESYNCH request)
        {"00 E0 00", 0xD0AA},          // S(RESYNCH response)
        {"00 80 00", 0xB5FF},          // R(0)
        {"00 90 00", 0x206E},          // R(1)
        {"00 00 02 90 00", 0x9C6D},    // I(0) 90 00
        {"00 00 05 00 A4 04 00 05", 0x8C16},
        {"", 0xFFFF},
    };
    for (const auto& v : vectors) {
        const Bytes data = hex(v.data);
        EXPECT_EQ(t1_crc(data), v.crc) << v.data;
        Bytes block = data;
        append_edc(block, T1Edc::Crc);
        EXPECT_EQ(block[block.size() - 2], v.crc >> 8) << v.data;  // high byte first
        EXPECT_EQ(block[block.size() - 1], v.crc & 0xFF) << v.data;
        EXPECT_TRUE(edc_matches(block, T1Edc::Crc)) << v.data;
    }
}

TEST(T1Edc, CrcIsNotTheX25Variant) {
    // The HDLC FCS (final XOR FFFF, low byte first) would put 6E 90 on the wire.
    Bytes b = ascii("123456789");
    append_edc(b, T1Edc::Crc);
    EXPECT_NE(b[9], 0x6E);
}

TEST(T1Edc, Lrc) {
    EXPECT_EQ(t1_lrc(hex("00 C1 01 FE")), 0x3E);
    EXPECT_EQ(t1_lrc(hex("00 E1 01 FE")), 0x1E);
    EXPECT_EQ(t1_lrc(hex("00 00 02 90 00")), 0x92);
    EXPECT_EQ(t1_lrc({}), 0x00);
    Bytes b = hex("00 C3 01 02");
    append_edc(b, T1Edc::Lrc);
    EXPECT_EQ(b, hex("00 C3 01 02 C0"));
}

TEST(T1Edc, MatchesDetectsEverySingleBitError) {
    for (const T1Edc edc : {T1Edc::Lrc, T1Edc::Crc}) {
        Bytes block = hex("00 00 07 75 74 77 74 75 90 00");
        append_edc(block, edc);
        ASSERT_TRUE(edc_matches(block, edc));
        for (std::size_t i = 0; i < block.size(); ++i) {
            for (int bit = 0; bit < 8; ++bit) {
                Bytes bad = block;
                bad[i] ^= static_cast<std::uint8_t>(1u << bit);
                EXPECT_FALSE(edc_matches(bad, edc)) << to_string(edc) << " byte " << i;
            }
        }
    }
}

TEST(T1Edc, MatchesRejectsTooShortInput) {
    EXPECT_FALSE(edc_matches({}, T1Edc::Lrc));
    const Bytes one{0xFF};
    EXPECT_FALSE(edc_matches(one, T1Edc::Crc));
    EXPECT_EQ(edc_size(T1Edc::Lrc), 1u);
    EXPECT_EQ(edc_size(T1Edc::Crc), 2u);
    EXPECT_EQ(to_string(T1Edc::Crc), "CRC");
}

#include "common/bytes.h"

#include <gtest/gtest.h>

using namespace ccidkit;

TEST(Hex, RoundTrip) {
    const Bytes b{0x3B, 0x8F, 0x00, 0xFF};
    EXPECT_EQ(to_hex(b), "3B 8F 00 FF");
    EXPECT_EQ(to_hex(b, '\0'), "3B8F00FF");
    EXPECT_EQ(from_hex("3B 8F 00 FF"), b);
    EXPECT_EQ(from_hex("3b:8f-00ff"), b);
    EXPECT_EQ(from_hex("0x3B 0x8F 0x00 0xff"), b);
}

TEST(Hex, RejectsMalformed) {
    EXPECT_FALSE(from_hex("3B 8").has_value());
    EXPECT_FALSE(from_hex("3G").has_value());
    EXPECT_FALSE(from_hex("3 B").has_value());
    EXPECT_EQ(from_hex("")->size(), 0u);
}

TEST(Endian, LittleEndianHelpers) {
    std::uint8_t buf[4];
    store_le32(buf, 0x12345678);
    EXPECT_EQ(buf[0], 0x78);
    EXPECT_EQ(load_le32(buf), 0x12345678u);
    store_le16(buf, 0xBEEF);
    EXPECT_EQ(load_le16(buf), 0xBEEF);
}

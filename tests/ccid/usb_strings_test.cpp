#include "ccid/usb/usb_strings.h"

#include <gtest/gtest.h>

namespace ccidkit::ccid::usb {
namespace {

// Builds a string descriptor from UTF-16 code units.
Bytes descriptor(std::initializer_list<std::uint16_t> units) {
    Bytes d{static_cast<std::uint8_t>(2 + 2 * units.size()), 0x03};
    for (std::uint16_t u : units) {
        d.push_back(static_cast<std::uint8_t>(u));
        d.push_back(static_cast<std::uint8_t>(u >> 8));
    }
    return d;
}

TEST(UsbStrings, Ascii) {
    EXPECT_EQ(decode_string_descriptor(descriptor({'A', 'C', 'S'})), "ACS");
    EXPECT_EQ(decode_string_descriptor(descriptor({})), "");
}

TEST(UsbStrings, NonAsciiBecomesUtf8) {
    EXPECT_EQ(decode_string_descriptor(descriptor({'S', 0x00E9})), "S\xC3\xA9");              // é
    EXPECT_EQ(decode_string_descriptor(descriptor({0x20AC})), "\xE2\x82\xAC");                // €
    EXPECT_EQ(decode_string_descriptor(descriptor({0xD83D, 0xDE00})), "\xF0\x9F\x98\x80");    // U+1F600
}

TEST(UsbStrings, BrokenSurrogatesAreReplaced) {
    EXPECT_EQ(decode_string_descriptor(descriptor({0xD83D, 'x'})), "\xEF\xBF\xBDx");
    EXPECT_EQ(decode_string_descriptor(descriptor({0xDE00})), "\xEF\xBF\xBD");
    EXPECT_EQ(decode_string_descriptor(descriptor({'a', 0xD83D})), "a\xEF\xBF\xBD");
}

TEST(UsbStrings, ControlsNulsAndPaddingAreCleaned) {
    EXPECT_EQ(decode_string_descriptor(descriptor({'a', '\n', 'b', 0x7F})), "a?b?");
    EXPECT_EQ(decode_string_descriptor(descriptor({'R', 'e', 'a', 'd', 'e', 'r', ' ', ' ', 0, 0})), "Reader");
    EXPECT_EQ(decode_string_descriptor(descriptor({'a', 0, 'b'})), "ab");
}

TEST(UsbStrings, LengthFieldAndBufferDisagree) {
    Bytes d = descriptor({'a', 'b', 'c'});
    d[0] = 6;  // claims only "ab"
    EXPECT_EQ(decode_string_descriptor(d), "ab");
    d[0] = 255;  // claims more than was read: only what is there counts
    EXPECT_EQ(decode_string_descriptor(d), "abc");
    d[0] = 7;  // odd length: the half code unit is dropped
    EXPECT_EQ(decode_string_descriptor(d), "ab");
    d[0] = 1;  // shorter than its own header
    EXPECT_EQ(decode_string_descriptor(d), std::nullopt);
}

TEST(UsbStrings, NotAStringDescriptor) {
    EXPECT_EQ(decode_string_descriptor(Bytes{}), std::nullopt);
    EXPECT_EQ(decode_string_descriptor(Bytes{4}), std::nullopt);
    EXPECT_EQ(decode_string_descriptor(Bytes{4, 0x02, 'a', 0}), std::nullopt);
}

TEST(UsbStrings, FirstLanguageId) {
    EXPECT_EQ(first_language_id(Bytes{4, 0x03, 0x09, 0x04}), 0x0409);
    EXPECT_EQ(first_language_id(Bytes{6, 0x03, 0x07, 0x04, 0x09, 0x04}), 0x0407);
    EXPECT_EQ(first_language_id(Bytes{2, 0x03}), std::nullopt);
    EXPECT_EQ(first_language_id(Bytes{4, 0x03, 0x09}), std::nullopt);  // truncated
    EXPECT_EQ(first_language_id(Bytes{4, 0x02, 0x09, 0x04}), std::nullopt);
}

}  // namespace
}  // namespace ccidkit::ccid::usb

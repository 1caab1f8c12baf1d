// CCID class-specific requests (CCID Rev 1.1 section 5.3).
#include <gtest/gtest.h>

#include <set>

#include "ccid/class_requests.h"

namespace ccidkit::ccid {
namespace {

Bytes hex(std::string_view text) {
    auto bytes = from_hex(text);
    EXPECT_TRUE(bytes.has_value()) << text;
    return bytes.value_or(Bytes{});
}

bool same(const ControlSetup& a, const ControlSetup& b) {
    return a.request_type == b.request_type && a.request == b.request && a.value == b.value && a.index == b.index;
}

TEST(ClassRequests, AbortSetup) {
    // bmRequestType 21h, bRequest 01h, wValue = bSeq (high byte) | bSlot (low byte), wIndex = interface.
    EXPECT_TRUE(same(abort_request(0, 1, 0x23), ControlSetup{0x21, 0x01, 0x2301, 0}));
    EXPECT_TRUE(same(abort_request(3, 0xFF, 0xFE), ControlSetup{0x21, 0x01, 0xFEFF, 3}));
}

TEST(ClassRequests, GetSetups) {
    EXPECT_TRUE(same(get_clock_frequencies_request(2), ControlSetup{0xA1, 0x02, 0, 2}));
    EXPECT_TRUE(same(get_data_rates_request(0), ControlSetup{0xA1, 0x03, 0, 0}));
    EXPECT_EQ(dword_array_reply_size(0), 0u);
    EXPECT_EQ(dword_array_reply_size(2), 8u);
    EXPECT_EQ(dword_array_reply_size(255), 1020u);
}

TEST(ClassRequests, DecodesLittleEndianDwords) {
    // 4000 kHz = 00000FA0h, 8000 kHz = 00001F40h.
    const auto values = decode_dword_array(hex("A00F0000 401F0000"), 2);
    ASSERT_TRUE(values.has_value());
    EXPECT_EQ(*values, (std::vector<std::uint32_t>{4000, 8000}));
    EXPECT_EQ(*decode_dword_array(hex("01020304"), 1), (std::vector<std::uint32_t>{0x04030201}));
}

TEST(ClassRequests, BoundedByTheDescriptorCount) {
    EXPECT_EQ(*decode_dword_array(hex("A00F0000 401F0000 FFFFFFFF"), 2), (std::vector<std::uint32_t>{4000, 8000}));
    EXPECT_TRUE(decode_dword_array(hex("A00F0000"), 0)->empty());
    EXPECT_TRUE(decode_dword_array({}, 0)->empty());
}

TEST(ClassRequests, ShortRepliesHaveDistinctErrors) {
    EXPECT_EQ(decode_dword_array({}, 2).error(), ClassRequestError::EmptyReply);
    EXPECT_EQ(decode_dword_array(hex("A00F0000"), 2).error(), ClassRequestError::ShortReply);
    EXPECT_EQ(decode_dword_array(hex("A00F0000 40"), 2).error(), ClassRequestError::RaggedReply);
    EXPECT_EQ(decode_dword_array(hex("A00F"), 1).error(), ClassRequestError::RaggedReply);
}

TEST(ClassRequests, LenientFallbackKeepsWholeValues) {
    EXPECT_EQ(whole_dwords(hex("A00F0000 40"), 2), (std::vector<std::uint32_t>{4000}));
    EXPECT_EQ(whole_dwords(hex("A00F0000 401F0000"), 1), (std::vector<std::uint32_t>{4000}));
    EXPECT_TRUE(whole_dwords(hex("A00F00"), 5).empty());
}

TEST(ClassRequests, EncodeRoundTrips) {
    const std::vector<std::uint32_t> rates = {10753, 14337, 15625, 0xFFFFFFFF, 0};
    const Bytes wire = encode_dword_array(rates);
    EXPECT_EQ(wire.size(), 20u);
    EXPECT_EQ(Bytes(wire.begin(), wire.begin() + 4), hex("012A0000"));
    EXPECT_EQ(*decode_dword_array(wire, 5), rates);
}

TEST(ClassRequests, DeviceSideParsesWhatTheHostBuilds) {
    EXPECT_EQ(*parse_class_request(abort_request(1, 2, 0x33), 1),
              (ClassRequestCall{ClassRequest::Abort, 2, 0x33}));
    EXPECT_EQ(*parse_class_request(get_clock_frequencies_request(1), 1),
              (ClassRequestCall{ClassRequest::GetClockFrequencies, 0, 0}));
    EXPECT_EQ(*parse_class_request(get_data_rates_request(1), 1), (ClassRequestCall{ClassRequest::GetDataRates, 0, 0}));
}

TEST(ClassRequests, DeviceSideRejectsOtherRequests) {
    EXPECT_EQ(parse_class_request(abort_request(1, 0, 0), 0).error(), ClassRequestError::WrongInterface);
    EXPECT_EQ(parse_class_request(ControlSetup{0xA1, 0x01, 0, 0}, 0).error(), ClassRequestError::WrongDirection);
    EXPECT_EQ(parse_class_request(ControlSetup{0x21, 0x03, 0, 0}, 0).error(), ClassRequestError::WrongDirection);
    EXPECT_EQ(parse_class_request(ControlSetup{0x21, 0x04, 0, 0}, 0).error(), ClassRequestError::UnknownRequest);
    EXPECT_EQ(parse_class_request(ControlSetup{0x41, 0x01, 0, 0}, 0).error(), ClassRequestError::NotClassRequest);
    EXPECT_EQ(parse_class_request(ControlSetup{0x20, 0x01, 0, 0}, 0).error(), ClassRequestError::NotClassRequest);
    EXPECT_EQ(parse_class_request(ControlSetup{0x80, 0x06, 0x0100, 0}, 0).error(), ClassRequestError::NotClassRequest);
}

TEST(ClassRequests, ErrorTextsAreDistinct) {
    std::set<std::string_view> texts;
    for (int e = 0; e <= static_cast<int>(ClassRequestError::UnknownRequest); ++e) {
        texts.insert(to_string(static_cast<ClassRequestError>(e)));
    }
    EXPECT_EQ(texts.size(), static_cast<std::size_t>(ClassRequestError::UnknownRequest) + 1);
}

}  // namespace
}  // namespace ccidkit::ccid

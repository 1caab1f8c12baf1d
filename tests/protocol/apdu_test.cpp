#include "protocol/apdu.h"

#include <gtest/gtest.h>

#include <random>

namespace ccidkit::proto {
namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

Bytes seq(std::size_t n, std::uint8_t start = 0) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
    return b;
}

TEST(ApduParse, Case1) {
    auto c = parse_command_apdu(hex("00 A4 04 0C"));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->apdu_case, ApduCase::Case1);
    EXPECT_EQ(c->cla, 0x00);
    EXPECT_EQ(c->ins, 0xA4);
    EXPECT_EQ(c->p1, 0x04);
    EXPECT_EQ(c->p2, 0x0C);
    EXPECT_TRUE(c->data.empty());
    EXPECT_EQ(c->ne, 0u);
    EXPECT_FALSE(c->le_is_maximum());
}

TEST(ApduParse, Case2ShortNeEncoding) {
    auto c = parse_command_apdu(hex("00 B0 00 00 10"));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->apdu_case, ApduCase::Case2S);
    EXPECT_EQ(c->ne, 16u);
    EXPECT_FALSE(c->le_is_maximum());

    auto max = parse_command_apdu(hex("00 B0 00 00 00"));
    ASSERT_TRUE(max);
    EXPECT_EQ(max->apdu_case, ApduCase::Case2S);
    EXPECT_EQ(max->ne, 256u);  // Le = 00 means 256
    EXPECT_TRUE(max->le_is_maximum());
}

TEST(ApduParse, Case3Short) {
    auto c = parse_command_apdu(hex("00 D6 00 00 03 AA BB CC"));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->apdu_case, ApduCase::Case3S);
    EXPECT_EQ(c->data, hex("AA BB CC"));
    EXPECT_EQ(c->ne, 0u);
}

TEST(ApduParse, Case4Short) {
    auto c = parse_command_apdu(hex("80 10 01 02 02 AA BB 00"));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->apdu_case, ApduCase::Case4S);
    EXPECT_EQ(c->data, hex("AA BB"));
    EXPECT_EQ(c->ne, 256u);
    auto d = parse_command_apdu(hex("80 10 01 02 01 AA 07"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->apdu_case, ApduCase::Case4S);
    EXPECT_EQ(d->ne, 7u);
}

TEST(ApduParse, Case2ExtendedNeEncoding) {
    auto c = parse_command_apdu(hex("00 B0 00 00 00 01 2C"));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->apdu_case, ApduCase::Case2E);
    EXPECT_EQ(c->ne, 300u);
    auto max = parse_command_apdu(hex("00 B0 00 00 00 00 00"));
    ASSERT_TRUE(max);
    EXPECT_EQ(max->ne, 65536u);  // Le = 0000 means 65536
    EXPECT_TRUE(max->le_is_maximum());
    auto e256 = parse_command_apdu(hex("00 B0 00 00 00 01 00"));
    ASSERT_TRUE(e256);
    EXPECT_EQ(e256->ne, 256u);
    EXPECT_FALSE(e256->le_is_maximum());  // extended 0100 is not "all zeros"
}

TEST(ApduParse, Case3Extended) {
    Bytes a = hex("00 D6 00 00 00 01 00");
    const Bytes data = seq(256);
    a.insert(a.end(), data.begin(), data.end());
    auto c = parse_command_apdu(a);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->apdu_case, ApduCase::Case3E);
    EXPECT_EQ(c->data, data);
    EXPECT_EQ(c->ne, 0u);
}

TEST(ApduParse, Case4Extended) {
    Bytes a = hex("80 10 00 00 00 00 02 11 22 00 00");
    auto c = parse_command_apdu(a);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->apdu_case, ApduCase::Case4E);
    EXPECT_EQ(c->data, hex("11 22"));
    EXPECT_EQ(c->ne, 65536u);
    a.back() = 0x05;
    auto d = parse_command_apdu(a);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->ne, 5u);
}

TEST(ApduParse, MaximalExtended) {
    Bytes a = hex("80 10 00 00 00 FF FF");
    const Bytes data = seq(65535, 9);
    a.insert(a.end(), data.begin(), data.end());
    a.push_back(0x00);
    a.push_back(0x00);
    EXPECT_EQ(a.size(), kMaxCommandApduSize);
    auto c = parse_command_apdu(a);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->apdu_case, ApduCase::Case4E);
    EXPECT_EQ(c->nc(), 65535u);
    EXPECT_EQ(c->ne, 65536u);
}

TEST(ApduParse, Errors) {
    EXPECT_EQ(parse_command_apdu({}).error(), ApduError::TooShort);
    EXPECT_EQ(parse_command_apdu(hex("00 A4 04")).error(), ApduError::TooShort);
    // Short Lc = 3 but only two data bytes; or two extra bytes after data.
    EXPECT_EQ(parse_command_apdu(hex("00 D6 00 00 03 AA BB")).error(),
              ApduError::ShortLcMismatch);
    EXPECT_EQ(parse_command_apdu(hex("00 D6 00 00 01 AA BB CC")).error(),
              ApduError::ShortLcMismatch);
    EXPECT_EQ(parse_command_apdu(hex("00 D6 00 00 00 01")).error(),
              ApduError::ExtendedLengthTruncated);
    EXPECT_EQ(parse_command_apdu(hex("00 D6 00 00 00 00 00 AA")).error(),
              ApduError::ExtendedLcZero);
    EXPECT_EQ(parse_command_apdu(hex("00 D6 00 00 00 00 00 AA BB")).error(),
              ApduError::ExtendedLcZero);
    EXPECT_EQ(parse_command_apdu(hex("00 D6 00 00 00 00 02 AA")).error(),
              ApduError::ExtendedLcMismatch);
    EXPECT_EQ(parse_command_apdu(hex("00 D6 00 00 00 00 02 AA BB CC")).error(),
              ApduError::ExtendedLcMismatch);  // one Le byte is not an extended Le
    EXPECT_EQ(parse_command_apdu(hex("00 D6 00 00 00 00 01 AA BB CC DD")).error(),
              ApduError::ExtendedLcMismatch);
}

TEST(ApduParse, EveryErrorHasAMessage) {
    for (auto e : {ApduError::TooShort, ApduError::ShortLcMismatch,
                   ApduError::ExtendedLengthTruncated, ApduError::ExtendedLcZero,
                   ApduError::ExtendedLcMismatch, ApduError::DataTooLong, ApduError::NeTooLarge,
                   ApduError::NeedsExtendedLength, ApduError::CaseMismatch,
                   ApduError::ResponseTooShort}) {
        EXPECT_FALSE(to_string(e).empty());
        EXPECT_NE(to_string(e), "unknown APDU error");
    }
}

TEST(ApduCaseInfo, Predicates) {
    EXPECT_FALSE(is_extended(ApduCase::Case4S));
    EXPECT_TRUE(is_extended(ApduCase::Case2E));
    EXPECT_TRUE(has_data(ApduCase::Case3E));
    EXPECT_FALSE(has_data(ApduCase::Case2S));
    EXPECT_TRUE(has_le(ApduCase::Case4E));
    EXPECT_FALSE(has_le(ApduCase::Case3S));
    EXPECT_EQ(to_string(ApduCase::Case4E), "case 4E");
}

TEST(ApduBuild, EachCaseAuto) {
    EXPECT_EQ(build_case1(0x00, 0xA4, 0x00, 0x00), hex("00 A4 00 00"));
    EXPECT_EQ(build_case2(0x00, 0xB0, 0x00, 0x00, 256).value(), hex("00 B0 00 00 00"));
    EXPECT_EQ(build_case2(0x00, 0xB0, 0x00, 0x00, 1).value(), hex("00 B0 00 00 01"));
    EXPECT_EQ(build_case2(0x00, 0xB0, 0x00, 0x00, 257).value(), hex("00 B0 00 00 00 01 01"));
    EXPECT_EQ(build_case2(0x00, 0xB0, 0x00, 0x00, 65536).value(), hex("00 B0 00 00 00 00 00"));
    EXPECT_EQ(build_case3(0x00, 0xD6, 0x00, 0x00, hex("AA")).value(), hex("00 D6 00 00 01 AA"));
    EXPECT_EQ(build_case4(0x80, 0x10, 0x00, 0x00, hex("AA"), 256).value(),
              hex("80 10 00 00 01 AA 00"));
    EXPECT_EQ(build_case4(0x80, 0x10, 0x00, 0x00, hex("AA"), 257).value(),
              hex("80 10 00 00 00 00 01 AA 01 01"));
}

TEST(ApduBuild, ForcedEncodings) {
    EXPECT_EQ(build_case2(0x00, 0xB0, 0, 0, 1, LengthEncoding::Extended).value(),
              hex("00 B0 00 00 00 00 01"));
    EXPECT_EQ(build_case3(0x00, 0xD6, 0, 0, hex("AA BB"), LengthEncoding::Extended).value(),
              hex("00 D6 00 00 00 00 02 AA BB"));
    EXPECT_EQ(build_case4(0x80, 0x10, 0, 0, hex("AA"), 256, LengthEncoding::Extended).value(),
              hex("80 10 00 00 00 00 01 AA 01 00"));
    EXPECT_EQ(build_case2(0x00, 0xB0, 0, 0, 257, LengthEncoding::Short).error(),
              ApduError::NeedsExtendedLength);
    EXPECT_EQ(build_case3(0x00, 0xD6, 0, 0, seq(256), LengthEncoding::Short).error(),
              ApduError::NeedsExtendedLength);
}

TEST(ApduBuild, Errors) {
    EXPECT_EQ(build_case2(0, 0xB0, 0, 0, 0).error(), ApduError::CaseMismatch);
    EXPECT_EQ(build_case3(0, 0xD6, 0, 0, {}).error(), ApduError::CaseMismatch);
    EXPECT_EQ(build_case4(0, 0x10, 0, 0, hex("AA"), 0).error(), ApduError::CaseMismatch);
    EXPECT_EQ(build_case2(0, 0xB0, 0, 0, 65537).error(), ApduError::NeTooLarge);
    EXPECT_EQ(build_case3(0, 0xD6, 0, 0, Bytes(65536)).error(), ApduError::DataTooLong);

    CommandApdu bad;
    bad.apdu_case = ApduCase::Case3S;  // but no data
    EXPECT_EQ(encode_command_apdu(bad).error(), ApduError::CaseMismatch);
    bad.apdu_case = ApduCase::Case2S;
    bad.ne = 300;  // too large for a short Le
    EXPECT_EQ(encode_command_apdu(bad).error(), ApduError::NeedsExtendedLength);
    bad.apdu_case = ApduCase::Case1;
    EXPECT_EQ(encode_command_apdu(bad).error(), ApduError::CaseMismatch);
}

TEST(ApduBuild, MakeChoosesTheCase) {
    EXPECT_EQ(make_command_apdu(0, 1, 2, 3)->apdu_case, ApduCase::Case1);
    EXPECT_EQ(make_command_apdu(0, 1, 2, 3, {}, 10)->apdu_case, ApduCase::Case2S);
    EXPECT_EQ(make_command_apdu(0, 1, 2, 3, hex("01"))->apdu_case, ApduCase::Case3S);
    EXPECT_EQ(make_command_apdu(0, 1, 2, 3, hex("01"), 256)->apdu_case, ApduCase::Case4S);
    EXPECT_EQ(make_command_apdu(0, 1, 2, 3, {}, 257)->apdu_case, ApduCase::Case2E);
    EXPECT_EQ(make_command_apdu(0, 1, 2, 3, seq(256))->apdu_case, ApduCase::Case3E);
    EXPECT_EQ(make_command_apdu(0, 1, 2, 3, seq(255), 257)->apdu_case, ApduCase::Case4E);
    EXPECT_EQ(make_command_apdu(0, 1, 2, 3, hex("01"), 1, LengthEncoding::Extended)->apdu_case,
              ApduCase::Case4E);
}

// Every successfully decoded APDU re-encodes to exactly the same bytes.
TEST(ApduParse, RoundTripOfRandomEncodings) {
    std::mt19937 rng(7816);
    std::size_t decoded = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes a(4 + rng() % 12);
        for (auto& b : a) b = static_cast<std::uint8_t>(rng());
        // Bias the first body byte so that every branch of clause 12.1.3 is hit often.
        if (a.size() > 4) {
            const unsigned pick = rng() % 3;
            if (pick == 0) a[4] = 0;
            if (pick == 1) a[4] = static_cast<std::uint8_t>(a.size() - 5 - rng() % 2);
        }
        if (a.size() > 6 && a[4] == 0) {
            a[5] = 0;
            a[6] = static_cast<std::uint8_t>(a.size() - 7 - 2 * (rng() % 2));
        }
        auto c = parse_command_apdu(a);
        if (!c) continue;
        ++decoded;
        auto back = encode_command_apdu(*c);
        ASSERT_TRUE(back) << to_hex(a);
        EXPECT_EQ(*back, a) << to_hex(a);
    }
    EXPECT_GT(decoded, 5000u);
}

TEST(ApduRoundTrip, AllSizesAcrossTheShortExtendedBoundary) {
    for (std::size_t nc : {0u, 1u, 254u, 255u, 256u, 257u, 4096u, 65535u}) {
        for (std::uint32_t ne : {0u, 1u, 255u, 256u, 257u, 65535u, 65536u}) {
            auto c = make_command_apdu(0x80, 0x10, 1, 2, seq(nc), ne);
            ASSERT_TRUE(c);
            auto bytes = encode_command_apdu(*c);
            ASSERT_TRUE(bytes);
            auto back = parse_command_apdu(*bytes);
            ASSERT_TRUE(back) << nc << " " << ne;
            EXPECT_EQ(back->data.size(), nc);
            EXPECT_EQ(back->ne, ne);
            EXPECT_EQ(back->apdu_case, c->apdu_case);
            EXPECT_EQ(is_extended(back->apdu_case), nc > 255 || ne > 256);
        }
    }
}

TEST(ApduResponse, ParseAndBuild) {
    auto r = parse_response_apdu(hex("01 02 03 90 00"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->data, hex("01 02 03"));
    EXPECT_EQ(r->sw(), 0x9000);
    EXPECT_TRUE(r->ok());
    EXPECT_EQ(encode_response_apdu(*r), hex("01 02 03 90 00"));

    auto s = parse_response_apdu(hex("6A 82"));
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->data.empty());
    EXPECT_EQ(s->sw1, 0x6A);
    EXPECT_EQ(s->sw2, 0x82);
    EXPECT_FALSE(s->ok());

    EXPECT_EQ(parse_response_apdu(hex("90")).error(), ApduError::ResponseTooShort);
    EXPECT_EQ(parse_response_apdu({}).error(), ApduError::ResponseTooShort);

    EXPECT_EQ(make_response(hex("AA"), 0x6282), hex("AA 62 82"));
    EXPECT_EQ(make_response(0x6D00), hex("6D 00"));
    const Bytes raw = hex("AA BB 61 10");
    EXPECT_EQ(sw1_of(raw), 0x61);
    EXPECT_EQ(sw2_of(raw), 0x10);
    EXPECT_EQ(sw_of(raw), 0x6110);
    EXPECT_EQ(Bytes(response_data(raw).begin(), response_data(raw).end()), hex("AA BB"));
}

}  // namespace
}  // namespace ccidkit::proto

#include "protocol/atr.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/atr_explain.h"
#include "protocol/fi_di_tables.h"

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

Bytes hex(std::string_view text) {
    auto b = from_hex(text);
    EXPECT_TRUE(b.has_value()) << text;
    return b.value_or(Bytes{});
}

AtrParse parse(std::string_view text) { return parse_atr(hex(text)); }

// Appends the TCK that makes XOR(T0..TCK) = 00.
Bytes with_tck(std::string_view text) {
    Bytes b = hex(text);
    std::uint8_t x = 0;
    for (std::size_t k = 1; k < b.size(); ++k) x ^= b[k];
    b.push_back(x);
    return b;
}

std::vector<std::string> names(const std::vector<AtrLine>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) {
        if (l.offset) out.push_back(l.name);
    }
    return out;
}

const AtrLine* line_named(const std::vector<AtrLine>& lines, std::string_view name) {
    for (const auto& l : lines) {
        if (l.name == name) return &l;
    }
    return nullptr;
}

constexpr std::string_view kT1Card = "3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 05 03 63 51 00 02 50";
constexpr std::string_view kDualCard = "3B D4 96 00 C0 10 71 FE 45 01 11 22 33 44 1D";
constexpr std::string_view kUicc = "3B 97 95 80 B1 FE 00 1F 42 80 31 A0 73 BE 21 17 7A";

}  // namespace

TEST(AtrVectors, T1CardWithGlobalBytesAfterT15) {
    const auto p = parse(kT1Card);
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    const Atr& a = p.atr;
    EXPECT_EQ(a.convention, Convention::Direct);
    EXPECT_EQ(a.t0, 0xDC);

    struct Expected {
        InterfaceByteKind kind;
        int index;
        int offset;
        int value;
        std::optional<std::uint8_t> group;
    };
    using K = InterfaceByteKind;
    const std::vector<Expected> expected = {
        {K::TA, 1, 2, 0x18, std::nullopt}, {K::TC, 1, 3, 0xFF, std::nullopt}, {K::TD, 1, 4, 0x81, std::nullopt},
        {K::TD, 2, 5, 0x91, 1},            {K::TA, 3, 6, 0xFE, 1},            {K::TD, 3, 7, 0x1F, 1},
        {K::TA, 4, 8, 0xC3, 15},
    };
    ASSERT_EQ(a.interface_bytes().size(), expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
        const auto& b = a.interface_bytes()[k];
        EXPECT_EQ(b.kind, expected[k].kind) << k;
        EXPECT_EQ(b.index, expected[k].index) << k;
        EXPECT_EQ(b.offset, expected[k].offset) << k;
        EXPECT_EQ(b.value, expected[k].value) << k;
        EXPECT_EQ(b.group_protocol, expected[k].group) << k;
    }
    EXPECT_EQ(to_hex(a.historical()), "80 73 C8 21 13 66 05 03 63 51 00 02");
    EXPECT_TRUE(a.tck_required);
    EXPECT_EQ(a.tck, 0x50);

    EXPECT_EQ(a.ta1, 0x18);
    EXPECT_EQ(a.fi, 372);
    EXPECT_EQ(a.fmax_khz, 5000u);
    EXPECT_EQ(a.di, 12);
    EXPECT_EQ(a.tc1, 0xFF);
    EXPECT_EQ(a.guard_time_etu(0), 12);
    EXPECT_EQ(a.guard_time_etu(1), 11);
    EXPECT_EQ(a.t1.ifsc, 254);
    EXPECT_EQ(a.t1.ifsc_byte, 0xFE);
    EXPECT_EQ(a.t1.cwi, 13);  // defaults: no TB for T=1
    EXPECT_EQ(a.t1.bwi, 4);
    EXPECT_EQ(a.t1.edc, Edc::Lrc);
    EXPECT_EQ(a.t15_ta, 0xC3);
    EXPECT_EQ(a.clock_stop, ClockStop::NoPreference);
    EXPECT_EQ(a.class_indicator, kClassA | kClassB);
    EXPECT_EQ(a.offered_protocols, protocol_bit(1));
    EXPECT_EQ(a.indicated_protocols, protocol_bit(1) | protocol_bit(15));
    EXPECT_EQ(a.default_protocol, 1);
    EXPECT_FALSE(a.specific_mode.has_value());
    EXPECT_EQ(a.warnings, 0);
    EXPECT_EQ(a.find(InterfaceByteKind::TA, 4), 0xC3);
    EXPECT_EQ(a.find(InterfaceByteKind::TB, 3), std::nullopt);
}

TEST(AtrVectors, FlippedTckBitIsAMismatchButStillDecodes) {
    Bytes b = hex(kT1Card);
    b.back() ^= 0x01;
    const auto p = parse_atr(b);
    EXPECT_EQ(p.error, AtrError::TckMismatch);
    EXPECT_EQ(p.atr.tck, 0x51);
    EXPECT_EQ(p.atr.historical().size(), 12u);
    EXPECT_EQ(p.atr.t1.ifsc, 254);
}

TEST(AtrVectors, DualProtocolCardWithT1Parameters) {
    const auto p = parse(kDualCard);
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    const Atr& a = p.atr;
    EXPECT_EQ(a.fi, 512);
    EXPECT_EQ(a.fmax_khz, 5000u);
    EXPECT_EQ(a.di, 32);
    EXPECT_DOUBLE_EQ(etu_clock_cycles(*a.fi, *a.di), 16.0);
    EXPECT_EQ(a.tc1, 0x00);
    EXPECT_EQ(a.guard_time_etu(0), 12);
    EXPECT_EQ(a.tc2, 0x10);
    EXPECT_EQ(a.wi, 16);
    EXPECT_EQ(a.t1.ifsc, 254);
    EXPECT_EQ(a.t1.bwi, 4);
    EXPECT_EQ(a.t1.cwi, 5);
    EXPECT_EQ(a.t1.edc, Edc::Crc);
    EXPECT_EQ(to_hex(a.historical()), "11 22 33 44");
    EXPECT_EQ(a.offered_protocols, protocol_bit(0) | protocol_bit(1));
    EXPECT_EQ(a.default_protocol, 0);
    EXPECT_EQ(a.tck, 0x1D);
    // TC2 belongs to the group after TD1 (T=0); TA3..TC3 to T=1.
    EXPECT_EQ(a.interface_bytes()[3].group_protocol, 0);
    EXPECT_EQ(a.interface_bytes()[5].group_protocol, 1);
}

TEST(AtrVectors, Uicc) {
    const auto p = parse(kUicc);
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    const Atr& a = p.atr;
    EXPECT_EQ(a.fi, 512);
    EXPECT_EQ(a.di, 16);
    EXPECT_EQ(a.t1.ifsc, 254);
    EXPECT_EQ(a.t1.bwi, 0);
    EXPECT_EQ(a.t1.cwi, 0);
    EXPECT_EQ(a.clock_stop, ClockStop::StateL);
    EXPECT_EQ(a.class_indicator, kClassB);
    EXPECT_EQ(a.offered_protocols, protocol_bit(0) | protocol_bit(1));
    EXPECT_EQ(a.default_protocol, 0);
    EXPECT_EQ(to_hex(a.historical()), "80 31 A0 73 BE 21 17");
    EXPECT_EQ(a.tck, 0x7A);
}

TEST(AtrInverse, ByteConversion) {
    EXPECT_EQ(inverse_convention_byte(0x03), 0x3F);
    EXPECT_EQ(inverse_convention_byte(0x3F), 0x03);
    EXPECT_EQ(inverse_convention_byte(0x00), 0xFF);
    EXPECT_EQ(inverse_convention_byte(0xFF), 0x00);
    EXPECT_EQ(inverse_convention_byte(0x01), 0x7F);
    EXPECT_EQ(inverse_convention_byte(0x80), 0xFE);
    for (int v = 0; v < 256; ++v) {
        const auto b = static_cast<std::uint8_t>(v);
        EXPECT_EQ(inverse_convention_byte(inverse_convention_byte(b)), b);
    }
}

TEST(AtrInverse, RawInverseStreamIsDetectedAndConverted) {
    const Bytes decoded = hex("3F 65 25 00 2C 09 69 90 00");
    const Bytes raw = inverse_convention_to_direct(decoded);
    EXPECT_EQ(raw[0], kTsInverseRaw);
    EXPECT_NE(raw, decoded);
    const auto p = parse_atr(raw);
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    EXPECT_TRUE(p.atr.converted_from_inverse);
    EXPECT_EQ(p.atr.convention, Convention::Inverse);
    EXPECT_EQ(to_hex(p.atr.raw()), to_hex(decoded));
    EXPECT_EQ(to_hex(p.atr.historical()), "2C 09 69 90 00");
    const auto lines = explain_atr(p.atr);
    EXPECT_NE(lines.front().description.find("received as 03"), std::string::npos);
}

TEST(AtrInverse, AlreadyDecoded3F) {
    const auto p = parse("3F 65 25 00 2C 09 69 90 00");
    ASSERT_TRUE(p.ok());
    EXPECT_FALSE(p.atr.converted_from_inverse);
    EXPECT_EQ(p.atr.convention, Convention::Inverse);
    EXPECT_EQ(p.atr.find(InterfaceByteKind::TB, 1), 0x25);
    EXPECT_EQ(p.atr.tc1, 0x00);
    EXPECT_FALSE(p.atr.ta1.has_value());
    EXPECT_EQ(p.atr.fi, 372);  // defaults
    EXPECT_EQ(p.atr.di, 1);
    EXPECT_EQ(p.atr.offered_protocols, protocol_bit(0));
    EXPECT_FALSE(p.atr.tck.has_value());
    EXPECT_FALSE(p.atr.tck_required);
}

TEST(AtrInverse, T1InverseCardFromRawBits) {
    const Bytes decoded = with_tck("3F D4 96 00 C0 10 71 FE 45 01 11 22 33 44");
    const auto p = parse_atr(inverse_convention_to_direct(decoded));
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    EXPECT_EQ(p.atr.t1.edc, Edc::Crc);
    EXPECT_EQ(p.atr.tck, decoded.back());
}

TEST(AtrErrors, Empty) {
    const auto p = parse_atr({});
    EXPECT_EQ(p.error, AtrError::Empty);
    EXPECT_FALSE(p.ok());
    EXPECT_TRUE(explain_atr(p.atr).empty());
}

TEST(AtrErrors, InvalidTs) {
    for (const auto* text : {"3A 00", "3B", "00 00", "FF"}) {
        const auto p = parse(text);
        if (text[1] == 'B') {
            EXPECT_EQ(p.error, AtrError::Truncated) << text;  // TS alone: T0 missing
        } else {
            EXPECT_EQ(p.error, AtrError::InvalidTs) << text;
            EXPECT_EQ(p.atr.raw().size(), hex(text).size());
        }
    }
}

TEST(AtrErrors, InterfaceBytesTruncated) {
    const auto p = parse("3B 90 11");  // TA1 present, TD1 missing
    EXPECT_EQ(p.error, AtrError::Truncated);
    EXPECT_EQ(p.atr.ta1, 0x11);  // what arrived is still decoded
    EXPECT_EQ(p.atr.interface_bytes().size(), 1u);
}

TEST(AtrErrors, EveryPrefixOfAValidAtrFailsWithTheRightClass) {
    const Bytes full = hex(kT1Card);
    for (std::size_t len = 1; len < full.size(); ++len) {
        const auto p = parse_atr(ByteView(full.data(), len));
        AtrError expected = AtrError::Truncated;
        if (len >= 9) expected = AtrError::HistoricalTruncated;  // interface bytes end at offset 8
        if (len == 21) expected = AtrError::TckMissing;
        EXPECT_EQ(p.error, expected) << "prefix length " << len;
        EXPECT_LE(p.atr.end_offset, p.atr.raw_size);
    }
}

TEST(AtrErrors, HistoricalTruncated) {
    const auto p = parse("3B 02 14");
    EXPECT_EQ(p.error, AtrError::HistoricalTruncated);
    EXPECT_EQ(p.atr.historical_expected, 2);
    EXPECT_EQ(to_hex(p.atr.historical()), "14");
    EXPECT_NE(line_named(explain_atr(p.atr), "historical"), nullptr);
}

TEST(AtrErrors, TckMissingWhenT1Offered) {
    const auto p = parse("3B 80 01");
    EXPECT_EQ(p.error, AtrError::TckMissing);
    EXPECT_TRUE(p.atr.tck_required);
    EXPECT_EQ(p.atr.offered_protocols, protocol_bit(1));
}

TEST(AtrErrors, TckRequiredForT15AndRfuProtocolsToo) {
    EXPECT_EQ(parse("3B 80 80 1F 03").error, AtrError::TckMissing);
    EXPECT_EQ(parse("3B 80 0E").error, AtrError::TckMissing);
    const auto p = parse_atr(with_tck("3B 80 0E"));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p.atr.default_protocol, 14);
    EXPECT_EQ(p.atr.offered_protocols, protocol_bit(14));
}

TEST(AtrErrors, TckNotRequiredWhenOnlyT0Indicated) {
    const auto p = parse("3B 80 80 00");  // TD1, TD2 both T=0
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    EXPECT_FALSE(p.atr.tck_required);
    EXPECT_EQ(p.atr.offered_protocols, protocol_bit(0));
}

TEST(AtrErrors, UnexpectedTckOnT0OnlyAtr) {
    const auto p = parse("3B 02 14 50 46");  // 02^14^50 = 46
    EXPECT_EQ(p.error, AtrError::UnexpectedTck);
    EXPECT_EQ(p.atr.tck, 0x46);
    EXPECT_EQ(names(explain_atr(p.atr)).back(), "TCK");
}

TEST(AtrErrors, TrailingBytes) {
    EXPECT_EQ(parse("3B 02 14 50 47").error, AtrError::TrailingBytes);  // not a valid TCK
    EXPECT_EQ(parse("3B 02 14 50 46 00").error, AtrError::TrailingBytes);
    Bytes b = hex(kT1Card);
    b.push_back(0x00);
    const auto p = parse_atr(b);
    EXPECT_EQ(p.error, AtrError::TrailingBytes);
    EXPECT_EQ(p.atr.tck, 0x50);
    EXPECT_EQ(names(explain_atr(p.atr)).back(), "extra");
}

TEST(AtrErrors, TooLongWhenTheEncodedAtrExceeds33Bytes) {
    // 5 full groups (20 interface bytes) + 15 historical bytes + TCK = 38 bytes.
    std::string text = "3B FF";
    for (int g = 0; g < 4; ++g) text += " 11 00 00 F1";
    text += " 11 00 00 01";
    for (int k = 0; k < 15; ++k) text += " 41";
    const Bytes b = with_tck(text);
    ASSERT_EQ(b.size(), 38u);
    const auto p = parse_atr(b);
    EXPECT_EQ(p.error, AtrError::TooLong);
    EXPECT_EQ(p.atr.raw().size(), kMaxAtrLength);
    EXPECT_EQ(p.atr.input_size, 38u);
    EXPECT_EQ(p.atr.interface_bytes().size(), 20u);
    EXPECT_NE(line_named(explain_atr(p.atr), "input"), nullptr);

    // An endless TD chain is cut at the window, never read past it.
    Bytes chain = hex("3B 80");
    chain.insert(chain.end(), 1000, 0x80);
    const auto q = parse_atr(chain);
    EXPECT_EQ(q.error, AtrError::TooLong);
    EXPECT_EQ(q.atr.interface_bytes().size(), kMaxInterfaceBytes);
}

TEST(AtrErrors, ThirtyThreeBytesIsStillValid) {
    // TS, T0, 30 TDs chaining to the next, a final TD: 31 interface bytes, the maximum.
    Bytes b = hex("3B 80");
    b.insert(b.end(), 30, 0x80);
    b.push_back(0x00);
    ASSERT_EQ(b.size(), kMaxAtrLength);
    const auto p = parse_atr(b);
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    EXPECT_EQ(p.atr.interface_bytes().size(), kMaxInterfaceBytes);
    EXPECT_EQ(p.atr.interface_bytes().back().index, 31);

    // One more byte, even one that would check as a TCK (00 here), lies beyond the
    // complete ATR: trailing.
    b.push_back(0x00);
    const auto q = parse_atr(b);
    EXPECT_EQ(q.error, AtrError::TrailingBytes);
    EXPECT_FALSE(q.atr.tck.has_value());
}

TEST(AtrErrors, InvalidFiDi) {
    for (const auto* ta1 : {"70", "80", "E1", "F1", "10", "1A", "1F"}) {
        const auto p = parse_atr(hex(std::string("3B 10 ") + ta1));
        EXPECT_EQ(p.error, AtrError::InvalidFiDi) << ta1;
    }
    const auto p = parse("3B 10 71");
    EXPECT_FALSE(p.atr.fi.has_value());
    EXPECT_FALSE(p.atr.fmax_khz.has_value());
    EXPECT_EQ(p.atr.di, 1);
    EXPECT_EQ(p.atr.f_or_default(), 372);
    EXPECT_NE(explain_atr(p.atr)[2].description.find("Fi=RFU"), std::string::npos);
    // A structural error takes precedence; the RFU code is still visible in the decode.
    const auto q = parse("3B 12 71");
    EXPECT_EQ(q.error, AtrError::HistoricalTruncated);
    EXPECT_FALSE(q.atr.fi.has_value());
}

TEST(AtrErrors, EveryErrorHasADistinctMessage) {
    const AtrError all[] = {AtrError::None,          AtrError::Empty,         AtrError::InvalidTs,
                            AtrError::Truncated,     AtrError::HistoricalTruncated, AtrError::TckMissing,
                            AtrError::TckMismatch,   AtrError::UnexpectedTck, AtrError::TrailingBytes,
                            AtrError::TooLong,       AtrError::InvalidFiDi};
    std::vector<std::string_view> seen;
    for (const auto e : all) {
        const auto s = to_string(e);
        EXPECT_FALSE(s.empty());
        for (const auto& other : seen) EXPECT_NE(s, other);
        seen.push_back(s);
    }
}

TEST(AtrDerived, DefaultsWithoutInterfaceBytes) {
    const auto p = parse("3B 00");
    ASSERT_TRUE(p.ok());
    const Atr& a = p.atr;
    EXPECT_FALSE(a.ta1.has_value());
    EXPECT_EQ(a.fi, 372);
    EXPECT_EQ(a.fmax_khz, 5000u);
    EXPECT_EQ(a.di, 1);
    EXPECT_EQ(a.extra_guard_time, 0);
    EXPECT_EQ(a.wi, 10);
    EXPECT_EQ(a.t1.ifsc, 32);
    EXPECT_EQ(a.class_indicator, kClassA);
    EXPECT_EQ(a.clock_stop, ClockStop::NotSupported);
    EXPECT_EQ(a.offered_protocols, protocol_bit(0));
    EXPECT_EQ(a.default_protocol, 0);
    EXPECT_TRUE(a.historical().empty());
}

TEST(AtrDerived, ExtraGuardTime) {
    EXPECT_EQ(parse("3B 40 02").atr.guard_time_etu(0), 14);
    EXPECT_EQ(parse("3B 40 02").atr.guard_time_etu(1), 14);
    EXPECT_EQ(parse("3B 40 FF").atr.guard_time_etu(0), 12);
    EXPECT_EQ(parse("3B 40 FF").atr.guard_time_etu(1), 11);
}

TEST(AtrDerived, SpecificModeFromTa2) {
    const auto p = parse_atr(with_tck("3B 90 96 11 81"));  // TD1: TA2 follows, T=1; TA2 = 81
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    ASSERT_TRUE(p.atr.specific_mode.has_value());
    EXPECT_EQ(p.atr.specific_mode->protocol, 1);
    EXPECT_FALSE(p.atr.specific_mode->implicit_parameters);
    EXPECT_FALSE(p.atr.specific_mode->can_change);
    EXPECT_EQ(p.atr.default_protocol, 1);
    // TA2 is global even though TD1 says T=1: it is not an IFSC.
    EXPECT_EQ(p.atr.t1.ifsc, 32);

    const auto q = parse_atr(with_tck("3B 90 96 91 10 00"));  // TA2 = 10: T=0, implicit, can change
    ASSERT_TRUE(q.ok()) << to_string(q.error);
    ASSERT_TRUE(q.atr.specific_mode.has_value());
    EXPECT_EQ(q.atr.specific_mode->protocol, 0);
    EXPECT_TRUE(q.atr.specific_mode->implicit_parameters);
    EXPECT_TRUE(q.atr.specific_mode->can_change);
    EXPECT_EQ(q.atr.default_protocol, 0);  // TA2 wins over TD1's T=1
    EXPECT_EQ(q.atr.offered_protocols, protocol_bit(0) | protocol_bit(1));
}

TEST(AtrDerived, WiZeroIsReportedAndDefaulted) {
    const auto p = parse("3B 80 40 00");
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    EXPECT_EQ(p.atr.tc2, 0x00);
    EXPECT_EQ(p.atr.wi, 10);
    EXPECT_TRUE(p.atr.has_warning(AtrWarning::WiZero));
}

TEST(AtrDerived, IfscRfuValuesAreReportedAndClamped) {
    const auto zero = parse_atr(with_tck("3B 80 81 11 00"));
    ASSERT_TRUE(zero.ok()) << to_string(zero.error);
    EXPECT_EQ(zero.atr.t1.ifsc, 32);
    EXPECT_EQ(zero.atr.t1.ifsc_byte, 0x00);
    EXPECT_TRUE(zero.atr.has_warning(AtrWarning::IfscInvalid));
    const auto ff = parse_atr(with_tck("3B 80 81 11 FF"));
    EXPECT_EQ(ff.atr.t1.ifsc, 254);
    EXPECT_TRUE(ff.atr.has_warning(AtrWarning::IfscInvalid));
    const auto ok = parse_atr(with_tck("3B 80 81 11 FE"));
    EXPECT_EQ(ok.atr.warnings, 0);
}

TEST(AtrDerived, OnlyTheFirstT1BytesCount) {
    // TD2: TA3, TD3 (T=1); TA3 = 40; TD3: TA4, TB4, TC4 (T=1), all repeated and ignored.
    const auto p = parse_atr(with_tck("3B 80 81 91 40 71 20 A5 01"));
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    EXPECT_EQ(p.atr.t1.ifsc, 64);
    EXPECT_EQ(p.atr.t1.bwi, 9);  // TB4 A5 is the first TB for T=1: BWI A is RFU, clamped
    EXPECT_EQ(p.atr.t1.cwi, 5);
    EXPECT_TRUE(p.atr.has_warning(AtrWarning::BwiRfu));
    EXPECT_EQ(p.atr.t1.edc, Edc::Crc);
}

TEST(AtrDerived, T0GroupBytesDoNotFeedT1Parameters) {
    // TD1 T=0 then TD2 T=0: TA3 belongs to T=0, not an IFSC.
    const auto p = parse("3B 80 80 10 20");
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    EXPECT_EQ(p.atr.t1.ifsc, 32);
    EXPECT_FALSE(p.atr.t1.ifsc_byte.has_value());
}

TEST(AtrDerived, T15InTd1) {
    const auto p = parse_atr(with_tck("3B 80 0F"));
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    EXPECT_TRUE(p.atr.has_warning(AtrWarning::T15InTd1));
    EXPECT_EQ(p.atr.offered_protocols, protocol_bit(0));
    EXPECT_EQ(p.atr.indicated_protocols, protocol_bit(15));
    EXPECT_EQ(p.atr.default_protocol, 0);
}

TEST(AtrDerived, ClassClockStopAndSpu) {
    const auto p = parse_atr(with_tck("3B 80 80 3F 47 80"));  // TD2: TA3, TB3 global (T=15)
    ASSERT_TRUE(p.ok()) << to_string(p.error);
    EXPECT_EQ(p.atr.clock_stop, ClockStop::StateL);
    EXPECT_EQ(p.atr.class_indicator, kClassA | kClassB | kClassC);
    EXPECT_EQ(p.atr.spu, 0x80);
    const auto lines = explain_atr(p.atr);
    EXPECT_NE(line_named(lines, "TA3")->description.find("C (1.8 V)"), std::string::npos);
    EXPECT_NE(line_named(lines, "TA3")->description.find("state L"), std::string::npos);
    EXPECT_NE(line_named(lines, "TB3")->description.find("proprietary"), std::string::npos);
}

TEST(AtrDerived, ProtocolOrder) {
    const auto p = parse_atr(with_tck("3B 80 81 00"));  // T=1 then T=0
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p.atr.default_protocol, 1);
    EXPECT_TRUE(p.atr.offers(0));
    EXPECT_TRUE(p.atr.offers(1));
    EXPECT_FALSE(p.atr.offers(15));
}

TEST(AtrDerived, FifteenHistoricalBytes) {
    const auto p = parse("3B 0F 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p.atr.historical().size(), kMaxHistoricalBytes);
    EXPECT_EQ(p.atr.historical().back(), 0x4F);
}

TEST(AtrExplain, ByteNamesAndDescriptions) {
    const auto p = parse(kDualCard);
    const auto lines = explain_atr(p);
    const std::vector<std::string> expected_names = {"TS",  "T0",  "TA1", "TC1", "TD1", "TC2", "TD2", "TA3",
                                                     "TB3", "TC3", "T1",  "T2",  "T3",  "T4",  "TCK"};
    EXPECT_EQ(names(lines), expected_names);
    for (std::size_t k = 0; k < expected_names.size(); ++k) {
        EXPECT_EQ(lines[k].offset, k);
        EXPECT_EQ(lines[k].value, p.atr.raw()[k]);
        EXPECT_FALSE(lines[k].description.empty()) << lines[k].name;
    }
    EXPECT_EQ(lines[2].description, "Fi=512 (fmax 5 MHz), Di=32, 16 clock cycles per etu");
    EXPECT_NE(lines[0].description.find("direct"), std::string::npos);
    EXPECT_NE(lines[1].description.find("TA1 TC1 TD1"), std::string::npos);
    EXPECT_NE(lines[1].description.find("K=4"), std::string::npos);
    EXPECT_NE(lines[5].description.find("WI=16"), std::string::npos);
    EXPECT_NE(lines[7].description.find("IFSC=254"), std::string::npos);
    EXPECT_NE(lines[8].description.find("BWI=4, CWI=5"), std::string::npos);
    EXPECT_NE(lines[9].description.find("CRC"), std::string::npos);
    EXPECT_NE(lines[14].description.find("correct"), std::string::npos);
    ASSERT_NE(line_named(lines, "protocols"), nullptr);
    EXPECT_EQ(line_named(lines, "protocols")->description, "T=0, T=1 offered; default T=0");
    EXPECT_EQ(line_named(lines, "T=1")->description, "IFSC=254, CWI=5, BWI=4, EDC=CRC");
    EXPECT_EQ(line_named(lines, "error"), nullptr);

    const std::string text = render_atr_explanation(lines);
    EXPECT_NE(text.find(" 2  96  TA1   Fi=512"), std::string::npos) << text;
    EXPECT_NE(text.find("protocols: T=0, T=1 offered"), std::string::npos) << text;
}

TEST(AtrExplain, T15AndSpecificModeBytes) {
    const auto lines = explain_atr(parse(kT1Card).atr);
    EXPECT_NE(line_named(lines, "TD3")->description.find("global"), std::string::npos);
    EXPECT_NE(line_named(lines, "TA4")->description.find("no preference"), std::string::npos);
    EXPECT_NE(line_named(lines, "TC1")->description.find("N=255"), std::string::npos);
    EXPECT_NE(line_named(lines, "T1")->description.find("compact-TLV"), std::string::npos);

    const auto specific = explain_atr(parse_atr(with_tck("3B 90 96 11 81")).atr);
    EXPECT_NE(line_named(specific, "TA2")->description.find("specific mode: T=1"), std::string::npos);
    EXPECT_NE(line_named(specific, "TA2")->description.find("cannot"), std::string::npos);
    EXPECT_NE(line_named(specific, "mode")->description.find("specific"), std::string::npos);
}

TEST(AtrExplain, MalformedAtrsStillExplainWhatArrived) {
    const auto bad_ts = parse("3A 11 22");
    const auto lines = explain_atr(bad_ts);
    EXPECT_EQ(names(lines), (std::vector<std::string>{"TS", "?", "?"}));
    ASSERT_NE(line_named(lines, "error"), nullptr);
    EXPECT_EQ(line_named(lines, "error")->description, to_string(AtrError::InvalidTs));

    Bytes flipped = hex(kT1Card);
    flipped.back() ^= 1;
    const auto mismatch = explain_atr(parse_atr(flipped));
    EXPECT_NE(line_named(mismatch, "TCK")->description.find("wrong"), std::string::npos);

    const auto truncated = explain_atr(parse("3B 90 11"));
    EXPECT_EQ(names(truncated), (std::vector<std::string>{"TS", "T0", "TA1"}));
}

TEST(AtrRobustness, PseudoRandomInputsNeverBreakInvariants) {
    std::uint32_t state = 12345;
    const auto next = [&state] {
        state = state * 1664525u + 1013904223u;
        return static_cast<std::uint8_t>(state >> 24);
    };
    for (int iteration = 0; iteration < 20000; ++iteration) {
        Bytes b(next() % 48);
        for (auto& v : b) v = next();
        if (!b.empty() && (iteration & 1)) b[0] = (iteration & 2) ? 0x3B : 0x03;
        const auto p = parse_atr(b);
        const Atr& a = p.atr;
        ASSERT_LE(a.raw_size, kMaxAtrLength);
        ASSERT_LE(a.end_offset, a.raw_size);
        ASSERT_LE(a.interface_count, kMaxInterfaceBytes);
        ASSERT_LE(a.historical_count, kMaxHistoricalBytes);
        ASSERT_LE(a.historical_offset + a.historical_count, a.raw_size);
        ASSERT_EQ(a.input_size, b.size());
        if (p.ok()) {
            ASSERT_EQ(a.end_offset, b.size());
        }
        const auto lines = explain_atr(p);
        std::size_t byte_lines = 0;
        for (const auto& l : lines) byte_lines += l.offset.has_value();
        ASSERT_EQ(byte_lines, a.raw_size);
    }
}

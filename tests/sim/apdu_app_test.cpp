// The simulated card's applications, addressed with whole APDUs (no transport).
#include <gtest/gtest.h>

#include "protocol/apdu.h"
#include "sim/card/apdu_app.h"
#include "sim/card/echo_app.h"
#include "sim/card/file_app.h"

namespace ccidkit::sim {
namespace {

using proto::LengthEncoding;

Bytes hex(std::string_view s) { return from_hex(s).value(); }

Bytes seq(std::size_t n, std::uint8_t start = 0) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
    return b;
}

std::uint16_t sw(const Bytes& r) { return proto::sw_of(r); }
Bytes body(const Bytes& r) {
    const ByteView d = proto::response_data(r);
    return Bytes(d.begin(), d.end());
}

// Independent statement of the documented patterns.
std::uint8_t expected_echo_byte(std::size_t i, std::uint8_t seed) {
    return static_cast<std::uint8_t>((seed + i + 31 * (i / 256)) & 0xFF);
}
std::uint8_t expected_file_byte(std::uint16_t fid, std::size_t i) {
    return static_cast<std::uint8_t>((((fid >> 8) ^ (fid & 0xFF)) + i + 13 * (i / 256)) & 0xFF);
}

// ---------------- EchoApp ----------------

TEST(EchoApp, PatternFormula) {
    EXPECT_EQ(echo_pattern_byte(0, 5), 5);
    EXPECT_EQ(echo_pattern_byte(255, 0), 255);
    EXPECT_EQ(echo_pattern_byte(256, 0), 31);  // blocks differ
    const Bytes p = echo_pattern(70000, 0x42);
    ASSERT_EQ(p.size(), 70000u);
    for (std::size_t i = 0; i < p.size(); ++i) ASSERT_EQ(p[i], expected_echo_byte(i, 0x42)) << i;
}

TEST(EchoApp, EchoReturnsDataCutToNe) {
    EchoApp app;
    auto r = app.process(proto::build_case4(0x80, 0x10, 0, 0, seq(10), 256).value());
    EXPECT_EQ(sw(r), 0x9000);
    EXPECT_EQ(body(r), seq(10));
    r = app.process(proto::build_case4(0x80, 0x10, 0, 0, seq(10), 4).value());
    EXPECT_EQ(body(r), seq(4));
    // Without Le no response data (case 3), and case 1 is plain 9000.
    r = app.process(proto::build_case3(0x80, 0x10, 0, 0, seq(10)).value());
    EXPECT_EQ(r, hex("90 00"));
    EXPECT_EQ(app.process(hex("80 10 00 00")), hex("90 00"));
    // Largest sizes.
    r = app.process(proto::build_case4(0x80, 0x10, 0, 0, seq(65535), 65536).value());
    EXPECT_EQ(body(r), seq(65535));
}

TEST(EchoApp, PatternOfNeBytes) {
    EchoApp app;
    for (std::uint32_t ne : {1u, 255u, 256u, 257u, 4096u, 65535u, 65536u}) {
        auto r = app.process(proto::build_case2(0x80, 0x12, 0x00, 0x07, ne).value());
        ASSERT_EQ(sw(r), 0x9000);
        ASSERT_EQ(body(r).size(), ne);
        EXPECT_EQ(body(r), echo_pattern(ne, 0x07));
    }
    EXPECT_EQ(app.process(hex("80 12 00 00")), hex("90 00"));
    EXPECT_EQ(sw(app.process(hex("80 12 01 00 05"))), 0x6A86);
    EXPECT_EQ(sw(app.process(hex("80 12 00 00 01 AA 05"))), 0x6700);
}

TEST(EchoApp, PatternWithExplicitLength) {
    EchoApp app;
    auto r = app.process(proto::build_case4(0x80, 0x14, 0, 3, hex("01 00 00"), 65536).value());
    ASSERT_EQ(sw(r), 0x9000);
    EXPECT_EQ(body(r), echo_pattern(65536, 3));
    r = app.process(proto::build_case4(0x80, 0x14, 0, 3, hex("00 01 00"), 10).value());
    EXPECT_EQ(body(r), echo_pattern(10, 3));  // min(L, Ne)
    r = app.process(proto::build_case4(0x80, 0x14, 0, 3, hex("00 00 00"), 10).value());
    EXPECT_EQ(r, hex("90 00"));
    EXPECT_EQ(sw(app.process(proto::build_case4(0x80, 0x14, 0, 0, hex("01 00 01"), 9).value())),
              0x6A80);
    EXPECT_EQ(sw(app.process(proto::build_case4(0x80, 0x14, 0, 0, hex("01 00"), 9).value())),
              0x6700);
}

TEST(EchoApp, StatusCommand) {
    EchoApp app;
    auto r = app.process(proto::build_case4(0x80, 0x16, 0x62, 0x82, hex("AA BB"), 256).value());
    EXPECT_EQ(r, hex("AA BB 62 82"));
    r = app.process(proto::build_case4(0x80, 0x16, 0x6A, 0x88, hex("AA BB"), 256).value());
    EXPECT_EQ(r, hex("6A 88"));  // errors carry no data
    EXPECT_EQ(app.process(hex("80 16 91 23")), hex("91 23"));
    EXPECT_EQ(sw(app.process(hex("80 16 61 00"))), 0x6A86);
    EXPECT_EQ(sw(app.process(hex("80 16 6C 00"))), 0x6A86);
    EXPECT_EQ(sw(app.process(hex("80 16 00 00"))), 0x6A86);
    EXPECT_EQ(sw(app.process(hex("80 16 90 00"))), 0x9000);
}

TEST(EchoApp, Errors) {
    EchoApp app;
    EXPECT_EQ(sw(app.process(hex("80 20 00 00"))), 0x6D00);
    EXPECT_EQ(sw(app.process(hex("00 10 00 00"))), 0x6E00);
    EXPECT_EQ(sw(app.process(hex("80 10 00"))), 0x6700);
    EXPECT_EQ(sw(app.process(hex("80 10 00 00 05 01"))), 0x6700);
}

// ---------------- FileSystemApp ----------------

Bytes select_fid(std::uint16_t fid, std::uint8_t p2 = 0x0C) {
    const Bytes f{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)};
    if (p2 == 0x0C) return proto::build_case3(0x00, 0xA4, 0x00, p2, f).value();
    return proto::build_case4(0x00, 0xA4, 0x00, p2, f, 256).value();
}

Bytes read_binary(std::size_t offset, std::uint32_t ne,
                  LengthEncoding enc = LengthEncoding::Auto) {
    return proto::build_case2(0x00, 0xB0, static_cast<std::uint8_t>(offset >> 8),
                              static_cast<std::uint8_t>(offset), ne, enc)
        .value();
}

TEST(FileSystemApp, InitialContents) {
    FileSystemApp fs;
    const std::pair<std::uint16_t, std::size_t> files[] = {
        {kFidEfSmall, 32}, {kFidEfMedium, 300}, {kFidEfLarge, 65536},
        {kFidEfEmpty, 0},  {kFidEfApp, 256}};
    for (auto [fid, size] : files) {
        auto c = fs.ef_content(fid);
        ASSERT_TRUE(c) << fid;
        ASSERT_EQ(c->size(), size);
        for (std::size_t i = 0; i < size; ++i) ASSERT_EQ((*c)[i], expected_file_byte(fid, i));
    }
    EXPECT_FALSE(fs.ef_content(kFidMf));
    EXPECT_FALSE(fs.ef_content(0x1234));
}

TEST(FileSystemApp, SelectByFidAndRead) {
    FileSystemApp fs;
    EXPECT_EQ(fs.process(select_fid(kFidEfSmall)), hex("90 00"));
    auto r = fs.process(read_binary(0, 16));
    ASSERT_EQ(sw(r), 0x9000);
    const ByteView c = *fs.ef_content(kFidEfSmall);
    EXPECT_EQ(body(r), Bytes(c.begin(), c.begin() + 16));
    r = fs.process(read_binary(30, 2));
    EXPECT_EQ(body(r), Bytes(c.begin() + 30, c.end()));
}

TEST(FileSystemApp, ReadBinaryEndOfFile) {
    FileSystemApp fs;
    fs.process(select_fid(kFidEfSmall));
    auto r = fs.process(read_binary(30, 5));
    EXPECT_EQ(sw(r), 0x6282);  // partial
    EXPECT_EQ(body(r).size(), 2u);
    r = fs.process(read_binary(16, 256));  // Le = 00: "up to the end", no warning
    EXPECT_EQ(sw(r), 0x9000);
    EXPECT_EQ(body(r).size(), 16u);
    EXPECT_EQ(sw(fs.process(read_binary(32, 1))), 0x6B00);   // at the end
    EXPECT_EQ(sw(fs.process(read_binary(100, 1))), 0x6B00);  // beyond
    EXPECT_EQ(sw(fs.process(hex("00 B0 00 00"))), 0x6700);   // no Le
    EXPECT_EQ(sw(fs.process(hex("00 B0 00 00 01 AA 05"))), 0x6700);
}

TEST(FileSystemApp, ExtendedReadOfTheLargeFile) {
    FileSystemApp fs;
    fs.process(select_fid(kFidEfLarge));
    auto r = fs.process(read_binary(0, 65536));
    ASSERT_EQ(sw(r), 0x9000);
    const ByteView c = *fs.ef_content(kFidEfLarge);
    EXPECT_EQ(body(r), Bytes(c.begin(), c.end()));
    r = fs.process(read_binary(0x7FFF, 65536, LengthEncoding::Extended));
    EXPECT_EQ(sw(r), 0x9000);  // Le = 0000: up to the end
    EXPECT_EQ(body(r).size(), 65536u - 0x7FFF);
    r = fs.process(read_binary(0x7FFF, 65535));
    EXPECT_EQ(sw(r), 0x6282);
}

TEST(FileSystemApp, ReadBySfi) {
    FileSystemApp fs;
    auto r = fs.process(hex("00 B0 82 10 04"));  // SFI 2 = EF 0102, offset 16
    ASSERT_EQ(sw(r), 0x9000);
    const ByteView c = *fs.ef_content(kFidEfMedium);
    EXPECT_EQ(body(r), Bytes(c.begin() + 16, c.begin() + 20));
    r = fs.process(read_binary(0, 1));  // the SFI-addressed EF became current
    EXPECT_EQ(body(r), Bytes(c.begin(), c.begin() + 1));
    EXPECT_EQ(sw(fs.process(hex("00 B0 89 00 01"))), 0x6A82);  // no SFI 9
    EXPECT_EQ(sw(fs.process(hex("00 B0 80 00 01"))), 0x6A82);  // SFI 0
    EXPECT_EQ(sw(fs.process(hex("00 B0 C1 00 01"))), 0x6A86);  // b7 set
}

TEST(FileSystemApp, UpdateBinary) {
    FileSystemApp fs;
    fs.process(select_fid(kFidEfMedium));
    EXPECT_EQ(fs.process(proto::build_case3(0x00, 0xD6, 0x01, 0x00, seq(10, 0xA0)).value()),
              hex("90 00"));
    auto r = fs.process(read_binary(0x100, 10));
    EXPECT_EQ(body(r), seq(10, 0xA0));
    // 300-byte file: 290 + 10 fits exactly, one more does not.
    EXPECT_EQ(sw(fs.process(proto::build_case3(0, 0xD6, 0x01, 0x22, seq(10)).value())), 0x9000);
    EXPECT_EQ(sw(fs.process(proto::build_case3(0, 0xD6, 0x01, 0x23, seq(10)).value())), 0x6A84);
    EXPECT_EQ(sw(fs.process(proto::build_case3(0, 0xD6, 0x01, 0x2C, seq(1)).value())), 0x6B00);
    EXPECT_EQ(sw(fs.process(hex("00 D6 00 00"))), 0x6700);
    // Contents survive a reset, the selection does not.
    fs.reset();
    EXPECT_EQ(sw(fs.process(read_binary(0, 1))), 0x6986);
    fs.process(select_fid(kFidEfMedium));
    EXPECT_EQ(body(fs.process(read_binary(0x100, 10))), seq(10, 0xA0));
}

// Copies share their EF contents until one writes: a write is seen by that copy only, in
// either direction, and a copy keeps the original's writes made before it.
TEST(FileSystemApp, CopiesAreIndependentAfterAWrite) {
    FileSystemApp original;
    original.process(select_fid(kFidEfLarge));
    FileSystemApp copy = original;
    EXPECT_EQ(copy.ef_content(kFidEfLarge)->data(), original.ef_content(kFidEfLarge)->data());  // shared
    EXPECT_EQ(sw(copy.process(proto::build_case3(0, 0xD6, 0x00, 0x10, seq(4, 0xC0)).value())), 0x9000);
    EXPECT_EQ(body(copy.process(read_binary(0x10, 4))), seq(4, 0xC0));
    EXPECT_EQ(original.ef_content(kFidEfLarge)->subspan(0x10, 4)[0], expected_file_byte(kFidEfLarge, 0x10));
    EXPECT_EQ(body(original.process(read_binary(0x10, 1))), Bytes{expected_file_byte(kFidEfLarge, 0x10)});

    EXPECT_EQ(sw(original.process(proto::build_case3(0, 0xD6, 0x00, 0x20, seq(2, 0xE0)).value())), 0x9000);
    FileSystemApp later = original;
    EXPECT_EQ(later.ef_content(kFidEfLarge)->subspan(0x20, 2)[1], 0xE1);
    EXPECT_EQ(copy.ef_content(kFidEfLarge)->subspan(0x20, 1)[0], expected_file_byte(kFidEfLarge, 0x20));
    // A refused write (past the end) does not unshare anything.
    FileSystemApp refused = original;
    refused.process(select_fid(kFidEfSmall));
    EXPECT_EQ(sw(refused.process(proto::build_case3(0, 0xD6, 0x00, 0x1F, seq(2)).value())), 0x6A84);
    EXPECT_EQ(refused.ef_content(kFidEfSmall)->data(), original.ef_content(kFidEfSmall)->data());
}

TEST(FileSystemApp, NoCurrentEf) {
    FileSystemApp fs;
    EXPECT_EQ(sw(fs.process(read_binary(0, 1))), 0x6986);
    EXPECT_EQ(sw(fs.process(proto::build_case3(0, 0xD6, 0, 0, seq(1)).value())), 0x6986);
    fs.process(select_fid(kFidEfSmall));
    fs.process(select_fid(kFidMf));  // selecting a DF drops the current EF
    EXPECT_EQ(sw(fs.process(read_binary(0, 1))), 0x6986);
}

TEST(FileSystemApp, SelectReturnsFileControlInformation) {
    FileSystemApp fs;
    auto r = fs.process(select_fid(kFidEfLarge, 0x04));
    EXPECT_EQ(r, hex("62 0F 82 01 01 83 02 01 03 80 03 01 00 00 88 01 03 90 00"));
    r = fs.process(select_fid(kFidEfMedium, 0x00));
    EXPECT_EQ(r, hex("6F 0E 82 01 01 83 02 01 02 80 02 01 2C 88 01 02 90 00"));
    r = fs.process(select_fid(kFidMf, 0x00));
    EXPECT_EQ(r, hex("6F 07 82 01 38 83 02 3F 00 90 00"));
    // Le too short for the template: 6CXX with the exact length.
    r = fs.process(proto::build_case4(0, 0xA4, 0, 0, hex("3F 00"), 4).value());
    EXPECT_EQ(r, hex("6C 09"));
    // No Le: no data.
    EXPECT_EQ(fs.process(proto::build_case3(0, 0xA4, 0, 0, hex("3F 00")).value()), hex("90 00"));
    EXPECT_EQ(fs.process(hex("00 A4 00 00")), hex("90 00"));  // empty data selects the MF
}

TEST(FileSystemApp, SelectByAid) {
    FileSystemApp fs;
    const Bytes aid = demo_application_aid();
    EXPECT_EQ(aid, hex("F0 43 43 49 44 4B 49 54 01"));
    auto r = fs.process(proto::build_case4(0, 0xA4, 0x04, 0x00, aid, 256).value());
    EXPECT_EQ(r, hex("6F 12 82 01 38 83 02 7F 10 84 09 F0 43 43 49 44 4B 49 54 01 90 00"));
    // The application's EF is reachable now, and so are the MF's (FID search falls back).
    EXPECT_EQ(fs.process(select_fid(kFidEfApp)), hex("90 00"));
    auto c = fs.process(read_binary(0, 256));
    EXPECT_EQ(body(c).size(), 256u);
    EXPECT_EQ(body(c)[5], expected_file_byte(kFidEfApp, 5));
    EXPECT_EQ(fs.process(hex("00 B0 81 00 01")), Bytes({expected_file_byte(kFidEfApp, 0), 0x90, 0}));
    EXPECT_EQ(fs.process(select_fid(kFidEfSmall)), hex("90 00"));
    // Right-truncated name.
    EXPECT_EQ(fs.process(proto::build_case3(0, 0xA4, 0x04, 0x0C, hex("F0 43 43")).value()),
              hex("90 00"));
    EXPECT_EQ(sw(fs.process(proto::build_case3(0, 0xA4, 0x04, 0x0C, hex("F0 44")).value())),
              0x6A82);
}

TEST(FileSystemApp, SelectErrors) {
    FileSystemApp fs;
    EXPECT_EQ(sw(fs.process(select_fid(0x1234))), 0x6A82);
    EXPECT_EQ(sw(fs.process(hex("00 A4 00 0C 01 3F"))), 0x6700);
    EXPECT_EQ(sw(fs.process(hex("00 A4 04 0C"))), 0x6700);
    EXPECT_EQ(sw(fs.process(hex("00 A4 02 0C 02 3F 00"))), 0x6A86);
    EXPECT_EQ(sw(fs.process(hex("00 A4 00 02 02 3F 00"))), 0x6A86);
    EXPECT_EQ(sw(fs.process(hex("00 A4 00 08 02 3F 00"))), 0x6A86);
    // A failed SELECT keeps the previous selection.
    fs.process(select_fid(kFidEfSmall));
    fs.process(select_fid(0x1234));
    EXPECT_EQ(sw(fs.process(read_binary(0, 1))), 0x9000);
}

TEST(FileSystemApp, ClassAndInstructionErrors) {
    FileSystemApp fs;
    EXPECT_EQ(sw(fs.process(hex("00 20 00 00"))), 0x6D00);
    EXPECT_EQ(sw(fs.process(hex("00 C0 00 00 00"))), 0x6D00);
    EXPECT_EQ(sw(fs.process(hex("80 A4 00 00"))), 0x6E00);
    EXPECT_EQ(sw(fs.process(hex("20 A4 00 00"))), 0x6E00);
    EXPECT_EQ(sw(fs.process(hex("FF A4 00 00"))), 0x6E00);
    EXPECT_EQ(sw(fs.process(hex("10 A4 00 00"))), 0x6884);
    EXPECT_EQ(sw(fs.process(hex("04 A4 00 00"))), 0x6882);
    EXPECT_EQ(sw(fs.process(hex("01 A4 00 00"))), 0x6881);
    EXPECT_EQ(sw(fs.process(hex("40 A4 00 00"))), 0x6881);
    EXPECT_EQ(sw(fs.process(hex("60 A4 00 00"))), 0x6882);
    EXPECT_EQ(sw(fs.process(hex("50 A4 00 00"))), 0x6884);
    EXPECT_EQ(sw(fs.process(hex("00 A4 00"))), 0x6700);
}

// ---------------- DemoCardApp ----------------

TEST(DemoCardApp, RoutesByClass) {
    DemoCardApp app;
    EXPECT_EQ(app.process(proto::build_case4(0x80, 0x10, 0, 0, hex("AB"), 1).value()),
              hex("AB 90 00"));
    EXPECT_EQ(app.process(select_fid(kFidEfSmall)), hex("90 00"));
    EXPECT_EQ(sw(app.process(read_binary(0, 1))), 0x9000);
    app.reset();
    EXPECT_EQ(sw(app.process(read_binary(0, 1))), 0x6986);
    EXPECT_EQ(sw(app.process({})), 0x6700);
    EXPECT_TRUE(app.files().ef_content(kFidEfLarge));
}

}  // namespace
}  // namespace ccidkit::sim

// T=1 block codec (ISO/IEC 7816-3:2006 11.3): fixed blocks of the shared note (section 4),
// PCB coding, and one test per decode error.
#include "protocol/t1_block.h"

#include <gtest/gtest.h>

#include <string_view>

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

Bytes enc(const T1Block& b, T1Edc edc = T1Edc::Lrc) { return encode(b, edc).value(); }

}  // namespace

TEST(T1Block, FixedBlocksOfTheNote) {
    EXPECT_EQ(enc(T1Block::s_block(0, T1SKind::Resynch, false)), hex("00 C0 00 C0"));
    EXPECT_EQ(enc(T1Block::s_block(0, T1SKind::Resynch, true)), hex("00 E0 00 E0"));
    EXPECT_EQ(enc(T1Block::s_block(0, T1SKind::Abort, false)), hex("00 C2 00 C2"));
    EXPECT_EQ(enc(T1Block::s_block(0, T1SKind::Abort, true)), hex("00 E2 00 E2"));
    EXPECT_EQ(enc(T1Block::s_block(0, T1SKind::Wtx, false, 1)), hex("00 C3 01 01 C3"));
    EXPECT_EQ(enc(T1Block::s_block(0, T1SKind::Wtx, true, 1)), hex("00 E3 01 01 E3"));
    EXPECT_EQ(enc(T1Block::r_block(0, 0, T1RCode::Ok)), hex("00 80 00 80"));
    EXPECT_EQ(enc(T1Block::r_block(0, 1, T1RCode::Ok)), hex("00 90 00 90"));
    EXPECT_EQ(enc(T1Block::r_block(0, 0, T1RCode::EdcError)), hex("00 81 00 81"));
    EXPECT_EQ(enc(T1Block::r_block(0, 1, T1RCode::EdcError)), hex("00 91 00 91"));
    EXPECT_EQ(enc(T1Block::r_block(0, 0, T1RCode::OtherError)), hex("00 82 00 82"));
    EXPECT_EQ(enc(T1Block::r_block(0, 1, T1RCode::OtherError)), hex("00 92 00 92"));
}

TEST(T1Block, EmvIfsRequestWithLrcAndCrc) {
    const T1Block ifs = T1Block::s_block(0, T1SKind::Ifs, false, 0xFE);
    EXPECT_EQ(enc(ifs), hex("00 C1 01 FE 3E"));
    EXPECT_EQ(enc(ifs, T1Edc::Crc), hex("00 C1 01 FE 54 4E"));
    EXPECT_EQ(enc(T1Block::s_block(0, T1SKind::Ifs, true, 0xFE)), hex("00 E1 01 FE 1E"));
}

TEST(T1Block, IBlockPcb) {
    const Bytes inf = hex("90 00");
    EXPECT_EQ(enc(T1Block::i_block(0, 0, false, inf)), hex("00 00 02 90 00 92"));
    EXPECT_EQ(enc(T1Block::i_block(0, 1, false, inf)), hex("00 40 02 90 00 D2"));
    EXPECT_EQ(T1Block::i_block(0, 0, true, inf).pcb, 0x20);
    EXPECT_EQ(T1Block::i_block(0, 1, true, inf).pcb, 0x60);
}

TEST(T1Block, DecodeAccessors) {
    auto i = decode(hex("00 60 0A FF FF 00 00 00 00 00 FF FF 00 6A"), T1Edc::Lrc);
    ASSERT_TRUE(i.has_value());
    EXPECT_EQ(i->type(), T1BlockType::I);
    EXPECT_EQ(i->ns(), 1);
    EXPECT_TRUE(i->more());
    EXPECT_EQ(i->inf.size(), 10u);

    auto r = decode(hex("00 91 00 91"), T1Edc::Lrc);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->type(), T1BlockType::R);
    EXPECT_EQ(r->nr(), 1);
    EXPECT_EQ(r->r_code(), T1RCode::EdcError);

    auto s = decode(hex("00 C3 01 02 C0"), T1Edc::Lrc);
    ASSERT_TRUE(s.has_value());
    EXPECT_TRUE(s->is_s(T1SKind::Wtx, false));
    EXPECT_EQ(s->s_value(), 2);

    auto vpp = decode(hex("00 E4 00 E4"), T1Edc::Lrc);
    ASSERT_TRUE(vpp.has_value());
    EXPECT_TRUE(vpp->is_s(T1SKind::VppError, true));

    auto crc = decode(hex("00 C1 01 FE 54 4E"), T1Edc::Crc);
    ASSERT_TRUE(crc.has_value());
    EXPECT_TRUE(crc->is_s(T1SKind::Ifs, false));
    EXPECT_EQ(crc->s_value(), 0xFE);
}

TEST(T1Block, RoundTripMaximumInf) {
    for (const T1Edc edc : {T1Edc::Lrc, T1Edc::Crc}) {
        Bytes inf(kT1MaxInf);
        for (std::size_t i = 0; i < inf.size(); ++i) inf[i] = static_cast<std::uint8_t>(i * 7);
        const T1Block b = T1Block::i_block(0x21, 1, true, inf);
        const Bytes raw = enc(b, edc);
        EXPECT_EQ(raw.size(), 3 + kT1MaxInf + edc_size(edc));
        auto back = decode(raw, edc);
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(*back, b);
    }
}

TEST(T1Block, EncodeRejectsInfOver254) {
    const Bytes inf(kT1MaxInf + 1, 0);
    auto r = encode(T1Block::i_block(0, 0, false, inf), T1Edc::Lrc);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), T1BlockError::InvalidInfLength);
}

TEST(T1Block, DecodeTooShort) {
    EXPECT_EQ(decode(hex("00 80 00"), T1Edc::Lrc).error(), T1BlockError::TooShort);
    EXPECT_EQ(decode(hex("00 80 00 80"), T1Edc::Crc).error(), T1BlockError::TooShort);
    EXPECT_EQ(decode({}, T1Edc::Lrc).error(), T1BlockError::TooShort);
}

TEST(T1Block, DecodeLenFF) {
    Bytes raw = hex("00 00 FF");
    raw.resize(3 + 255 + 1, 0);
    EXPECT_EQ(decode(raw, T1Edc::Lrc).error(), T1BlockError::LengthTooLarge);
}

TEST(T1Block, DecodeLengthMismatch) {
    // LEN says 2 bytes, 1 arrives (and the reverse).
    EXPECT_EQ(decode(hex("00 00 02 90 92"), T1Edc::Lrc).error(), T1BlockError::LengthMismatch);
    EXPECT_EQ(decode(hex("00 00 02 90 00 00 92"), T1Edc::Lrc).error(),
              T1BlockError::LengthMismatch);
    // Annex A.3.1 scenario 9: two bytes then silence.
    EXPECT_EQ(decode(hex("00 00 07 75 74"), T1Edc::Lrc).error(), T1BlockError::LengthMismatch);
}

TEST(T1Block, DecodeEdcMismatch) {
    EXPECT_EQ(decode(hex("00 00 07 75 74 77 74 75 90 00 1F"), T1Edc::Lrc).error(),
              T1BlockError::EdcMismatch);
    EXPECT_EQ(decode(hex("00 C1 01 FE 4E 54"), T1Edc::Crc).error(), T1BlockError::EdcMismatch);
}

TEST(T1Block, DecodeNadFF) {
    EXPECT_EQ(decode(hex("FF 80 00 7F"), T1Edc::Lrc).error(), T1BlockError::InvalidNad);
}

TEST(T1Block, DecodeInvalidPcb) {
    const char* bad[] = {
        "00 01 00 01",  // I-block with RFU bits
        "00 A0 00 A0",  // R-block with bit 6 set
        "00 83 00 83",  // R-block error code 3
        "00 C4 00 C4",  // VPP error as a request
        "00 C5 00 C5",  // unknown S-block type
        "00 FF 00 FF",
    };
    for (const char* b : bad) EXPECT_EQ(decode(hex(b), T1Edc::Lrc).error(), T1BlockError::InvalidPcb) << b;
}

TEST(T1Block, DecodeInvalidInfLength) {
    const char* bad[] = {
        "00 80 01 00 81",     // R-block with INF
        "00 C1 00 C1",        // S(IFS) without INF
        "00 C3 02 01 01 C1",  // S(WTX) with 2 bytes
        "00 C0 01 00 C1",     // S(RESYNCH) with INF
        "00 E2 01 00 E3",     // S(ABORT response) with INF
    };
    for (const char* b : bad)
        EXPECT_EQ(decode(hex(b), T1Edc::Lrc).error(), T1BlockError::InvalidInfLength) << b;
}

TEST(T1Block, ErrorCodesForRBlocks) {
    EXPECT_EQ(r_code_for(T1BlockError::EdcMismatch), T1RCode::EdcError);
    for (auto e : {T1BlockError::TooShort, T1BlockError::LengthTooLarge,
                   T1BlockError::LengthMismatch, T1BlockError::InvalidNad,
                   T1BlockError::InvalidPcb, T1BlockError::InvalidInfLength}) {
        EXPECT_EQ(r_code_for(e), T1RCode::OtherError) << to_string(e);
        EXPECT_FALSE(to_string(e).empty());
    }
}

TEST(T1Block, EveryPcbDecodesOrFailsCleanly) {
    // All 256 PCB values with every INF size 0..2: valid blocks re-encode identically.
    std::size_t valid = 0;
    for (int pcb = 0; pcb < 256; ++pcb) {
        for (std::size_t len = 0; len <= 2; ++len) {
            Bytes raw{0x00, static_cast<std::uint8_t>(pcb), static_cast<std::uint8_t>(len)};
            raw.resize(3 + len, 0x5A);
            append_edc(raw, T1Edc::Crc);
            auto b = decode(raw, T1Edc::Crc);
            if (!b) continue;
            ++valid;
            EXPECT_EQ(enc(*b, T1Edc::Crc), raw);
        }
    }
    // I: 4 PCBs x 3 sizes; R: 6 PCBs, LEN 0; S: 9 PCBs, each with exactly one INF size.
    EXPECT_EQ(valid, 4u * 3 + 6 + 9);
}

TEST(T1Block, SwapNadAndDescribe) {
    EXPECT_EQ(swap_nad(0x12), 0x21);
    EXPECT_EQ(swap_nad(0x00), 0x00);
    EXPECT_EQ(describe(T1Block::i_block(0, 1, true, hex("01 02"))), "I(1,M) 2 bytes");
    EXPECT_EQ(describe(T1Block::r_block(0, 0, T1RCode::Ok)), "R(0)");
    EXPECT_EQ(describe(T1Block::r_block(0, 1, T1RCode::EdcError)), "R(1) EDC or parity error");
    EXPECT_EQ(describe(T1Block::s_block(0, T1SKind::Wtx, false, 2)), "S(WTX request 2)");
    EXPECT_EQ(describe(T1Block::s_block(0, T1SKind::Abort, true)), "S(ABORT response)");
}

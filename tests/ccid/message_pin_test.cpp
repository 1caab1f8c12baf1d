// PIN verification/modification structures: PC/SC part 10 form and the CCID
// PC_to_RDR_Secure form (CCID Rev 1.1 section 6.1.11).
#include <gtest/gtest.h>

#include "ccid/message_commands.h"
#include "ccid/message_pin.h"

namespace ccidkit::ccid {
namespace {

Bytes hex(std::string_view text) {
    auto bytes = from_hex(text);
    EXPECT_TRUE(bytes.has_value()) << text;
    return bytes.value_or(Bytes{});
}

// VERIFY with an 8-byte ASCII PIN block, as an application hands it to SCardControl.
const char* const kPcscVerify =
    "1E 00 82 04 00"  // bTimerOut, bTimerOut2, bmFormatString, bmPINBlockString, bmPINLengthFormat
    " 08 04"          // wPINMaxExtraDigit 0408h: 4..8 digits
    " 02 01"          // bEntryValidationCondition, bNumberMessage
    " 09 04"          // wLangId 0409h
    " 00"             // bMsgIndex
    " 00 00 00"       // bTeoPrologue
    " 0D 00 00 00"    // ulDataLength 13
    " 00 20 00 01 08 FF FF FF FF FF FF FF FF";

TEST(MessagePin, DecodesThePcscVerifyStructure) {
    const auto v = decode_pcsc_pin_verify(hex(kPcscVerify));
    ASSERT_TRUE(v.has_value()) << to_string(v.error());
    EXPECT_EQ(v->bTimeOut, 0x1E);
    EXPECT_EQ(v->bmFormatString, 0x82);
    EXPECT_EQ(v->bmPINBlockString, 0x04);
    EXPECT_EQ(v->wPINMaxExtraDigit, 0x0408);
    EXPECT_EQ(v->bEntryValidationCondition, 0x02);
    EXPECT_EQ(v->bNumberMessage, 0x01);
    EXPECT_EQ(v->wLangId, 0x0409);
    EXPECT_EQ(v->abPINApdu, hex("00 20 00 01 08 FF FF FF FF FF FF FF FF"));
    EXPECT_EQ(encode_pcsc_pin_verify(*v), hex(kPcscVerify));
}

TEST(MessagePin, CcidVerifyDropsTimeout2AndDataLength) {
    const auto v = decode_pcsc_pin_verify(hex(kPcscVerify)).value();
    const Bytes ccid = secure_pin_verify_data(v);
    EXPECT_EQ(ccid, hex("00 1E 82 04 00 08 04 02 01 09 04 00 000000 00200001 08 FFFFFFFFFFFFFFFF"));
    EXPECT_EQ(decode_secure_pin_verify(ccid).value(), v);

    const pc_to_rdr::Secure secure{0, 4, 0, 0, ccid};
    const auto decoded = decode_command(encode(secure), 1024);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(std::get<pc_to_rdr::Secure>(*decoded).pin_operation(), PinOperation::Verify);
}

PinModify sample_modify(std::uint8_t number_message) {
    PinModify m;
    m.bTimeOut = 0x3C;
    m.bTimeOut2 = 0;
    m.bmFormatString = 0x82;
    m.bmPINBlockString = 0x04;
    m.bInsertionOffsetOld = 0x00;
    m.bInsertionOffsetNew = 0x08;
    m.wPINMaxExtraDigit = 0x0608;
    m.bConfirmPIN = 0x03;
    m.bNumberMessage = number_message;
    m.bMsgIndex1 = 0x11;
    m.bMsgIndex2 = 0x22;
    m.bMsgIndex3 = 0x33;
    m.bTeoPrologue = {0xAA, 0xBB, 0xCC};
    m.abPINApdu = hex("00 24 00 01 10 FFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFF");
    return m;
}

TEST(MessagePin, PcscModifyLayoutAndRoundTrip) {
    const PinModify m = sample_modify(3);
    const Bytes wire = encode_pcsc_pin_modify(m);
    ASSERT_EQ(wire.size(), kPcscPinModifyFixedSize + m.abPINApdu.size());
    EXPECT_EQ(Bytes(wire.begin(), wire.begin() + 24),
              hex("3C 00 82 04 00 00 08 0806 03 02 03 0904 11 22 33 AABBCC 15000000"));
    EXPECT_EQ(decode_pcsc_pin_modify(wire).value(), m);
}

TEST(MessagePin, CcidModifyCarriesOnlyTheAnnouncedMessageIndexes) {
    struct Case {
        std::uint8_t number_message;
        std::string_view indexes;  // bytes between bMsgIndex1's predecessor and bTeoPrologue
        bool index2;
        bool index3;
    };
    const Case cases[] = {
        {0x00, "11", false, false},
        {0x01, "11 22", true, false},
        {0x02, "11 22", true, false},
        {0x03, "11 22 33", true, true},
        {0xFF, "11 22 33", true, true},
    };
    for (const auto& c : cases) {
        const PinModify m = sample_modify(c.number_message);
        const Bytes ccid = secure_pin_modify_data(m);
        Bytes expected = hex("01 3C 82 04 00 00 08 0806 03 02");
        expected.push_back(c.number_message);
        for (auto b : hex("0904")) expected.push_back(b);
        for (auto b : hex(c.indexes)) expected.push_back(b);
        for (auto b : hex("AABBCC")) expected.push_back(b);
        expected.insert(expected.end(), m.abPINApdu.begin(), m.abPINApdu.end());
        EXPECT_EQ(ccid, expected) << int(c.number_message);

        PinModify back = m;
        if (!c.index2) back.bMsgIndex2 = 0;
        if (!c.index3) back.bMsgIndex3 = 0;
        EXPECT_EQ(decode_secure_pin_modify(ccid).value(), back) << int(c.number_message);
    }
}

TEST(MessagePin, MalformedStructures) {
    const Bytes verify = hex(kPcscVerify);
    EXPECT_EQ(decode_pcsc_pin_verify(Bytes(verify.begin(), verify.begin() + 18)).error(), PinStructureError::TooShort);
    Bytes wrong_length = verify;
    wrong_length[15] = 0x0C;
    EXPECT_EQ(decode_pcsc_pin_verify(wrong_length).error(), PinStructureError::LengthMismatch);
    Bytes huge_length = verify;
    huge_length[18] = 0xFF;
    EXPECT_EQ(decode_pcsc_pin_verify(huge_length).error(), PinStructureError::LengthMismatch);
    Bytes short_apdu(verify.begin(), verify.begin() + 19 + 3);
    short_apdu[15] = 3;
    EXPECT_EQ(decode_pcsc_pin_verify(short_apdu).error(), PinStructureError::ApduTooShort);

    const Bytes modify = encode_pcsc_pin_modify(sample_modify(3));
    Bytes bad_number = modify;
    bad_number[11] = 4;
    EXPECT_EQ(decode_pcsc_pin_modify(bad_number).error(), PinStructureError::BadNumberMessage);
    EXPECT_EQ(decode_pcsc_pin_modify(Bytes(modify.begin(), modify.begin() + 23)).error(), PinStructureError::TooShort);

    const Bytes ccid_modify = secure_pin_modify_data(sample_modify(3));
    EXPECT_EQ(decode_secure_pin_verify(ccid_modify).error(), PinStructureError::WrongOperation);
    EXPECT_EQ(decode_secure_pin_modify(secure_pin_verify_data(PinVerify{})).error(), PinStructureError::WrongOperation);
    EXPECT_EQ(decode_secure_pin_verify({}).error(), PinStructureError::TooShort);
    EXPECT_EQ(decode_secure_pin_modify({}).error(), PinStructureError::TooShort);
    // Cut at every length: never a read past the end, always a clean error.
    for (std::size_t n = 0; n < ccid_modify.size() - sample_modify(3).abPINApdu.size() + 4; ++n) {
        const Bytes cut(ccid_modify.begin(), ccid_modify.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_FALSE(decode_secure_pin_modify(cut).has_value()) << n;
    }
    Bytes ccid_bad_number = ccid_modify;
    ccid_bad_number[11] = 0x80;
    EXPECT_EQ(decode_secure_pin_modify(ccid_bad_number).error(), PinStructureError::BadNumberMessage);
}

}  // namespace
}  // namespace ccidkit::ccid

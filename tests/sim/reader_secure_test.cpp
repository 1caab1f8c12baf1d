// PIN pad of the simulated reader: building VERIFY / CHANGE REFERENCE DATA from the PIN
// structures, and PC_to_RDR_Secure end to end to a card checking the PIN.
#include <gtest/gtest.h>

#include <memory>

#include "ccid/message_pin.h"
#include "ccid/slot_error.h"
#include "protocol/apdu.h"
#include "protocol/t1_block.h"
#include "sim/card/apdu_app.h"
#include "sim/card/sim_card_pin_app.h"
#include "sim/reader/reader_pinpad.h"
#include "sim/reader/reader_probe.h"
#include "sim/reader/reader_sim.h"

namespace ccidkit::sim {
namespace {

namespace pc = ccid::pc_to_rdr;
namespace rp = ccid::rdr_to_pc;
namespace code = ccid::slot_error_code;

Bytes hex(std::string_view s) { return from_hex(s).value(); }

// OpenPGP card style: ASCII digits, variable length, no PIN block (bmPINBlockString 00).
ccid::PinVerify ascii_verify() {
    ccid::PinVerify v;
    v.bmFormatString = 0x82;  // byte units, position 0, left justified, ASCII
    v.wPINMaxExtraDigit = 0x0408;
    v.abPINApdu = hex("00 20 00 81");
    return v;
}

// ISO 9564 format 2 block: 2L PP PP .. FF, BCD digits after a control nibble and the length.
ccid::PinVerify format2_verify() {
    ccid::PinVerify v;
    v.bmFormatString = 0x89;     // byte units, position 1, left justified, BCD
    v.bmPINBlockString = 0x48;   // 4-bit length field, 8-byte block
    v.bmPINLengthFormat = 0x04;  // length at bit 4
    v.wPINMaxExtraDigit = 0x040C;
    v.abPINApdu = hex("00 20 00 01 08 20 FF FF FF FF FF FF FF");
    return v;
}

TEST(PinPad, AsciiVariableLength) {
    EXPECT_EQ(to_hex(build_verify_apdu(ascii_verify(), "123456").value()), "00 20 00 81 06 31 32 33 34 35 36");
}

TEST(PinPad, Iso9564Format2Block) {
    EXPECT_EQ(to_hex(build_verify_apdu(format2_verify(), "1234").value()), "00 20 00 01 08 24 12 34 FF FF FF FF FF");
    EXPECT_EQ(to_hex(build_verify_apdu(format2_verify(), "12345").value()), "00 20 00 01 08 25 12 34 5F FF FF FF FF");
}

TEST(PinPad, RightJustifiedBinaryInAFixedBlock) {
    ccid::PinVerify v;
    v.bmFormatString = 0x84;    // byte units, right justified, binary
    v.bmPINBlockString = 0x06;  // 6-byte block, no length field
    v.abPINApdu = hex("80 20 00 00");
    EXPECT_EQ(to_hex(build_verify_apdu(v, "1234").value()), "80 20 00 00 06 FF FF 01 02 03 04");
}

TEST(PinPad, Refusals) {
    EXPECT_EQ(build_verify_apdu(ascii_verify(), "123").error(), PinPadError::PinLengthOutOfRange);
    EXPECT_EQ(build_verify_apdu(ascii_verify(), "123456789").error(), PinPadError::PinLengthOutOfRange);
    EXPECT_EQ(build_verify_apdu(ascii_verify(), "12a4").error(), PinPadError::BadFormat);
    auto v = ascii_verify();
    v.bmFormatString = 0x83;  // format 11 is RFU
    EXPECT_EQ(build_verify_apdu(v, "1234").error(), PinPadError::BadFormat);
    v = format2_verify();
    v.bmPINBlockString = 0x42;  // 2-byte block cannot hold 4 digits after the first byte
    EXPECT_EQ(build_verify_apdu(v, "1234").error(), PinPadError::DoesNotFit);
    v = ascii_verify();
    v.abPINApdu = hex("00 20");
    EXPECT_EQ(build_verify_apdu(v, "1234").error(), PinPadError::TemplateTooShort);
}

TEST(PinPad, ModifyWithTwoBlocks) {
    ccid::PinModify m;
    m.bmFormatString = 0x82;     // ASCII, byte units, position 0
    m.bmPINBlockString = 0x08;   // 8-byte blocks
    m.bConfirmPIN = 0x03;        // current PIN too, and confirmation
    m.bInsertionOffsetOld = 0;
    m.bInsertionOffsetNew = 8;
    m.abPINApdu = hex("00 24 00 81");
    EXPECT_EQ(to_hex(build_modify_apdu(m, "1234", "56789").value()),
              "00 24 00 81 10 31 32 33 34 FF FF FF FF 35 36 37 38 39 FF FF FF");
    m.bConfirmPIN = 0x01;  // new PIN only
    m.bInsertionOffsetNew = 0;
    EXPECT_EQ(to_hex(build_modify_apdu(m, "1234", "56789").value()), "00 24 00 81 08 35 36 37 38 39 FF FF FF");
}

// ---- Through PC_to_RDR_Secure --------------------------------------------------------------------

std::unique_ptr<CardApplication> pin_app(std::string_view pin) {
    return std::make_unique<PinCheckApp>(std::make_unique<DemoCardApp>(), 0x81, Bytes(pin.begin(), pin.end()));
}

ReaderSimConfig pinpad_reader(ccid::ExchangeLevel level) {
    ReaderSimConfig config = make_reader_config(level);
    config.descriptor.bPINSupport = ccid::kPinVerify | ccid::kPinModify;
    config.descriptor.wLcdLayout = 0x0210;
    return config;
}

rp::DataBlock secure(ReaderProbe& host, Bytes data) {
    auto r = host.transact(pc::Secure{0, host.next_seq(), 0, 0, std::move(data)});
    if (!r) {
        ADD_FAILURE() << r.error().describe();
        return {};
    }
    return std::get<rp::DataBlock>(r->reply);
}

void power_on(ReaderProbe& host) {
    ASSERT_TRUE(host.transact(pc::IccPowerOn{0, host.next_seq(), ccid::PowerSelect::Automatic}));
}

TEST(ReaderSecure, VerifyAtApduLevel) {
    ReaderSimConfig config = pinpad_reader(ccid::ExchangeLevel::ShortApdu);
    config.pinpad.pin = "4321";
    ReaderSim sim(config);
    auto card = sim.insert_card(0, SimCard::t1_default(pin_app("4321")));
    ReaderProbe host(sim);
    power_on(host);
    const auto ok = secure(host, ccid::secure_pin_verify_data(ascii_verify()));
    EXPECT_EQ(to_hex(ok.abData), "90 00");
    auto& app = static_cast<PinCheckApp&>(card->application());
    EXPECT_TRUE(app.verified());
    EXPECT_EQ(card->last_apdu(), hex("00 20 00 81 04 34 33 32 31"));
}

TEST(ReaderSecure, WrongPinReachesTheCard) {
    ReaderSimConfig config = pinpad_reader(ccid::ExchangeLevel::ExtendedApdu);
    config.pinpad.pin = "0000";
    ReaderSim sim(config);
    sim.insert_card(0, SimCard::t0_default(pin_app("4321")));
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(to_hex(secure(host, ccid::secure_pin_verify_data(ascii_verify())).abData), "63 C2");
}

TEST(ReaderSecure, ModifyChangesTheReference) {
    ReaderSimConfig config = pinpad_reader(ccid::ExchangeLevel::ShortApdu);
    config.pinpad.pin = "1111";
    config.pinpad.new_pin = "2222";
    ReaderSim sim(config);
    auto card = sim.insert_card(0, SimCard::t1_default(pin_app("1111")));
    ReaderProbe host(sim);
    power_on(host);
    ccid::PinModify m;
    m.bmFormatString = 0x82;
    m.bConfirmPIN = 0x03;
    m.bInsertionOffsetNew = 4;
    m.wPINMaxExtraDigit = 0x0408;
    m.abPINApdu = hex("00 24 00 81");
    EXPECT_EQ(to_hex(secure(host, ccid::secure_pin_modify_data(m)).abData), "90 00");
    EXPECT_EQ(static_cast<PinCheckApp&>(card->application()).reference(), (Bytes{'2', '2', '2', '2'}));
}

TEST(ReaderSecure, UserCancelsOrWalksAway) {
    for (const auto& [action, error] : {std::pair{PinPadAction::Cancel, code::kPinCancelled},
                                       std::pair{PinPadAction::Timeout, code::kPinTimeout}}) {
        ReaderSimConfig config = pinpad_reader(ccid::ExchangeLevel::ShortApdu);
        config.pinpad.action = action;
        ReaderSim sim(config);
        auto card = sim.insert_card(0, SimCard::t1_default(pin_app("1234")));
        ReaderProbe host(sim);
        power_on(host);
        EXPECT_EQ(secure(host, ccid::secure_pin_verify_data(ascii_verify())).status.bError, error);
        EXPECT_EQ(card->apdus_processed(), 0u);
    }
}

TEST(ReaderSecure, PinOfTheWrongLengthNeverGetsValidated) {
    ReaderSimConfig config = pinpad_reader(ccid::ExchangeLevel::ShortApdu);
    config.pinpad.pin = "12";
    ReaderSim sim(config);
    sim.insert_card(0, SimCard::t1_default(pin_app("1234")));
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(secure(host, ccid::secure_pin_verify_data(ascii_verify())).status.bError, code::kPinTimeout);
}

TEST(ReaderSecure, NotSupportedWithoutPinSupport) {
    ReaderSim sim(make_reader_config(ccid::ExchangeLevel::ShortApdu));
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(secure(host, ccid::secure_pin_verify_data(ascii_verify())).status.bError, code::kCommandNotSupported);
}

TEST(ReaderSecure, TpduT1UsesTheHostsPrologue) {
    ReaderSimConfig config = pinpad_reader(ccid::ExchangeLevel::Tpdu);
    ReaderSim sim(config);
    sim.insert_card(0, SimCard::t1_default(pin_app("1234")));
    ReaderProbe host(sim);
    power_on(host);
    auto v = ascii_verify();
    v.bTeoPrologue = {0x00, 0x00, 0x00};  // NAD 0, I-block N(S) = 0; LEN is filled by the reader
    const auto reply = secure(host, ccid::secure_pin_verify_data(v));
    ASSERT_EQ(reply.status.bError, 0);
    auto block = proto::decode(reply.abData, proto::T1Edc::Lrc);
    ASSERT_TRUE(block);
    EXPECT_EQ(block->type(), proto::T1BlockType::I);
    EXPECT_EQ(to_hex(block->inf), "90 00");
}

TEST(ReaderSecure, TpduT0SendsACase3Tpdu) {
    ReaderSim sim(pinpad_reader(ccid::ExchangeLevel::Tpdu));
    auto card = sim.insert_card(0, SimCard::t0_default(pin_app("1234")));
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(to_hex(secure(host, ccid::secure_pin_verify_data(ascii_verify())).abData), "90 00");
    // A T=0 card never sees Le of an incoming command: it hands the application an implicit one.
    const auto seen = proto::parse_command_apdu(card->last_apdu());
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->ins, kInsVerify);
    EXPECT_EQ(seen->data, hex("31 32 33 34"));
}

}  // namespace
}  // namespace ccidkit::sim

// bError decoding (CCID Rev 1.1 section 6.2.6, Table 6.2-2) for all 256 byte values.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "ccid/message_commands.h"
#include "ccid/message_status.h"
#include "ccid/slot_error.h"

namespace ccidkit::ccid {
namespace {

// Table 6.2-2, written out independently of the implementation's switch.
const std::map<std::uint8_t, std::pair<SlotErrorKind, std::string_view>>& fixed_codes() {
    static const std::map<std::uint8_t, std::pair<SlotErrorKind, std::string_view>> table = {
        {0xFF, {SlotErrorKind::CmdAborted, "CMD_ABORTED"}},
        {0xFE, {SlotErrorKind::IccMute, "ICC_MUTE"}},
        {0xFD, {SlotErrorKind::XfrParityError, "XFR_PARITY_ERROR"}},
        {0xFC, {SlotErrorKind::XfrOverrun, "XFR_OVERRUN"}},
        {0xFB, {SlotErrorKind::HwError, "HW_ERROR"}},
        {0xF8, {SlotErrorKind::BadAtrTs, "BAD_ATR_TS"}},
        {0xF7, {SlotErrorKind::BadAtrTck, "BAD_ATR_TCK"}},
        {0xF6, {SlotErrorKind::IccProtocolNotSupported, "ICC_PROTOCOL_NOT_SUPPORTED"}},
        {0xF5, {SlotErrorKind::IccClassNotSupported, "ICC_CLASS_NOT_SUPPORTED"}},
        {0xF4, {SlotErrorKind::ProcedureByteConflict, "PROCEDURE_BYTE_CONFLICT"}},
        {0xF3, {SlotErrorKind::DeactivatedProtocol, "DEACTIVATED_PROTOCOL"}},
        {0xF2, {SlotErrorKind::BusyWithAutoSequence, "BUSY_WITH_AUTO_SEQUENCE"}},
        {0xF0, {SlotErrorKind::PinTimeout, "PIN_TIMEOUT"}},
        {0xEF, {SlotErrorKind::PinCancelled, "PIN_CANCELLED"}},
        {0xE0, {SlotErrorKind::CmdSlotBusy, "CMD_SLOT_BUSY"}},
        {0x00, {SlotErrorKind::CommandNotSupported, "CMD_NOT_SUPPORTED"}},
    };
    return table;
}

TEST(MessageSlotError, EveryFixedCodeHasItsOwnNamedKind) {
    std::set<SlotErrorKind> kinds;
    for (const auto& [code, expected] : fixed_codes()) {
        const SlotError e = classify_slot_error(code);
        EXPECT_EQ(e.kind, expected.first) << int(code);
        EXPECT_EQ(e.code, code);
        EXPECT_EQ(e.bad_parameter_offset(), std::nullopt);
        EXPECT_NE(to_string(e.kind).find(expected.second), std::string_view::npos) << to_string(e.kind);
        EXPECT_NE(describe(e).find(fmt::format("({:02X})", code)), std::string::npos) << describe(e);
        kinds.insert(e.kind);
    }
    EXPECT_EQ(kinds.size(), fixed_codes().size());
}

TEST(MessageSlotError, EveryByteValueIsClassified) {
    for (unsigned v = 0; v < 256; ++v) {
        const auto code = static_cast<std::uint8_t>(v);
        const SlotError e = classify_slot_error(code);
        EXPECT_EQ(e.code, code);
        if (fixed_codes().contains(code)) continue;
        if (v >= 0x01 && v <= 0x7F) {
            EXPECT_EQ(e.kind, SlotErrorKind::BadParameter) << v;
            EXPECT_EQ(e.bad_parameter_offset(), code);
        } else if (v >= 0x81 && v <= 0xC0) {
            EXPECT_EQ(e.kind, SlotErrorKind::UserDefined) << v;
        } else {
            // 80h and the gaps F9, FA, F1, E1..EE, C1..DF are reserved.
            EXPECT_EQ(e.kind, SlotErrorKind::Reserved) << v;
        }
    }
    EXPECT_EQ(classify_slot_error(0x80).kind, SlotErrorKind::Reserved);
    EXPECT_EQ(classify_slot_error(0xF9).kind, SlotErrorKind::Reserved);
    EXPECT_EQ(classify_slot_error(0xF1).kind, SlotErrorKind::Reserved);
    EXPECT_EQ(classify_slot_error(0xC1).kind, SlotErrorKind::Reserved);
}

TEST(MessageSlotError, KindTextsAreDistinct) {
    std::set<std::string_view> texts;
    for (int k = 0; k <= static_cast<int>(SlotErrorKind::Reserved); ++k) {
        const auto text = to_string(static_cast<SlotErrorKind>(k));
        EXPECT_FALSE(text.empty());
        texts.insert(text);
    }
    EXPECT_EQ(texts.size(), static_cast<std::size_t>(SlotErrorKind::Reserved) + 1);
}

TEST(MessageSlotError, BadParameterNamesTheRejectedField) {
    EXPECT_NE(describe(classify_slot_error(7), MessageType::PcToRdrIccPowerOn).find("bPowerSelect"),
              std::string::npos);
    EXPECT_NE(describe(classify_slot_error(5), MessageType::PcToRdrXfrBlock).find("bSlot"), std::string::npos);
    EXPECT_NE(describe(classify_slot_error(1), MessageType::PcToRdrXfrBlock).find("dwLength"), std::string::npos);
    EXPECT_NE(describe(classify_slot_error(5)).find("offset 5"), std::string::npos);
    EXPECT_EQ(field_name_at(MessageType::PcToRdrXfrBlock, 7), "bBWI");
    EXPECT_EQ(field_name_at(MessageType::PcToRdrXfrBlock, 8), "wLevelParameter");
    EXPECT_EQ(field_name_at(MessageType::PcToRdrXfrBlock, 12), "abData[2]");
    EXPECT_EQ(field_name_at(MessageType::PcToRdrSetParameters, 7), "bProtocolNum");
    EXPECT_EQ(field_name_at(MessageType::PcToRdrSetParameters, 11), "abProtocolDataStructure[1]");
    EXPECT_EQ(field_name_at(MessageType::PcToRdrT0Apdu, 9), "bClassEnvelope");
    EXPECT_EQ(field_name_at(MessageType::PcToRdrSecure, 10), "bPINOperation");
    EXPECT_EQ(field_name_at(MessageType::PcToRdrSetDataRateAndClockFrequency, 14), "dwDataRate");
    EXPECT_EQ(field_name_at(MessageType::PcToRdrGetSlotStatus, 6), "bSeq");
    EXPECT_EQ(field_name_at(MessageType::PcToRdrGetSlotStatus, 8), "abRFU");
}

TEST(MessageSlotError, DecodeFailuresPointAtTheFieldAtFault) {
    // What the simulator reports for a malformed command names the field that is wrong.
    struct Case {
        std::string_view wire;
        MessageType type;
        std::string_view field;
    };
    const Case cases[] = {
        {"62 00000000 00 00 09 0000", MessageType::PcToRdrIccPowerOn, "bPowerSelect"},
        {"6E 00000000 00 00 05 0000", MessageType::PcToRdrIccClock, "bClockCommand"},
        {"71 00000000 00 00 09 0000", MessageType::PcToRdrMechanical, "bFunction"},
        {"61 05000000 00 00 03 0000 1100000A00", MessageType::PcToRdrSetParameters, "bProtocolNum"},
        {"61 05000000 00 00 00 0000 1101000A00", MessageType::PcToRdrSetParameters, "abProtocolDataStructure[1]"},
        {"61 05000000 00 00 00 0000 1100000A07", MessageType::PcToRdrSetParameters, "abProtocolDataStructure[4]"},
        {"61 07000000 00 00 01 0000 1110004D000000", MessageType::PcToRdrSetParameters, "abProtocolDataStructure[5]"},
        {"69 01000000 00 00 00 0000 09", MessageType::PcToRdrSecure, "bPINOperation"},
        {"63 01000000 00 00 000000 00", MessageType::PcToRdrIccPowerOff, "dwLength"},
    };
    for (const auto& c : cases) {
        const auto wire = from_hex(c.wire).value();
        const auto decoded = decode_command(wire, 1024);
        ASSERT_FALSE(decoded.has_value()) << c.wire;
        const SlotError reported = classify_slot_error(bad_parameter_offset(decoded.error()));
        ASSERT_EQ(reported.kind, SlotErrorKind::BadParameter) << c.wire;
        EXPECT_EQ(field_name_at(c.type, *reported.bad_parameter_offset()), c.field) << c.wire;
    }
    const auto unknown = decode_command(from_hex("64 00000000 00 00 000000").value(), 1024);
    EXPECT_EQ(classify_slot_error(bad_parameter_offset(unknown.error())).kind, SlotErrorKind::CommandNotSupported);
}

TEST(MessageSlotError, StatusExposesErrorsOnlyForFailedCommands) {
    EXPECT_EQ((Status{0x00, 0xFE}.error()), std::nullopt);
    EXPECT_EQ((Status{0x80, 0xFE}.error()), std::nullopt);
    EXPECT_EQ((Status{0x40, 0xFE}.error()), (SlotError{SlotErrorKind::IccMute, 0xFE}));
    EXPECT_EQ((Status{0x42, 0x00}.error()), (SlotError{SlotErrorKind::CommandNotSupported, 0x00}));
    EXPECT_EQ((Status{0x80, 0x0A}.time_extension_multiplier()), 0x0A);
    EXPECT_EQ((Status{0x40, 0x0A}.time_extension_multiplier()), std::nullopt);
}

}  // namespace
}  // namespace ccidkit::ccid

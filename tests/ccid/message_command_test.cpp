// PC_to_RDR messages (CCID Rev 1.1 section 6.1): byte layouts, round trips, malformed input.
#include <gtest/gtest.h>

#include <set>

#include "ccid/message_commands.h"
#include "ccid/message_framing.h"

namespace ccidkit::ccid {
namespace {

constexpr std::size_t kMax = 65544 + 10;  // extended APDU reader (5.1 dwMaxCCIDMessageLength)

Bytes hex(std::string_view text) {
    auto bytes = from_hex(text);
    EXPECT_TRUE(bytes.has_value()) << text;
    return bytes.value_or(Bytes{});
}

template <class T>
T decode_as(const Bytes& message) {
    auto decoded = decode_command(message, kMax);
    EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : to_string(decoded.error()));
    if (!decoded || !std::holds_alternative<T>(*decoded)) {
        ADD_FAILURE() << "decoded to another message type";
        return T{};
    }
    return std::get<T>(*decoded);
}

DecodeError decode_error(const Bytes& message, std::size_t max = kMax) {
    auto decoded = decode_command(message, max);
    EXPECT_FALSE(decoded.has_value());
    return decoded ? DecodeError::TooShort : decoded.error();
}

// --- Byte layouts checked by hand against the tables of 6.1 ------------------------------

TEST(MessageCommand, IccPowerOnLayout) {
    // 62h, dwLength 0, bSlot 0, bSeq 1, bPowerSelect 01h (5 V), abRFU 00 00 (6.1.1).
    const Bytes expected = hex("62 00000000 00 01 01 0000");
    EXPECT_EQ(encode(pc_to_rdr::IccPowerOn{0, 1, PowerSelect::V5_0}), expected);
    const auto m = decode_as<pc_to_rdr::IccPowerOn>(expected);
    EXPECT_EQ(m.bSeq, 1);
    EXPECT_EQ(m.bPowerSelect, PowerSelect::V5_0);
}

TEST(MessageCommand, XfrBlockLayout) {
    // 6Fh, dwLength 5 (LE), bSlot 1, bSeq 3, bBWI 4, wLevelParameter 0102h (LE), abData (6.1.4).
    const Bytes expected = hex("6F 05000000 01 03 04 0201 00A4040000");
    const pc_to_rdr::XfrBlock m{1, 3, 4, 0x0102, hex("00 A4 04 00 00")};
    EXPECT_EQ(encode(m), expected);
    EXPECT_EQ(decode_as<pc_to_rdr::XfrBlock>(expected), m);
}

TEST(MessageCommand, SetParametersT1Layout) {
    // 61h, dwLength 7, bProtocolNum 1, abRFU, then Table 6.1-4 in field order.
    const Bytes expected = hex("61 07000000 00 05 01 0000 96 11 02 4D 03 FE 21");
    const T1Parameters t1{0x96, 0x11, 0x02, 0x4D, 0x03, 0xFE, 0x21};
    EXPECT_EQ(encode(pc_to_rdr::SetParameters{0, 5, t1}), expected);
    const auto m = decode_as<pc_to_rdr::SetParameters>(expected);
    ASSERT_TRUE(std::holds_alternative<T1Parameters>(m.parameters));
    const auto& got = std::get<T1Parameters>(m.parameters);
    EXPECT_EQ(got.bmFindexDindex, 0x96);
    EXPECT_EQ(got.bmTCCKST1, 0x11);
    EXPECT_TRUE(got.uses_crc());
    EXPECT_FALSE(got.inverse_convention());
    EXPECT_EQ(got.bGuardTimeT1, 0x02);
    EXPECT_EQ(got.bmWaitingIntegersT1, 0x4D);
    EXPECT_EQ(got.bClockStop, 0x03);
    EXPECT_EQ(got.bIFSC, 0xFE);
    EXPECT_EQ(got.bNadValue, 0x21);
}

TEST(MessageCommand, SetParametersT0Layout) {
    // Table 6.1-3: bmFindexDindex, bmTCCKST0, bGuardTimeT0, bWaitingIntegerT0, bClockStop.
    const Bytes expected = hex("61 05000000 02 09 00 0000 13 02 FF 0A 01");
    const T0Parameters t0{0x13, 0x02, 0xFF, 0x0A, 0x01};
    EXPECT_EQ(encode(pc_to_rdr::SetParameters{2, 9, t0}), expected);
    const auto m = decode_as<pc_to_rdr::SetParameters>(expected);
    ASSERT_TRUE(std::holds_alternative<T0Parameters>(m.parameters));
    EXPECT_EQ(std::get<T0Parameters>(m.parameters), t0);
    EXPECT_TRUE(std::get<T0Parameters>(m.parameters).inverse_convention());
}

TEST(MessageCommand, SetDataRateAndClockFrequencyLayout) {
    // dwLength 8, abRFU x3, dwClockFrequency 4000 kHz = 0FA0h, dwDataRate 10753 bps = 2A01h.
    const Bytes expected = hex("73 08000000 00 02 000000 A00F0000 012A0000");
    const pc_to_rdr::SetDataRateAndClockFrequency m{0, 2, 4000, 10753};
    EXPECT_EQ(encode(m), expected);
    EXPECT_EQ(decode_as<pc_to_rdr::SetDataRateAndClockFrequency>(expected), m);
}

TEST(MessageCommand, T0ApduLayout) {
    // bmChanges, bClassGetResponse, bClassEnvelope in bytes 7..9 (6.1.10).
    const Bytes expected = hex("6A 00000000 00 07 03 00 A0");
    const pc_to_rdr::T0Apdu m{0, 7, 0x03, 0x00, 0xA0};
    EXPECT_EQ(encode(m), expected);
    EXPECT_EQ(decode_as<pc_to_rdr::T0Apdu>(expected), m);
}

TEST(MessageCommand, HeaderOnlyLayouts) {
    EXPECT_EQ(encode(pc_to_rdr::IccPowerOff{1, 2}), hex("63 00000000 01 02 000000"));
    EXPECT_EQ(encode(pc_to_rdr::GetSlotStatus{0, 0xFF}), hex("65 00000000 00 FF 000000"));
    EXPECT_EQ(encode(pc_to_rdr::GetParameters{0, 4}), hex("6C 00000000 00 04 000000"));
    EXPECT_EQ(encode(pc_to_rdr::ResetParameters{0, 4}), hex("6D 00000000 00 04 000000"));
    EXPECT_EQ(encode(pc_to_rdr::Abort{3, 0x80}), hex("72 00000000 03 80 000000"));
    EXPECT_EQ(encode(pc_to_rdr::IccClock{0, 1, ClockCommand::Stop}), hex("6E 00000000 00 01 01 0000"));
    EXPECT_EQ(encode(pc_to_rdr::Mechanical{0, 1, MechanicalFunction::Eject}), hex("71 00000000 00 01 02 0000"));
    EXPECT_EQ(encode(pc_to_rdr::Escape{0, 1, hex("01 02")}), hex("6B 02000000 00 01 000000 0102"));
    EXPECT_EQ(encode(pc_to_rdr::Secure{0, 1, 0, 0, hex("04")}), hex("69 01000000 00 01 00 0000 04"));
}

// --- Round trips of every message ---------------------------------------------------------

std::vector<Command> sample_commands() {
    return {
        pc_to_rdr::IccPowerOn{0, 0, PowerSelect::Automatic},
        pc_to_rdr::IccPowerOn{1, 1, PowerSelect::V3_0},
        pc_to_rdr::IccPowerOn{2, 2, PowerSelect::V1_8},
        pc_to_rdr::IccPowerOff{0, 3},
        pc_to_rdr::GetSlotStatus{7, 4},
        pc_to_rdr::XfrBlock{0, 5, 0, 0, {}},
        pc_to_rdr::XfrBlock{0, 6, 9, chain::kContinues, Bytes(300, 0x5A)},
        pc_to_rdr::GetParameters{0, 7},
        pc_to_rdr::ResetParameters{0, 8},
        pc_to_rdr::SetParameters{0, 9, T0Parameters{}},
        pc_to_rdr::SetParameters{0, 10, T1Parameters{}},
        pc_to_rdr::Escape{0, 11, {}},
        pc_to_rdr::Escape{0, 12, hex("FF 00 11")},
        pc_to_rdr::IccClock{0, 13, ClockCommand::Restart},
        pc_to_rdr::IccClock{0, 14, ClockCommand::Stop},
        pc_to_rdr::T0Apdu{0, 15, 0x01, 0x80, 0x00},
        pc_to_rdr::Secure{0, 16, 2, chain::kBeginsAndEnds, hex("00 1E 82 04 00 08 04 02 01 09 04 00 000000 00200001")},
        pc_to_rdr::Secure{0, 17, 0, chain::kContinues, {}},
        pc_to_rdr::Mechanical{0, 18, MechanicalFunction::Accept},
        pc_to_rdr::Mechanical{0, 19, MechanicalFunction::Capture},
        pc_to_rdr::Mechanical{0, 20, MechanicalFunction::Lock},
        pc_to_rdr::Mechanical{0, 21, MechanicalFunction::Unlock},
        pc_to_rdr::Abort{0, 22},
        pc_to_rdr::SetDataRateAndClockFrequency{0, 23, 0xFFFFFFFF, 0x01020304},
    };
}

TEST(MessageCommand, EveryMessageRoundTrips) {
    std::set<MessageType> types;
    for (const auto& command : sample_commands()) {
        const Bytes wire = encode(command);
        ASSERT_GE(wire.size(), kHeaderSize);
        EXPECT_EQ(wire[0], static_cast<std::uint8_t>(message_type(command)));
        EXPECT_EQ(load_le32(&wire[1]), wire.size() - kHeaderSize);
        EXPECT_EQ(wire[5], slot_of(command));
        EXPECT_EQ(wire[6], seq_of(command));
        auto decoded = decode_command(wire, kMax);
        ASSERT_TRUE(decoded.has_value()) << to_string(decoded.error()) << " " << to_hex(wire);
        EXPECT_EQ(*decoded, command) << to_hex(wire);
        types.insert(message_type(command));
    }
    EXPECT_EQ(types.size(), 14u) << "every PC_to_RDR message type is covered";
}

TEST(MessageCommand, SecurePinOperation) {
    EXPECT_EQ((pc_to_rdr::Secure{0, 0, 0, 0, hex("01 00")}.pin_operation()), PinOperation::Modify);
    EXPECT_EQ((pc_to_rdr::Secure{0, 0, 0, chain::kBegins, hex("06")}.pin_operation()),
              PinOperation::SendNextApduPart);
    EXPECT_EQ((pc_to_rdr::Secure{0, 0, 0, chain::kEnds, hex("01")}.pin_operation()), std::nullopt);
    EXPECT_EQ((pc_to_rdr::Secure{0, 0, 0, 0, {}}.pin_operation()), std::nullopt);
    EXPECT_EQ((pc_to_rdr::Secure{0, 0, 0, 0, hex("07")}.pin_operation()), std::nullopt);
}

TEST(MessageCommand, RfuBytesAreIgnored) {
    const auto on = decode_as<pc_to_rdr::IccPowerOn>(hex("62 00000000 00 01 02 AA BB"));
    EXPECT_EQ(on.bPowerSelect, PowerSelect::V3_0);
    const auto set = decode_as<pc_to_rdr::SetParameters>(hex("61 05000000 00 01 00 FF FF 11 00 00 0A 00"));
    EXPECT_TRUE(std::holds_alternative<T0Parameters>(set.parameters));
}

// --- Malformed commands -------------------------------------------------------------------

TEST(MessageCommand, HeaderOnlyMessagesRejectData) {
    for (const std::uint8_t type : {0x62, 0x63, 0x65, 0x6C, 0x6D, 0x6E, 0x6A, 0x71, 0x72}) {
        Bytes wire = hex("00 01000000 00 00 01 00 00 FF");
        wire[0] = type;
        EXPECT_EQ(decode_error(wire), DecodeError::PayloadNotEmpty) << int(type);
    }
}

TEST(MessageCommand, RejectsUndefinedFieldValues) {
    EXPECT_EQ(decode_error(hex("62 00000000 00 00 04 0000")), DecodeError::BadPowerSelect);
    EXPECT_EQ(decode_error(hex("62 00000000 00 00 FF 0000")), DecodeError::BadPowerSelect);
    EXPECT_EQ(decode_error(hex("6E 00000000 00 00 02 0000")), DecodeError::BadClockCommand);
    EXPECT_EQ(decode_error(hex("71 00000000 00 00 00 0000")), DecodeError::BadMechanicalFunction);
    EXPECT_EQ(decode_error(hex("71 00000000 00 00 06 0000")), DecodeError::BadMechanicalFunction);
    EXPECT_EQ(decode_error(hex("69 00000000 00 00 00 0000")), DecodeError::MissingPinOperation);
    EXPECT_EQ(decode_error(hex("69 00000000 00 00 00 0100")), DecodeError::MissingPinOperation);
    EXPECT_EQ(decode_error(hex("69 01000000 00 00 00 0000 07")), DecodeError::BadPinOperation);
    EXPECT_EQ(decode_error(hex("73 07000000 00 00 000000 00000000 000000")), DecodeError::BadPayloadLength);
    EXPECT_EQ(decode_error(hex("73 09000000 00 00 000000 00000000 00000000 00")), DecodeError::BadPayloadLength);
    EXPECT_EQ(decode_error(hex("73 00000000 00 00 000000")), DecodeError::BadPayloadLength);
}

TEST(MessageCommand, RejectsBadProtocolData) {
    EXPECT_EQ(decode_error(hex("61 05000000 00 00 02 0000 11 00 00 0A 00")), DecodeError::BadProtocolNum);
    EXPECT_EQ(decode_error(hex("61 05000000 00 00 80 0000 11 00 00 0A 00")), DecodeError::BadProtocolNum);
    EXPECT_EQ(decode_error(hex("61 07000000 00 00 00 0000 11 00 00 0A 00 00 00")),
              DecodeError::BadProtocolDataLength);
    EXPECT_EQ(decode_error(hex("61 05000000 00 00 01 0000 11 10 00 4D 00")), DecodeError::BadProtocolDataLength);
    EXPECT_EQ(decode_error(hex("61 00000000 00 00 00 0000")), DecodeError::BadProtocolDataLength);
    EXPECT_EQ(decode_error(hex("61 05000000 00 00 00 0000 11 01 00 0A 00")), DecodeError::BadTcck);
    EXPECT_EQ(decode_error(hex("61 07000000 00 00 01 0000 11 00 00 4D 00 20 00")), DecodeError::BadTcck);
    EXPECT_EQ(decode_error(hex("61 07000000 00 00 01 0000 11 14 00 4D 00 20 00")), DecodeError::BadTcck);
    EXPECT_EQ(decode_error(hex("61 05000000 00 00 00 0000 11 00 00 0A 04")), DecodeError::BadClockStop);
    EXPECT_EQ(decode_error(hex("61 07000000 00 00 01 0000 11 13 00 4D 04 20 00")), DecodeError::BadClockStop);
    EXPECT_EQ(decode_error(hex("61 07000000 00 00 01 0000 11 10 00 4D 00 00 00")), DecodeError::BadIfsc);
    EXPECT_EQ(decode_error(hex("61 07000000 00 00 01 0000 11 10 00 4D 00 FF 00")), DecodeError::BadIfsc);
}

TEST(MessageCommand, RejectsMessagesOfOtherPipesAndUnknownTypes) {
    EXPECT_EQ(decode_error(hex("80 00000000 00 00 000000")), DecodeError::UnexpectedMessageType);
    EXPECT_EQ(decode_error(hex("84 08000000 00 00 000000 0000000000000000")), DecodeError::UnexpectedMessageType);
    EXPECT_EQ(decode_error(hex("50 00000000 00 00 000000")), DecodeError::UnexpectedMessageType);
    for (const std::uint8_t type : {0x00, 0x60, 0x64, 0x66, 0x67, 0x68, 0x70, 0x74, 0x7F, 0x85, 0xFF}) {
        Bytes wire = hex("00 00000000 00 00 000000");
        wire[0] = type;
        EXPECT_EQ(decode_error(wire), DecodeError::UnknownMessageType) << int(type);
    }
}

TEST(MessageCommand, DecodeErrorsMapToTheParameterAReaderWouldReport) {
    // Table 6.2-2: bError = offset of the rejected field; 00 = command not supported.
    EXPECT_EQ(bad_parameter_offset(DecodeError::BadPowerSelect), 7);
    EXPECT_EQ(bad_parameter_offset(DecodeError::BadProtocolNum), 7);
    EXPECT_EQ(bad_parameter_offset(DecodeError::Truncated), 1);
    EXPECT_EQ(bad_parameter_offset(DecodeError::BadPinOperation), 10);
    EXPECT_EQ(bad_parameter_offset(DecodeError::BadTcck), 11);
    EXPECT_EQ(bad_parameter_offset(DecodeError::BadClockStop), 14);
    EXPECT_EQ(bad_parameter_offset(DecodeError::BadIfsc), 15);
    EXPECT_EQ(bad_parameter_offset(DecodeError::UnknownMessageType), 0);
}

}  // namespace
}  // namespace ccidkit::ccid

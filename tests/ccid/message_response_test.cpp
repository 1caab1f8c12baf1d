// RDR_to_PC bulk messages (CCID Rev 1.1 section 6.2): byte layouts, bStatus decoding,
// round trips and malformed input.
#include <gtest/gtest.h>

#include <set>

#include "ccid/message_framing.h"
#include "ccid/message_responses.h"

namespace ccidkit::ccid {
namespace {

constexpr std::size_t kMax = 65544 + 10;

Bytes hex(std::string_view text) {
    auto bytes = from_hex(text);
    EXPECT_TRUE(bytes.has_value()) << text;
    return bytes.value_or(Bytes{});
}

template <class T>
T decode_as(const Bytes& message) {
    auto decoded = decode_response(message, kMax);
    EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : to_string(decoded.error()));
    if (!decoded || !std::holds_alternative<T>(*decoded)) {
        ADD_FAILURE() << "decoded to another message type";
        return T{};
    }
    return std::get<T>(*decoded);
}

// --- Byte layouts checked by hand against 6.2 ---------------------------------------------

TEST(MessageResponse, DataBlockWithAtr) {
    // 80h, dwLength 4, bSlot 0, bSeq 7, bStatus 00 (active, ok), bError 00, bChainParameter 00.
    const Bytes wire = hex("80 04000000 00 07 00 00 00 3B021450");
    const auto m = decode_as<rdr_to_pc::DataBlock>(wire);
    EXPECT_EQ(m.bSeq, 7);
    EXPECT_EQ(m.status.icc(), IccStatus::PresentActive);
    EXPECT_EQ(m.status.command(), CommandStatus::Ok);
    EXPECT_TRUE(m.status.ok());
    EXPECT_EQ(m.status.error(), std::nullopt);
    EXPECT_EQ(m.bChainParameter, chain::kBeginsAndEnds);
    EXPECT_EQ(m.abData, hex("3B 02 14 50"));
    EXPECT_EQ(encode(m), wire);
}

TEST(MessageResponse, DataBlockCardMute) {
    // bStatus 41h: bmICCStatus 1 (present, inactive), bmCommandStatus 1 (failed); bError FEh.
    const auto m = decode_as<rdr_to_pc::DataBlock>(hex("80 00000000 00 07 41 FE 00"));
    EXPECT_EQ(m.status.icc(), IccStatus::PresentInactive);
    EXPECT_EQ(m.status.command(), CommandStatus::Failed);
    ASSERT_TRUE(m.status.error().has_value());
    EXPECT_EQ(m.status.error()->kind, SlotErrorKind::IccMute);
    EXPECT_EQ(m.status.time_extension_multiplier(), std::nullopt);
}

TEST(MessageResponse, DataBlockTimeExtension) {
    // bStatus 80h: bmCommandStatus 2; bError carries the waiting time multiplier.
    const auto m = decode_as<rdr_to_pc::DataBlock>(hex("80 00000000 00 07 80 05 00"));
    EXPECT_EQ(m.status.command(), CommandStatus::TimeExtension);
    EXPECT_EQ(m.status.time_extension_multiplier(), 5);
    EXPECT_EQ(m.status.error(), std::nullopt);
    EXPECT_FALSE(m.status.ok());
}

TEST(MessageResponse, DataBlockChainParameter) {
    const auto m = decode_as<rdr_to_pc::DataBlock>(hex("80 01000000 00 01 00 00 01 AA"));
    EXPECT_EQ(m.bChainParameter, chain::kBegins);
    EXPECT_EQ(decode_as<rdr_to_pc::DataBlock>(hex("80 00000000 00 01 00 00 10")).bChainParameter,
              chain::kEmptyContinue);
}

TEST(MessageResponse, SlotStatusNoCard) {
    // bStatus 02h: no card, command ok; bClockStatus 00 running.
    const Bytes wire = hex("81 00000000 01 02 02 00 00");
    const auto m = decode_as<rdr_to_pc::SlotStatus>(wire);
    EXPECT_EQ(m.bSlot, 1);
    EXPECT_EQ(m.status.icc(), IccStatus::Absent);
    EXPECT_TRUE(m.status.ok());
    EXPECT_EQ(m.clock_status(), ClockStatus::Running);
    EXPECT_EQ(encode(m), wire);
}

TEST(MessageResponse, SlotStatusClockStates) {
    EXPECT_EQ(decode_as<rdr_to_pc::SlotStatus>(hex("81 00000000 00 00 00 00 01")).clock_status(),
              ClockStatus::StoppedLow);
    EXPECT_EQ(decode_as<rdr_to_pc::SlotStatus>(hex("81 00000000 00 00 00 00 02")).clock_status(),
              ClockStatus::StoppedHigh);
    EXPECT_EQ(decode_as<rdr_to_pc::SlotStatus>(hex("81 00000000 00 00 00 00 03")).clock_status(),
              ClockStatus::StoppedUnknown);
    // Undefined values are kept raw rather than rejected.
    EXPECT_EQ(decode_as<rdr_to_pc::SlotStatus>(hex("81 00000000 00 00 00 00 09")).bClockStatus, 9);
}

TEST(MessageResponse, ParametersT0) {
    // 82h, dwLength 5, bProtocolNum 0, Table 6.1-3 structure.
    const Bytes wire = hex("82 05000000 00 03 00 00 00 1100000A00");
    const auto m = decode_as<rdr_to_pc::Parameters>(wire);
    EXPECT_EQ(m.bProtocolNum, 0);
    const auto params = m.parameters();
    ASSERT_TRUE(params.has_value());
    EXPECT_EQ(*params, ProtocolParameters{T0Parameters{}});
    EXPECT_EQ(encode(rdr_to_pc::make_parameters(0, 3, Status{}, T0Parameters{})), wire);
}

TEST(MessageResponse, ParametersOfAFailedCommandMayBeEmpty) {
    const auto m = decode_as<rdr_to_pc::Parameters>(hex("82 00000000 00 03 40 07 00"));
    EXPECT_EQ(m.status.error()->kind, SlotErrorKind::BadParameter);
    EXPECT_EQ(m.parameters().error(), DecodeError::BadProtocolDataLength);
}

TEST(MessageResponse, ParametersWithBadStructureDecodesButReportsIt) {
    const auto m = decode_as<rdr_to_pc::Parameters>(hex("82 07000000 00 03 00 00 01 11 10 00 4D 00 00 00"));
    EXPECT_EQ(m.parameters().error(), DecodeError::BadIfsc);
    const auto other = decode_as<rdr_to_pc::Parameters>(hex("82 00000000 00 03 00 00 05"));
    EXPECT_EQ(other.parameters().error(), DecodeError::BadProtocolNum);
}

TEST(MessageResponse, EscapeLayout) {
    const Bytes wire = hex("83 02000000 00 04 00 00 00 AABB");
    const auto m = decode_as<rdr_to_pc::Escape>(wire);
    EXPECT_EQ(m.abData, hex("AA BB"));
    EXPECT_EQ(encode(m), wire);
}

TEST(MessageResponse, DataRateAndClockFrequencyLayout) {
    // dwClockFrequency 4000 kHz = 0FA0h, dwDataRate 9600 bps = 2580h.
    const Bytes wire = hex("84 08000000 00 05 00 00 00 A00F0000 80250000");
    const auto m = decode_as<rdr_to_pc::DataRateAndClockFrequency>(wire);
    EXPECT_EQ(m.dwClockFrequency, 4000u);
    EXPECT_EQ(m.dwDataRate, 9600u);
    EXPECT_EQ(encode(m), wire);
}

TEST(MessageResponse, DataRateAndClockFrequencyLengthRules) {
    const auto failed = decode_as<rdr_to_pc::DataRateAndClockFrequency>(hex("84 00000000 00 05 40 00 00"));
    EXPECT_EQ(failed.dwClockFrequency, 0u);
    EXPECT_EQ(decode_response(hex("84 00000000 00 05 00 00 00"), kMax).error(), DecodeError::BadPayloadLength);
    EXPECT_EQ(decode_response(hex("84 04000000 00 05 40 00 00 00000000"), kMax).error(),
              DecodeError::BadPayloadLength);
}

TEST(MessageResponse, SlotStatusMustNotCarryData) {
    EXPECT_EQ(decode_response(hex("81 01000000 00 00 00 00 00 00"), kMax).error(), DecodeError::PayloadNotEmpty);
}

TEST(MessageResponse, CommandsAreNotResponses) {
    EXPECT_EQ(decode_response(hex("62 00000000 00 00 00 0000"), kMax).error(), DecodeError::UnexpectedMessageType);
}

// --- bStatus ------------------------------------------------------------------------------

TEST(MessageResponse, EveryStatusCombinationRoundTrips) {
    for (unsigned icc = 0; icc < 4; ++icc) {
        for (unsigned cmd = 0; cmd < 4; ++cmd) {
            const auto s = Status::make(static_cast<IccStatus>(icc), static_cast<CommandStatus>(cmd), 0x12);
            EXPECT_EQ(s.bStatus, icc | (cmd << 6));
            EXPECT_EQ(static_cast<unsigned>(s.icc()), icc);
            EXPECT_EQ(static_cast<unsigned>(s.command()), cmd);
            EXPECT_EQ(s.error().has_value(), cmd == 1);
            EXPECT_EQ(s.time_extension_multiplier().has_value(), cmd == 2);
        }
    }
}

TEST(MessageResponse, StatusRfuBitsDoNotLeakIntoFields) {
    const Status s{0x3C | 0x02 | 0x40, 0xF6};  // RFU bits 2-5 all set
    EXPECT_EQ(s.icc(), IccStatus::Absent);
    EXPECT_EQ(s.command(), CommandStatus::Failed);
    EXPECT_EQ(s.error()->kind, SlotErrorKind::IccProtocolNotSupported);
}

TEST(MessageResponse, StatusTextsAreDistinct) {
    std::set<std::string_view> texts;
    for (unsigned v = 0; v < 4; ++v) {
        texts.insert(to_string(static_cast<IccStatus>(v)));
        texts.insert(to_string(static_cast<CommandStatus>(v)));
        texts.insert(to_string(static_cast<ClockStatus>(v)));
    }
    EXPECT_EQ(texts.size(), 12u);
}

// --- Round trips ----------------------------------------------------------------------------

TEST(MessageResponse, EveryMessageRoundTrips) {
    const Status failed = Status::make(IccStatus::PresentActive, CommandStatus::Failed, 0xFB);
    const Status extension = Status::make(IccStatus::PresentActive, CommandStatus::TimeExtension, 3);
    const std::vector<Response> samples = {
        rdr_to_pc::DataBlock{0, 1, {}, chain::kBeginsAndEnds, hex("90 00")},
        rdr_to_pc::DataBlock{2, 2, failed, 0, {}},
        rdr_to_pc::DataBlock{0, 3, extension, 0, {}},
        rdr_to_pc::DataBlock{0, 4, {}, chain::kContinues, Bytes(1000, 0x11)},
        rdr_to_pc::SlotStatus{0, 5, Status::make(IccStatus::Absent, CommandStatus::Ok), 0},
        rdr_to_pc::SlotStatus{0, 6, Status::make(IccStatus::PresentInactive, CommandStatus::Ok), 1},
        rdr_to_pc::make_parameters(0, 7, {}, T0Parameters{}),
        rdr_to_pc::make_parameters(0, 8, {}, T1Parameters{0x18, 0x11, 0xFF, 0x75, 0x02, 0xFE, 0x01}),
        rdr_to_pc::Parameters{0, 9, failed, 0, {}},
        rdr_to_pc::Escape{0, 10, {}, hex("01 02 03")},
        rdr_to_pc::Escape{0, 11, failed, {}},
        rdr_to_pc::DataRateAndClockFrequency{0, 12, {}, 4800, 12903},
    };
    std::set<MessageType> types;
    for (const auto& response : samples) {
        const Bytes wire = encode(response);
        EXPECT_EQ(wire[0], static_cast<std::uint8_t>(message_type(response)));
        EXPECT_EQ(load_le32(&wire[1]), wire.size() - kHeaderSize);
        EXPECT_EQ(wire[5], slot_of(response));
        EXPECT_EQ(wire[6], seq_of(response));
        EXPECT_EQ(wire[7], status_of(response).bStatus);
        EXPECT_EQ(wire[8], status_of(response).bError);
        auto decoded = decode_response(wire, kMax);
        ASSERT_TRUE(decoded.has_value()) << to_string(decoded.error());
        EXPECT_EQ(*decoded, response) << to_hex(wire);
        types.insert(message_type(response));
    }
    EXPECT_EQ(types.size(), 5u) << "every RDR_to_PC bulk message type is covered";
}

}  // namespace
}  // namespace ccidkit::ccid

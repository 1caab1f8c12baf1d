// One-line trace rendering of CCID messages, including garbage.
#include <gtest/gtest.h>

#include <random>

#include "ccid/message_commands.h"
#include "ccid/message_interrupts.h"
#include "ccid/message_responses.h"
#include "ccid/message_trace.h"

namespace ccidkit::ccid {
namespace {

Bytes hex(std::string_view text) {
    auto bytes = from_hex(text);
    EXPECT_TRUE(bytes.has_value()) << text;
    return bytes.value_or(Bytes{});
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(MessageTrace, XfrBlockLine) {
    EXPECT_EQ(trace_message(encode(pc_to_rdr::XfrBlock{0, 3, 0, 0, hex("00 A4 04 00 00")})),
              "PC_to_RDR_XfrBlock slot=0 seq=3 bBWI=0 wLevel=0000 len=5 data=00 A4 04 00 00");
}

TEST(MessageTrace, DataBlockLines) {
    EXPECT_EQ(trace_message(hex("80 02000000 00 03 00 00 00 9000")),
              "RDR_to_PC_DataBlock slot=0 seq=3 status=00[active,ok] error=00 chain=00 len=2 data=90 00");
    const std::string mute = trace_message(hex("80 00000000 01 04 41 FE 00"));
    EXPECT_TRUE(contains(mute, "slot=1 seq=4 status=41[inactive,failed]")) << mute;
    EXPECT_TRUE(contains(mute, "ICC_MUTE")) << mute;
    const std::string wtx = trace_message(hex("80 00000000 00 05 80 05 00"));
    EXPECT_TRUE(contains(wtx, "time-extension x5")) << wtx;
    const std::string bad_param = trace_message(hex("80 00000000 00 05 42 07 00"));
    EXPECT_TRUE(contains(bad_param, "absent,failed")) << bad_param;
    EXPECT_TRUE(contains(bad_param, "offset 7")) << bad_param;
}

TEST(MessageTrace, EveryCommandType) {
    const std::vector<std::pair<Command, std::string_view>> cases = {
        {pc_to_rdr::IccPowerOn{0, 1, PowerSelect::V5_0}, "bPowerSelect=1(5.0 V)"},
        {pc_to_rdr::IccPowerOff{0, 2}, ""},
        {pc_to_rdr::GetSlotStatus{0, 3}, ""},
        {pc_to_rdr::XfrBlock{0, 4, 1, 0x0010, {}}, "bBWI=1 wLevel=0010 len=0"},
        {pc_to_rdr::GetParameters{0, 5}, ""},
        {pc_to_rdr::ResetParameters{0, 6}, ""},
        {pc_to_rdr::SetParameters{0, 7, T0Parameters{}}, "protocol=T=0 bmFindexDindex=11 bmTCCKST0=00"},
        {pc_to_rdr::SetParameters{0, 8, T1Parameters{}}, "protocol=T=1 bmFindexDindex=11 bmTCCKST1=10"},
        {pc_to_rdr::Escape{0, 9, hex("AB")}, "len=1 data=AB"},
        {pc_to_rdr::IccClock{0, 10, ClockCommand::Stop}, "bClockCommand=1(stop clock)"},
        {pc_to_rdr::T0Apdu{0, 11, 3, 0x80, 0xA0}, "bmChanges=03 bClassGetResponse=80 bClassEnvelope=A0"},
        {pc_to_rdr::Secure{0, 12, 0, 0, hex("01 00")}, "bPINOperation=1(PIN modification) len=2"},
        {pc_to_rdr::Mechanical{0, 13, MechanicalFunction::Eject}, "bFunction=2(eject card)"},
        {pc_to_rdr::Abort{0, 14}, ""},
        {pc_to_rdr::SetDataRateAndClockFrequency{0, 15, 4000, 10753}, "clock=4000kHz rate=10753bps"},
    };
    for (const auto& [command, detail] : cases) {
        const std::string line = trace_message(encode(command));
        const std::string head =
            std::string(message_type_name(message_type(command))) + " slot=0 seq=" + std::to_string(seq_of(command));
        EXPECT_EQ(line.rfind(head, 0), 0u) << line;
        EXPECT_TRUE(contains(line, detail)) << line;
        EXPECT_FALSE(contains(line, "malformed")) << line;
    }
}

TEST(MessageTrace, EveryResponseType) {
    const std::vector<std::pair<Response, std::string_view>> cases = {
        {rdr_to_pc::DataBlock{0, 1, {}, 1, hex("3B 00")}, "chain=01 len=2 data=3B 00"},
        {rdr_to_pc::SlotStatus{0, 2, Status::make(IccStatus::Absent, CommandStatus::Ok), 1},
         "status=02[absent,ok] error=00 bClockStatus=01(clock stopped in state L)"},
        {rdr_to_pc::make_parameters(0, 3, {}, T1Parameters{}), "protocol=T=1 bmFindexDindex=11 bmTCCKST1=10"},
        {rdr_to_pc::Parameters{0, 4, {}, 7, hex("01 02")}, "bProtocolNum=07 len=2 data=01 02"},
        {rdr_to_pc::Escape{0, 5, {}, hex("CC")}, "len=1 data=CC"},
        {rdr_to_pc::DataRateAndClockFrequency{0, 6, {}, 4000, 9600}, "clock=4000kHz rate=9600bps"},
    };
    for (const auto& [response, detail] : cases) {
        const std::string line = trace_message(encode(response));
        EXPECT_EQ(line.rfind(std::string(message_type_name(message_type(response))), 0), 0u) << line;
        EXPECT_TRUE(contains(line, "seq=" + std::to_string(seq_of(response)))) << line;
        EXPECT_TRUE(contains(line, detail)) << line;
    }
}

TEST(MessageTrace, InterruptMessages) {
    EXPECT_EQ(trace_message(hex("50 0D")),
              "RDR_to_PC_NotifySlotChange slot0=present slot1=present(changed) slot2=absent slot3=absent");
    EXPECT_EQ(trace_message(hex("51 00 07 01")),
              "RDR_to_PC_HardwareError slot=0 seq=7 bHardwareErrorCode=01(overcurrent)");
    EXPECT_TRUE(contains(trace_message(hex("51 00 07 09")), "undefined hardware error"));
    EXPECT_TRUE(contains(trace_message(hex("50")), "[malformed: RDR_to_PC_NotifySlotChange without slot bitmap]"));
}

TEST(MessageTrace, MalformedAndGarbage) {
    EXPECT_EQ(trace_message({}), "empty CCID message");
    EXPECT_EQ(trace_message(hex("64 01 02")), "unknown CCID message type 64 len=3 data=64 01 02");
    const std::string short_header = trace_message(hex("6F 05 00"));
    EXPECT_TRUE(contains(short_header, "PC_to_RDR_XfrBlock len=3")) << short_header;
    EXPECT_TRUE(contains(short_header, "[malformed: CCID message shorter than its header]")) << short_header;
    const std::string lying = trace_message(hex("6F FFFFFFFF 00 09 00 0000 00A4"));
    EXPECT_TRUE(contains(lying, "slot=0 seq=9 dwLength=4294967295")) << lying;
    EXPECT_TRUE(contains(lying, "len=2 data=00 A4")) << lying;
    EXPECT_TRUE(contains(lying, "truncated")) << lying;
    const std::string bad_value = trace_message(hex("62 00000000 00 01 07 0000"));
    EXPECT_TRUE(contains(bad_value, "[malformed: invalid bPowerSelect")) << bad_value;
}

TEST(MessageTrace, LongDataIsCut) {
    const std::string line = trace_message(encode(pc_to_rdr::XfrBlock{0, 0, 0, 0, Bytes(100, 0xEE)}), 4);
    EXPECT_TRUE(contains(line, "len=100 data=EE EE EE EE ...(+96)")) << line;
}

TEST(MessageTrace, RandomBytesAlwaysGiveOneLine) {
    std::mt19937 rng(2024);
    const std::uint8_t interesting[] = {0x50, 0x51, 0x61, 0x62, 0x69, 0x6F, 0x73, 0x80, 0x81, 0x82, 0x84};
    for (int i = 0; i < 3000; ++i) {
        Bytes junk(rng() % 40);
        for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
        if (!junk.empty() && i % 2 == 0) junk[0] = interesting[rng() % std::size(interesting)];
        if (junk.size() >= 5 && i % 3 == 0) store_le32(&junk[1], static_cast<std::uint32_t>(junk.size() - 10));
        const std::string line = trace_message(junk);
        EXPECT_FALSE(line.empty());
        EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    }
}

}  // namespace
}  // namespace ccidkit::ccid

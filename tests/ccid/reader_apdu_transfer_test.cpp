// Exchange-level transfers of apdu_transfer.h driven through a scripted XfrFunction, so that
// the exact XfrBlock sequence (wLevelParameter, bBWI, part sizes) can be checked message by
// message. The same code runs against ReaderSim in slot_transmit_test.cpp.
#include "ccid/apdu_transfer.h"

#include <gtest/gtest.h>

#include <deque>

#include "ccid/message_types.h"
#include "protocol/t1_block.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

struct Sent {
    std::uint8_t bBWI = 0;
    std::uint16_t wLevel = 0;
    Bytes data;
    Millis timeout{0};
};

// Records every XfrBlock and answers from a queue of scripted replies.
struct Script {
    std::vector<Sent> sent;
    std::deque<std::expected<XfrReply, ReaderError>> replies;

    XfrFunction fn() {
        return [this](const XfrRequest& r) -> std::expected<XfrReply, ReaderError> {
            sent.push_back(Sent{r.bBWI, r.wLevelParameter, Bytes(r.data.begin(), r.data.end()), r.timeout});
            if (replies.empty()) return std::unexpected(make_error(ReaderErrc::Timeout, "script exhausted"));
            auto next = std::move(replies.front());
            replies.pop_front();
            return next;
        };
    }
    void reply(Bytes data, std::uint8_t chain = 0) { replies.push_back(XfrReply{chain, std::move(data)}); }
    void fail(ReaderError e) { replies.push_back(std::unexpected(std::move(e))); }
};

Bytes filled(std::size_t n, std::uint8_t seed = 0) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i);
    return b;
}

Bytes extended_case3(std::size_t nc) {
    Bytes a{0x80, 0x10, 0x00, 0x00, 0x00, static_cast<std::uint8_t>(nc >> 8), static_cast<std::uint8_t>(nc)};
    const Bytes data = filled(nc, 3);
    a.insert(a.end(), data.begin(), data.end());
    return a;
}

TransferSetup setup_271() {
    TransferSetup s;
    s.max_message_length = 271;
    return s;
}

ReaderError mute() {
    return from_failed_status(Status::make(IccStatus::PresentActive, CommandStatus::Failed, 0xFE),
                              MessageType::PcToRdrXfrBlock);
}

Bytes t1_block(const proto::T1Block& b) { return *proto::encode(b, proto::T1Edc::Lrc); }

}  // namespace

TEST(ExtendedApduTransfer, CommandIsChainedInMessageSizedParts) {
    Script script;
    const Bytes apdu = extended_case3(600);  // 607 bytes: 261 + 261 + 85
    script.reply({}, chain::kEmptyContinue);
    script.reply({}, chain::kEmptyContinue);
    script.reply({0x90, 0x00});
    auto r = transfer_extended_apdu(apdu, setup_271(), script.fn());
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, (Bytes{0x90, 0x00}));
    ASSERT_EQ(script.sent.size(), 3u);
    EXPECT_EQ(script.sent[0].wLevel, chain::kBegins);
    EXPECT_EQ(script.sent[1].wLevel, chain::kContinues);
    EXPECT_EQ(script.sent[2].wLevel, chain::kEnds);
    EXPECT_EQ(script.sent[0].data.size(), 261u);
    EXPECT_EQ(script.sent[1].data.size(), 261u);
    EXPECT_EQ(script.sent[2].data.size(), 85u);
    Bytes joined;
    for (const auto& s : script.sent) joined.insert(joined.end(), s.data.begin(), s.data.end());
    EXPECT_EQ(joined, apdu);
}

TEST(ExtendedApduTransfer, ResponseIsCollectedWithEmptyContinuations) {
    Script script;
    script.reply(filled(261, 0), chain::kBegins);
    script.reply(filled(261, 1), chain::kContinues);
    script.reply(filled(10, 2), chain::kEnds);
    auto r = transfer_extended_apdu(Bytes{0x80, 0x12, 0x00, 0x00, 0x00, 0x02, 0x0E}, setup_271(), script.fn());
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(r->size(), 532u);
    ASSERT_EQ(script.sent.size(), 3u);
    EXPECT_EQ(script.sent[0].wLevel, chain::kBeginsAndEnds);
    for (std::size_t i = 1; i < 3; ++i) {
        EXPECT_EQ(script.sent[i].wLevel, chain::kEmptyContinue);
        EXPECT_TRUE(script.sent[i].data.empty());
    }
}

TEST(ExtendedApduTransfer, ReaderAnsweringTooEarlyIsAnError) {
    Script script;
    script.reply({0x90, 0x00});  // answered the first part as if it were the whole APDU
    auto r = transfer_extended_apdu(extended_case3(600), setup_271(), script.fn());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::MalformedReply);
}

TEST(ExtendedApduTransfer, ResponseIsBounded) {
    Script script;
    script.reply(filled(261), chain::kBegins);
    for (int i = 0; i < 300; ++i) script.reply(filled(261), chain::kContinues);
    auto r = transfer_extended_apdu(Bytes{0x80, 0x12, 0x00, 0x00}, setup_271(), script.fn());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::ResponseTooLong);
    EXPECT_LE(script.sent.size(), 65538u / 261 + 2);
}

TEST(ExtendedApduTransfer, EndlessEmptyPartsAreBounded) {
    Script script;
    script.reply({}, chain::kBegins);
    for (int i = 0; i < 100; ++i) script.reply({}, chain::kContinues);
    auto r = transfer_extended_apdu(Bytes{0x80, 0x12, 0x00, 0x00}, setup_271(), script.fn());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::MalformedReply);
    EXPECT_LT(script.sent.size(), 40u);
}

TEST(ShortApduTransfer, RefusesMoreThan261Bytes) {
    Script script;
    TransferSetup big = setup_271();
    big.max_message_length = 65544 + 10;
    Bytes apdu = extended_case3(255);  // 262 bytes
    auto r = transfer_short_apdu(apdu, big, script.fn());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::ApduTooLong);
    EXPECT_NE(describe(r.error()).find("262-byte"), std::string::npos);
    EXPECT_TRUE(script.sent.empty());

    Bytes max_short{0x80, 0x10, 0x00, 0x00, 0xFF};
    const Bytes data = filled(255);
    max_short.insert(max_short.end(), data.begin(), data.end());
    max_short.push_back(0x00);  // 261 bytes
    script.reply({0x90, 0x00});
    EXPECT_TRUE(transfer_short_apdu(max_short, setup_271(), script.fn()));
    ASSERT_EQ(script.sent.size(), 1u);
    EXPECT_EQ(script.sent[0].data, max_short);
    EXPECT_EQ(script.sent[0].wLevel, 0);
}

TEST(T1TpduTransfer, MuteCardIsRecoveredByTheEngine) {
    proto::T1Engine engine;
    Script script;
    script.fail(mute());  // the reader saw BWT expire: the engine sends R(0)
    // The card answers the retransmitted request with the response I-block.
    script.reply(t1_block(proto::T1Block::i_block(0, 0, false, Bytes{0x90, 0x00})));
    TransferSetup s = setup_271();
    s.timing.protocol = 1;
    auto r = transfer_t1_tpdu(Bytes{0x00, 0xA4, 0x04, 0x00}, engine, s, script.fn());
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, (Bytes{0x90, 0x00}));
    ASSERT_EQ(script.sent.size(), 2u);
    auto second = proto::decode(script.sent[1].data, proto::T1Edc::Lrc);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->type(), proto::T1BlockType::R);
}

TEST(T1TpduTransfer, WtxGoesIntoBbwiAndStretchesTheWait) {
    proto::T1Engine engine;
    Script script;
    script.reply(t1_block(proto::T1Block::s_block(0, proto::T1SKind::Wtx, false, 5)));
    script.reply(t1_block(proto::T1Block::i_block(0, 0, false, Bytes{0x90, 0x00})));
    TransferSetup s = setup_271();
    s.timing.protocol = 1;
    auto r = transfer_t1_tpdu(Bytes{0x00, 0xB0, 0x00, 0x00, 0x02}, engine, s, script.fn());
    ASSERT_TRUE(r) << describe(r.error());
    ASSERT_EQ(script.sent.size(), 2u);
    EXPECT_EQ(script.sent[0].bBWI, 0);
    EXPECT_EQ(script.sent[1].bBWI, 5);  // the S(WTX response) block waits 5 BWT
    EXPECT_GT(script.sent[1].timeout, script.sent[0].timeout);
}

TEST(T1TpduTransfer, CardRemovalEndsTheExchange) {
    proto::T1Engine engine;
    Script script;
    script.fail(from_failed_status(Status::make(IccStatus::Absent, CommandStatus::Failed, 0xFE),
                                   MessageType::PcToRdrXfrBlock));
    TransferSetup s = setup_271();
    s.timing.protocol = 1;
    auto r = transfer_t1_tpdu(Bytes{0x00, 0xA4, 0x04, 0x00}, engine, s, script.fn());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::CardRemoved);
    EXPECT_EQ(script.sent.size(), 1u);
    // The reader failed, not the card: the engine takes the next APDU.
    EXPECT_EQ(engine.state(), proto::T1State::Idle);
    script.reply(t1_block(proto::T1Block::i_block(0, 0, false, Bytes{0x90, 0x00})));
    auto next = transfer_t1_tpdu(Bytes{0x00, 0xA4, 0x04, 0x00}, engine, s, script.fn());
    ASSERT_TRUE(next) << describe(next.error());
    EXPECT_EQ(*next, (Bytes{0x90, 0x00}));
}

TEST(T0TpduTransfer, GetResponseIsLeftToTheCallerByDefault) {
    Script script;
    script.reply({0x61, 0x10});
    proto::T0ExchangeOptions off;
    off.auto_get_response = false;
    proto::T0Exchange engine(off);
    auto r = transfer_t0_tpdu(Bytes{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00}, engine, setup_271(), script.fn());
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(*r, (Bytes{0x61, 0x10}));
    EXPECT_EQ(script.sent.size(), 1u);
}

TEST(T0TpduTransfer, MuteCardIsAnError) {
    Script script;
    script.fail(mute());
    proto::T0Exchange engine;
    auto r = transfer_t0_tpdu(Bytes{0x00, 0xB0, 0x00, 0x00, 0x10}, engine, setup_271(), script.fn());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::CardMute);
    EXPECT_EQ(engine.state(), proto::T0Exchange::State::Idle);
}

TEST(ApduTransfer, ExpectedResponseSizeFromLe) {
    EXPECT_EQ(expected_response_size(Bytes{0x00, 0xB0, 0x00, 0x00, 0x00}, 7), 258u);
    EXPECT_EQ(expected_response_size(Bytes{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00}, 7), 65538u);
    EXPECT_EQ(expected_response_size(Bytes{0x00, 0xA4, 0x04, 0x00}, 7), 2u);
    EXPECT_EQ(expected_response_size(Bytes{0x00, 0xA4, 0x04, 0x00, 0x05}, 99), 7u);        // Le = 5
    EXPECT_EQ(expected_response_size(Bytes{0x00, 0xA4, 0x04, 0x00, 0x05, 0x01}, 99), 99u);  // Lc 5, 1 byte
}

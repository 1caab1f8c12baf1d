// The simulated card's T=1 side, driven with hand-written host blocks: Annex A from the
// card's point of view, its own S-block requests, error rules 7.1-7.3 and fault injection.
#include "sim/card/t1_card.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string_view>

using namespace ccidkit;
using namespace ccidkit::sim;
using proto::T1Edc;

namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

// Answers every command with a fixed response and remembers what it saw.
class FixedApp : public CardApplication {
public:
    explicit FixedApp(Bytes response) : response_(std::move(response)) {}
    Bytes process(ByteView command) override {
        commands.emplace_back(command.begin(), command.end());
        return response_;
    }
    void reset() override { ++resets; }
    std::vector<Bytes> commands;
    int resets = 0;

private:
    Bytes response_;
};

constexpr std::string_view kD = "00 00 07 75 74 77 74 75 90 00 E0";
constexpr std::string_view kE = "00 00 0B 00 A4 04 00 05 75 36 41 70 70 05 A9";
const Bytes kResponseD = hex("75 74 77 74 75 90 00");

// The card's answer to `block`, as hex ("" when it stays silent).
std::string answer(T1Card& card, std::string_view block) {
    auto out = card.handle_block(hex(block));
    return out ? to_hex(*out) : std::string();
}

std::string h(std::string_view s) { return to_hex(hex(s)); }

}  // namespace

TEST(T1Card, AnswersACommand) {
    FixedApp app(kResponseD);
    T1Card card(app);
    EXPECT_EQ(answer(card, kE), h(kD));
    ASSERT_EQ(app.commands.size(), 1u);
    EXPECT_EQ(app.commands[0], hex("00 A4 04 00 05 75 36 41 70 70 05"));
    EXPECT_EQ(card.last_command(), app.commands[0]);
    // Next command is expected with N(S) = 1 and answered with N(S) = 1.
    EXPECT_EQ(answer(card, "00 40 0B 00 A4 04 00 05 75 36 41 70 70 05 E9"),
              h("00 40 07 75 74 77 74 75 90 00 A0"));
}

TEST(T1Card, ReceivesAChainWithItsIfsc) {
    FixedApp app(kResponseD);
    T1CardConfig cfg;
    cfg.ifsc = 10;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, "00 20 0A 00 A4 04 00 16 75 36 41 70 70 9E"), h("00 90 00 90"));
    EXPECT_EQ(answer(card, "00 60 0A FF FF 00 00 00 00 00 FF FF 00 6A"), h("00 80 00 80"));
    EXPECT_EQ(answer(card, "00 00 08 00 FF 00 FF 00 FF 00 05 F2"), h(kD));
    ASSERT_EQ(app.commands.size(), 1u);
    EXPECT_EQ(app.commands[0].size(), 28u);
}

TEST(T1Card, SendsAChainWithTheHostsIfsd) {
    FixedApp app(kResponseD);
    T1Card card(app);
    EXPECT_EQ(answer(card, "00 C1 01 05 C5"), h("00 E1 01 05 E5"));
    EXPECT_EQ(card.ifsd(), 5);
    EXPECT_EQ(answer(card, kE), h("00 20 05 75 74 77 74 75 52"));
    EXPECT_EQ(answer(card, "00 90 00 90"), h("00 40 02 90 00 D2"));
}

TEST(T1Card, AsksForWaitingTimeBeforeAnswering) {
    FixedApp app(kResponseD);
    T1CardConfig cfg;
    cfg.wtx_requests = 2;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, kE), h("00 C3 01 02 C0"));
    EXPECT_EQ(answer(card, "00 E3 01 02 E0"), h("00 C3 01 02 C0"));
    EXPECT_EQ(answer(card, "00 82 00 82"), h("00 C3 01 02 C0"));  // Rule 7.3
    EXPECT_EQ(answer(card, "00 E3 01 02 E0"), h(kD));
}

TEST(T1Card, ChangesItsIfsc) {
    FixedApp app(kResponseD);
    T1CardConfig cfg;
    cfg.request_ifsc = 16;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, kE), h("00 C1 01 10 D0"));
    EXPECT_EQ(answer(card, "00 E1 01 10 F0"), h(kD));
    EXPECT_EQ(card.ifsc(), 16);
    // Only once unless asked for every command.
    EXPECT_EQ(answer(card, "00 40 0B 00 A4 04 00 05 75 36 41 70 70 05 E9"),
              h("00 40 07 75 74 77 74 75 90 00 A0"));
}

TEST(T1Card, RejectsBlocksLongerThanItsIfsc) {
    FixedApp app(kResponseD);
    T1CardConfig cfg;
    cfg.ifsc = 10;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, kE), h("00 82 00 82"));  // 11 bytes > IFSC 10
    EXPECT_TRUE(app.commands.empty());
}

TEST(T1Card, Scenario8ReportsEdcError) {
    FixedApp app(kResponseD);
    T1Card card(app);
    EXPECT_EQ(answer(card, "00 00 0B 00 A4 04 00 05 75 36 41 70 70 05 56"), h("00 81 00 81"));
    EXPECT_EQ(answer(card, kE), h(kD));
}

TEST(T1Card, Scenario11And13FromTheCardsSide) {
    FixedApp app(kResponseD);
    T1Card card(app);
    EXPECT_EQ(answer(card, kE), h(kD));
    // The host's R(0) arrives corrupt: R(1) with EDC error (the card expects I(1) next).
    EXPECT_EQ(answer(card, "00 81 00 7E"), h("00 91 00 91"));
    // A valid R(0) asks for our I(0) again.
    EXPECT_EQ(answer(card, "00 81 00 81"), h(kD));
    EXPECT_EQ(card.stats().retransmissions, 1u);
    EXPECT_EQ(app.commands.size(), 1u);
}

TEST(T1Card, RepeatsItsRBlockWhenTheHostAsksDuringAChain) {
    FixedApp app(kResponseD);
    T1CardConfig cfg;
    cfg.ifsc = 10;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, "00 20 0A 00 A4 04 00 16 75 36 41 70 70 9E"), h("00 90 00 90"));
    EXPECT_EQ(answer(card, "00 82 00 82"), h("00 90 00 90"));  // Rule 7.2
    // The same chained block again (host missed our R): not appended twice.
    EXPECT_EQ(answer(card, "00 20 0A 00 A4 04 00 16 75 36 41 70 70 9E"), h("00 90 00 90"));
}

TEST(T1Card, Resynchronises) {
    FixedApp app(kResponseD);
    T1Card card(app);
    EXPECT_EQ(answer(card, kE), h(kD));
    EXPECT_EQ(answer(card, "00 C0 00 C0"), h("00 E0 00 E0"));
    EXPECT_EQ(card.stats().resyncs, 1u);
    EXPECT_EQ(answer(card, kE), h(kD));  // N(S) = 0 on both sides again
}

TEST(T1Card, HostAbortsTheCardsChain) {
    FixedApp app(kResponseD);
    T1Card card(app);
    EXPECT_EQ(answer(card, "00 C1 01 05 C5"), h("00 E1 01 05 E5"));
    EXPECT_EQ(answer(card, kE), h("00 20 05 75 74 77 74 75 52"));
    EXPECT_EQ(answer(card, "00 C2 00 C2"), h("00 E2 00 E2"));
    EXPECT_EQ(card.stats().aborts, 1u);
}

TEST(T1Card, AbortsItsOwnResponse) {
    FixedApp app(kResponseD);
    T1CardConfig cfg;
    cfg.abort_response_at = 1;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, kE), h("00 C2 00 C2"));
    EXPECT_EQ(answer(card, "00 82 00 82"), h("00 C2 00 C2"));  // Rule 7.3
    EXPECT_EQ(answer(card, "00 E2 00 E2"), "");               // host has the turn again
}

TEST(T1Card, EndlessChain) {
    FixedApp app(kResponseD);
    T1CardConfig cfg;
    cfg.endless_chain_inf = 3;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, kE), h("00 20 03 A5 A5 A5 86"));
    EXPECT_EQ(answer(card, "00 90 00 90"), h("00 60 03 A5 A5 A5 C6"));
    EXPECT_EQ(answer(card, "00 80 00 80"), h("00 20 03 A5 A5 A5 86"));
}

TEST(T1Card, RefusesHostWtxAndBadIfs) {
    FixedApp app(kResponseD);
    T1Card card(app);
    EXPECT_EQ(answer(card, "00 C3 01 01 C3"), h("00 82 00 82"));
    EXPECT_EQ(answer(card, "00 C1 01 00 C0"), h("00 82 00 82"));
    EXPECT_EQ(answer(card, "00 C1 01 FF 3F"), h("00 82 00 82"));
    EXPECT_EQ(card.ifsd(), 32);
}

TEST(T1Card, NadIsCheckedAndSwapped) {
    FixedApp app(hex("90 00"));
    T1CardConfig cfg;
    cfg.nad = 0x12;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, "00 00 05 00 B0 00 00 00 B5"), h("21 82 00 A3"));
    EXPECT_EQ(answer(card, "12 00 05 00 B0 00 00 00 A7"), h("21 00 02 90 00 B3"));
}

TEST(T1Card, CrcBlocks) {
    FixedApp app(hex("90 00"));
    T1CardConfig cfg;
    cfg.edc = T1Edc::Crc;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, "00 C1 01 FE 54 4E"), h("00 E1 01 FE 57 75"));
    EXPECT_EQ(answer(card, "00 C0 00 F3 99"), h("00 E0 00 D0 AA"));
    EXPECT_EQ(answer(card, "00 00 05 00 A4 04 00 05 8C 16"), h("00 00 02 90 00 9C 6D"));
}

TEST(T1Card, CommandOverflowIsAnswered6700) {
    FixedApp app(hex("90 00"));
    T1CardConfig cfg;
    cfg.ifsc = 10;
    cfg.max_command = 12;
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, "00 20 0A 00 A4 04 00 16 75 36 41 70 70 9E"), h("00 90 00 90"));
    EXPECT_EQ(answer(card, "00 60 0A FF FF 00 00 00 00 00 FF FF 00 6A"), h("00 80 00 80"));
    EXPECT_EQ(answer(card, "00 00 08 00 FF 00 FF 00 FF 00 05 F2"), h("00 00 02 67 00 65"));
    EXPECT_TRUE(app.commands.empty());
}

TEST(T1Card, ShortApplicationAnswerBecomes6F00) {
    FixedApp app(hex("90"));
    T1Card card(app);
    EXPECT_EQ(answer(card, kE), h("00 00 02 6F 00 6D"));
}

TEST(T1Card, SentFaults) {
    struct Case {
        T1FaultKind kind;
        std::string expected;
    };
    const Case cases[] = {
        {T1FaultKind::CorruptEdc, h("00 00 07 75 74 77 74 75 90 00 1F")},
        {T1FaultKind::Drop, ""},
        {T1FaultKind::Truncate, h("00 00")},
        {T1FaultKind::FlipSequence, h("00 40 07 75 74 77 74 75 90 00 A0")},
        {T1FaultKind::UnexpectedSBlock, h("00 E1 01 20 C0")},
    };
    for (const Case& c : cases) {
        FixedApp app(kResponseD);
        T1CardConfig cfg;
        cfg.faults.push_back({T1FaultWhere::Sent, 1, c.kind, 1});
        T1Card card(app, cfg);
        EXPECT_EQ(answer(card, kE), c.expected);
        // The card still knows what it really sent: R(0) gets the genuine block.
        EXPECT_EQ(answer(card, "00 82 00 82"), h(kD));
    }
}

TEST(T1Card, ReceivedFaults) {
    FixedApp app(kResponseD);
    T1CardConfig cfg;
    cfg.faults.push_back({T1FaultWhere::Received, 1, T1FaultKind::Drop, 1});
    cfg.faults.push_back({T1FaultWhere::Received, 2, T1FaultKind::CorruptEdc, 1});
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, kE), "");
    EXPECT_EQ(answer(card, kE), h("00 81 00 81"));
    EXPECT_EQ(answer(card, kE), h(kD));
    EXPECT_EQ(card.stats().blocks_received, 3u);
    EXPECT_EQ(card.stats().invalid_blocks, 1u);
}

TEST(T1Card, FaultForeverAndReset) {
    FixedApp app(kResponseD);
    T1CardConfig cfg;
    cfg.faults.push_back({T1FaultWhere::Sent, 2, T1FaultKind::Drop, kFaultForever});
    T1Card card(app, cfg);
    EXPECT_EQ(answer(card, kE), h(kD));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(answer(card, "00 82 00 82"), "");
    card.reset();
    EXPECT_EQ(app.resets, 1);
    EXPECT_EQ(card.stats().blocks_sent, 0u);
    EXPECT_EQ(answer(card, kE), h(kD));  // block counters restarted with the reset
}

TEST(T1Card, SurvivesGarbage) {
    FixedApp app(kResponseD);
    T1Card card(app);
    std::uint32_t x = 12345;
    for (int i = 0; i < 5000; ++i) {
        Bytes junk((x >> 3) % 12);
        for (auto& b : junk) {
            x = x * 1103515245u + 12345u;
            b = static_cast<std::uint8_t>(x >> 16);
        }
        x = x * 1103515245u + 12345u;
        if (!junk.empty() && (x & 1)) {  // make some of them valid-EDC blocks
            junk.resize(std::max<std::size_t>(junk.size(), 3));
            junk[2] = static_cast<std::uint8_t>(junk.size() - 3);
            proto::append_edc(junk, T1Edc::Lrc);
        }
        auto out = card.handle_block(junk);
        if (out) {
            EXPECT_GE(out->size(), 4u);
        }
    }
    EXPECT_EQ(card.stats().blocks_received, 5000u);
}

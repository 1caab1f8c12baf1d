// The simulated card's T=0 side: character-level behaviour (procedure bytes) and the
// TPDU-level results a reader reports.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "protocol/apdu.h"
#include "sim/card/apdu_app.h"
#include "sim/card/echo_app.h"
#include "sim/card/t0_card.h"

namespace ccidkit::sim {
namespace {

using proto::T0TransferError;

Bytes hex(std::string_view s) { return from_hex(s).value(); }

Bytes cat(Bytes a, ByteView b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Records the APDUs the application receives and answers from a script.
class ScriptedApp final : public CardApplication {
public:
    Bytes process(ByteView command) override {
        seen.emplace_back(command.begin(), command.end());
        return answer;
    }
    void reset() override { ++resets; }
    std::vector<Bytes> seen;
    Bytes answer = hex("90 00");
    int resets = 0;
};

// ---------------- character level ----------------

TEST(T0CardChars, OutgoingCommandAcksThenSendsDataAndStatus) {
    ScriptedApp app;
    app.answer = hex("01 02 03 90 00");
    T0Card card(app);
    EXPECT_TRUE(card.on_reader_chars(hex("00 B0 00")).empty());  // header incomplete
    EXPECT_EQ(card.on_reader_chars(hex("00 03")), hex("B0 01 02 03 90 00"));
    ASSERT_EQ(app.seen.size(), 1u);
    EXPECT_EQ(app.seen[0], hex("00 B0 00 00 03"));  // the app sees Le = P3
}

TEST(T0CardChars, IncomingCommandAcksAndCollectsData) {
    ScriptedApp app;
    T0Card card(app, T0CardOptions{.implicit_ne = 0});
    EXPECT_EQ(card.on_reader_chars(hex("00 D6 00 00 03")), hex("D6"));
    EXPECT_TRUE(card.on_reader_chars(hex("AA BB")).empty());
    EXPECT_EQ(card.on_reader_chars(hex("CC")), hex("90 00"));
    ASSERT_EQ(app.seen.size(), 1u);
    EXPECT_EQ(app.seen[0], hex("00 D6 00 00 03 AA BB CC"));  // case 3 without Le
}

TEST(T0CardChars, IncomingCommandGetsTheImplicitLe) {
    ScriptedApp app;
    T0Card card(app);  // default implicit Ne 65536: extended Le 0000
    card.on_reader_chars(hex("80 10 00 00 02"));
    card.on_reader_chars(hex("AA BB"));
    ASSERT_EQ(app.seen.size(), 1u);
    EXPECT_EQ(app.seen[0], hex("80 10 00 00 00 00 02 AA BB 00 00"));

    T0Card short_le(app, T0CardOptions{.implicit_ne = 256});
    short_le.on_reader_chars(hex("80 10 00 00 00"));  // P3 = 0: nothing to receive
    EXPECT_EQ(app.seen.back(), hex("80 10 00 00 00"));
}

TEST(T0CardChars, SingleByteAcks) {
    ScriptedApp app;
    app.answer = hex("01 02 90 00");
    T0Card card(app, T0CardOptions{.single_byte_acks = true});
    EXPECT_EQ(card.on_reader_chars(hex("00 B0 00 00 02")), hex("4F 01 4F 02 90 00"));

    T0Card in(app, T0CardOptions{.single_byte_acks = true, .implicit_ne = 0});
    app.answer = hex("90 00");
    EXPECT_EQ(in.on_reader_chars(hex("00 D6 00 00 02")), hex("29"));
    EXPECT_EQ(in.on_reader_chars(hex("AA")), hex("29"));
    EXPECT_EQ(in.on_reader_chars(hex("BB")), hex("90 00"));
}

TEST(T0CardChars, NullStormBeforeEveryProcedureByte) {
    ScriptedApp app;
    app.answer = hex("01 90 00");
    T0Card card(app, T0CardOptions{.faults = {.null_bytes = 2}});
    EXPECT_EQ(card.on_reader_chars(hex("00 B0 00 00 01")), hex("60 60 B0 01 60 60 90 00"));
    EXPECT_EQ(card.stats().null_bytes_sent, 4u);
}

TEST(T0CardChars, WrongProcedureByte) {
    ScriptedApp app;
    T0Card card(app, T0CardOptions{.faults = {.wrong_procedure_byte = true}});
    EXPECT_EQ(card.on_reader_chars(hex("00 B0 00 00 01")), hex("00"));
    EXPECT_EQ(card.on_reader_chars(hex("00 00 00 00 01")), hex("01"));  // INS 00: skip it
    EXPECT_EQ(card.on_reader_chars(hex("00 FF 00 00 01")), hex("01"));  // ~INS = 00: skip it
    EXPECT_TRUE(app.seen.empty());
}

TEST(T0CardChars, InvalidInstructionIs6D00) {
    ScriptedApp app;
    T0Card card(app);
    EXPECT_EQ(card.on_reader_chars(hex("00 65 00 00 00")), hex("6D 00"));
    EXPECT_EQ(card.on_reader_chars(hex("00 90 00 00 00")), hex("6D 00"));
    EXPECT_TRUE(app.seen.empty());
}

// ---------------- TPDU level ----------------

Bytes xfr(T0Card& card, std::string_view tpdu) {
    auto r = card.exchange_tpdu(hex(tpdu));
    EXPECT_TRUE(r) << tpdu << ": " << (r ? "" : to_string(r.error()));
    return r.value_or(Bytes{});
}

TEST(T0Card, OutgoingShortAnswerIs6CWithAvailableLength) {
    ScriptedApp app;
    app.answer = hex("01 02 03 62 82");
    T0Card card(app);
    EXPECT_EQ(xfr(card, "00 B0 00 00 05"), hex("6C 03"));
    card.options().wrong_length_as_6700 = true;
    EXPECT_EQ(xfr(card, "00 B0 00 00 05"), hex("67 00"));
    EXPECT_EQ(xfr(card, "00 B0 00 00 03"), hex("01 02 03 62 82"));
}

TEST(T0Card, OutgoingWithoutDataIsStatusOnly) {
    ScriptedApp app;
    app.answer = hex("6B 00");
    T0Card card(app);
    EXPECT_EQ(xfr(card, "00 B0 00 00 05"), hex("6B 00"));
}

TEST(T0Card, OutgoingAppAnsweringTooMuchIsCut) {
    ScriptedApp app;
    app.answer = hex("01 02 03 90 00");
    T0Card card(app);
    EXPECT_EQ(xfr(card, "00 B0 00 00 02"), hex("01 02 90 00"));
}

TEST(T0Card, IncomingResponseIsHeldBehind61) {
    ScriptedApp app;
    Bytes big(300);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i);
    app.answer = proto::make_response(big, 0x6282);
    T0Card card(app);
    EXPECT_EQ(xfr(card, "80 10 00 00 01 AA"), hex("61 00"));  // 300 >= 256
    // Less than available: data + 61 (bytes left).
    EXPECT_EQ(xfr(card, "80 C0 00 00 0A"), cat(Bytes(big.begin(), big.begin() + 10), hex("61 00")));
    EXPECT_EQ(xfr(card, "80 C0 00 00 00"),
              cat(Bytes(big.begin() + 10, big.begin() + 266), hex("61 22")));
    // More than available: 6C with the exact count, nothing consumed.
    EXPECT_EQ(xfr(card, "80 C0 00 00 40"), hex("6C 22"));
    EXPECT_EQ(xfr(card, "80 C0 00 00 22"), cat(Bytes(big.begin() + 266, big.end()), hex("62 82")));
    // Nothing pending any more.
    EXPECT_EQ(xfr(card, "80 C0 00 00 01"), hex("69 85"));
    EXPECT_EQ(card.stats().get_responses, 5u);
}

TEST(T0Card, GetResponseRules) {
    ScriptedApp app;
    app.answer = hex("AA BB 90 00");
    T0Card card(app);
    EXPECT_EQ(xfr(card, "00 C0 00 00 02"), hex("69 85"));
    EXPECT_EQ(xfr(card, "80 10 00 00 01 01"), hex("61 02"));
    EXPECT_EQ(xfr(card, "00 C0 00 01 02"), hex("6A 86"));  // P1 P2 must be 0000
    EXPECT_EQ(xfr(card, "00 C0 00 00 02"), hex("AA BB 90 00"));  // any CLA, still pending

    EXPECT_EQ(xfr(card, "80 10 00 00 01 01"), hex("61 02"));
    EXPECT_EQ(xfr(card, "80 10 00 00 01 01"), hex("61 02"));  // another command replaced it
    EXPECT_EQ(xfr(card, "00 A4 00 00 00"), hex("61 02"));
    app.answer = hex("90 00");
    EXPECT_EQ(xfr(card, "00 A4 00 00 00"), hex("90 00"));   // ... and this one discarded it
    EXPECT_EQ(xfr(card, "00 C0 00 00 02"), hex("69 85"));
}

TEST(T0Card, Announce9000InsteadOf61) {
    ScriptedApp app;
    app.answer = hex("AA BB 90 00");
    T0Card card(app, T0CardOptions{.announce_with_61 = false});
    EXPECT_EQ(xfr(card, "80 10 00 00 01 01"), hex("90 00"));
    EXPECT_EQ(xfr(card, "80 C0 00 00 05"), hex("6C 02"));
    EXPECT_EQ(xfr(card, "80 C0 00 00 02"), hex("AA BB 90 00"));
}

TEST(T0Card, EnvelopeCollectsTheCommand) {
    ScriptedApp app;
    app.answer = hex("AA 90 00");
    T0Card card(app);
    EXPECT_EQ(xfr(card, "80 C2 00 00 04 80 10 00 00"), hex("90 00"));
    EXPECT_EQ(xfr(card, "80 C2 00 00 05 00 00 01 55 00"), hex("90 00"));
    EXPECT_TRUE(app.seen.empty());
    EXPECT_EQ(xfr(card, "80 C2 00 00 01 00"), hex("90 00"));
    EXPECT_EQ(xfr(card, "80 C2 00 00 00"), hex("61 01"));
    ASSERT_EQ(app.seen.size(), 1u);
    EXPECT_EQ(app.seen[0], hex("80 10 00 00 00 00 01 55 00 00"));
    EXPECT_EQ(card.stats().envelopes, 3u);
    EXPECT_EQ(xfr(card, "80 C0 00 00 01"), hex("AA 90 00"));
}

TEST(T0Card, EnvelopeErrors) {
    ScriptedApp app;
    T0Card card(app);
    EXPECT_EQ(xfr(card, "80 C2 00 00 00"), hex("67 00"));             // nothing enveloped
    EXPECT_EQ(xfr(card, "80 C2 00 00 03 80 10 00"), hex("90 00"));
    EXPECT_EQ(xfr(card, "80 C2 00 00 00"), hex("67 00"));             // not an APDU
    EXPECT_EQ(xfr(card, "80 C2 00 01 01 80"), hex("6A 86"));          // P1 P2 must be 0000
    // Another command between segments drops the partial string.
    EXPECT_EQ(xfr(card, "80 C2 00 00 02 80 10"), hex("90 00"));
    EXPECT_EQ(xfr(card, "00 A4 00 00 00"), hex("90 00"));
    EXPECT_EQ(xfr(card, "80 C2 00 00 02 00 00"), hex("90 00"));
    EXPECT_EQ(xfr(card, "80 C2 00 00 00"), hex("67 00"));  // "00 00" alone is too short
    ASSERT_EQ(app.seen.size(), 1u);

    // Overflow: more than the largest APDU.
    const Bytes seg = cat(hex("80 C2 00 00 FF"), Bytes(255, 0x11));
    Bytes last;
    for (int i = 0; i < 258; ++i) last = card.exchange_tpdu(seg).value();
    EXPECT_EQ(last, hex("67 00"));  // 258 * 255 = 65790 > 65544
}

TEST(T0Card, EnvelopeCanBeDisabled) {
    ScriptedApp app;
    app.answer = hex("6D 00");
    T0Card card(app, T0CardOptions{.envelope = false});
    EXPECT_EQ(xfr(card, "80 C2 00 00 02 AA BB"), hex("6D 00"));
    ASSERT_EQ(app.seen.size(), 1u);  // the application got it as an ordinary command
}

TEST(T0Card, EndlessFaults) {
    ScriptedApp app;
    app.answer = hex("AA 90 00");
    T0Card with_data(app, T0CardOptions{.faults = {.endless_61 = Endless61::WithData}});
    EXPECT_EQ(xfr(with_data, "80 10 00 00 01 01"), hex("61 01"));
    for (int i = 0; i < 3; ++i) {
        const Bytes r = xfr(with_data, "80 C0 00 00 04");
        ASSERT_EQ(r.size(), 6u);
        EXPECT_EQ(proto::sw_of(r), 0x6100);
    }
    T0Card without(app, T0CardOptions{.faults = {.endless_61 = Endless61::WithoutData}});
    EXPECT_EQ(xfr(without, "80 C0 00 00 04"), hex("61 00"));

    T0Card wl(app, T0CardOptions{.faults = {.endless_6c = true}});
    EXPECT_EQ(xfr(wl, "00 B0 00 00 05"), hex("6C 06"));
    EXPECT_EQ(xfr(wl, "00 B0 00 00 FF"), hex("6C 00"));
    EXPECT_EQ(xfr(wl, "00 B0 00 00 00"), hex("6C 01"));
}

TEST(T0Card, LinkErrors) {
    ScriptedApp app;
    app.answer = hex("01 90 00");
    T0Card card(app, T0CardOptions{.faults = {.wrong_procedure_byte = true}});
    EXPECT_EQ(card.exchange_tpdu(hex("00 B0 00 00 01")).error(),
              T0TransferError::ProcedureByteConflict);
    card.options().faults.wrong_procedure_byte = false;
    EXPECT_EQ(xfr(card, "00 B0 00 00 01"), hex("01 90 00"));  // recovers on the next TPDU

    card.options().faults.null_bytes = 20;
    card.options().reader_limits.max_null_bytes = 40;  // 20 before the ACK, 20 before SW1
    EXPECT_EQ(xfr(card, "00 B0 00 00 01"), hex("01 90 00"));
    EXPECT_EQ(card.last_exchange_null_bytes(), 40u);
    card.options().reader_limits.max_null_bytes = 39;
    EXPECT_EQ(card.exchange_tpdu(hex("00 B0 00 00 01")).error(), T0TransferError::TooManyNullBytes);
    card.options().faults.null_bytes = 0;
    EXPECT_EQ(xfr(card, "00 B0 00 00 01"), hex("01 90 00"));

    // The reader cannot tell a case-2 TPDU for an incoming instruction: the card waits for
    // data that never comes.
    EXPECT_EQ(card.exchange_tpdu(hex("80 10 00 00 05")).error(), T0TransferError::CardMute);
    EXPECT_EQ(xfr(card, "00 B0 00 00 01"), hex("01 90 00"));

    EXPECT_EQ(card.exchange_tpdu(hex("00 B0 00 00 02 02")).error(),
              T0TransferError::TpduLengthMismatch);
    EXPECT_EQ(card.exchange_tpdu(hex("00 B0")).error(), T0TransferError::TpduTooShort);
}

TEST(T0Card, ResetForgetsTransportStateAndResetsTheApp) {
    ScriptedApp app;
    app.answer = hex("AA 90 00");
    T0Card card(app);
    EXPECT_EQ(xfr(card, "80 10 00 00 01 01"), hex("61 01"));
    card.on_reader_chars(hex("80 C2 00"));  // half a header
    card.reset();
    EXPECT_EQ(app.resets, 1);
    EXPECT_EQ(xfr(card, "80 C0 00 00 01"), hex("69 85"));
}

TEST(T0Card, RandomInputNeverBreaksTheCard) {
    DemoCardApp app;
    T0Card card(app);
    std::mt19937 rng(4242);
    for (int i = 0; i < 3000; ++i) {
        Bytes chars(rng() % 48);
        for (auto& b : chars) b = static_cast<std::uint8_t>(rng() % 3 == 0 ? 0xC2 : rng());
        card.on_reader_chars(chars);
    }
    for (int i = 0; i < 3000; ++i) {
        Bytes tpdu(5 + rng() % 8);
        for (auto& b : tpdu) b = static_cast<std::uint8_t>(rng());
        if (rng() % 2) tpdu[4] = static_cast<std::uint8_t>(tpdu.size() - 5);
        auto r = card.exchange_tpdu(tpdu);
        if (r) {
            ASSERT_GE(r->size(), 2u);
            ASSERT_LE(r->size(), 258u);
        }
    }
    card.reset();
    EXPECT_EQ(xfr(card, "80 10 00 00 00"), hex("90 00"));
}

TEST(T0Card, DefaultDirections) {
    for (std::uint8_t ins : {0xB0, 0xB1, 0xB2, 0xB3, 0xCA, 0xCB, 0x84, 0xC0}) {
        EXPECT_TRUE(default_t0_outgoing(0x00, ins)) << int(ins);
    }
    EXPECT_TRUE(default_t0_outgoing(kEchoCla, kInsPattern));
    EXPECT_FALSE(default_t0_outgoing(0x00, kInsPattern));
    EXPECT_FALSE(default_t0_outgoing(kEchoCla, kInsEcho));
    EXPECT_FALSE(default_t0_outgoing(0x00, 0xA4));
    EXPECT_FALSE(default_t0_outgoing(0x00, 0xD6));
}

TEST(T0Card, WithTheDemoApplication) {
    DemoCardApp app;
    T0Card card(app);
    // SELECT EF 0101 with FCP requested: response held behind 61XX.
    EXPECT_EQ(xfr(card, "00 A4 00 04 02 01 01"), hex("61 10"));
    EXPECT_EQ(xfr(card, "00 C0 00 00 10"),
              hex("62 0E 82 01 01 83 02 01 01 80 02 00 20 88 01 01 90 00"));
    // READ BINARY past the end of the 32-byte EF: 6C with what is there.
    EXPECT_EQ(xfr(card, "00 B0 00 1E 05"), hex("6C 02"));
    const Bytes tail = xfr(card, "00 B0 00 1E 02");
    EXPECT_EQ(proto::sw_of(tail), 0x9000);
    EXPECT_EQ(tail.size(), 4u);
}

}  // namespace
}  // namespace ccidkit::sim

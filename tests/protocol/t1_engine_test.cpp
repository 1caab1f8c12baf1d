// T=1 host engine behaviour beyond the Annex A scenarios: API refusals, S-blocks from the
// card, limits, resynchronisation and its failure, NAD, aborts.
#include "protocol/t1_engine.h"

#include <gtest/gtest.h>

#include <string_view>

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

constexpr std::string_view kE = "00 00 0B 00 A4 04 00 05 75 36 41 70 70 05 A9";
constexpr std::string_view kD = "00 00 07 75 74 77 74 75 90 00 E0";
const Bytes kApdu = hex("00 A4 04 00 05 75 36 41 70 70 05");

void sends(T1Engine& e, std::string_view expected) {
    ASSERT_EQ(e.state(), T1State::Busy) << (e.error() ? to_string(*e.error()) : "");
    auto block = e.poll_transmit();
    ASSERT_TRUE(block.has_value()) << "nothing to send, expected " << expected;
    EXPECT_EQ(to_hex(*block), to_hex(hex(expected)));
}

void receives(T1Engine& e, std::string_view block) { e.handle_block(hex(block)); }

void fails_with(const T1Engine& e, T1Error error) {
    ASSERT_EQ(e.state(), T1State::Failed);
    ASSERT_TRUE(e.error().has_value());
    EXPECT_EQ(*e.error(), error) << to_string(*e.error());
}

Bytes lrc_block(std::string_view prologue_and_inf) {
    Bytes b = hex(prologue_and_inf);
    append_edc(b, T1Edc::Lrc);
    return b;
}

}  // namespace

TEST(T1Engine, RefusesBadRequests) {
    T1Engine e;
    EXPECT_EQ(e.start({}).error(), T1Error::EmptyCommand);
    const Bytes huge(kT1MaxCommandSize + 1, 0);
    EXPECT_EQ(e.start(huge).error(), T1Error::CommandTooLong);
    EXPECT_EQ(e.negotiate_ifsd(0).error(), T1Error::InvalidIfs);
    EXPECT_EQ(e.negotiate_ifsd(255).error(), T1Error::InvalidIfs);
    EXPECT_EQ(e.abort().error(), T1Error::NotBusy);
    ASSERT_TRUE(e.start(kApdu));
    EXPECT_EQ(e.start(kApdu).error(), T1Error::Busy);
    EXPECT_EQ(e.negotiate_ifsd(32).error(), T1Error::Busy);
    EXPECT_EQ(e.state(), T1State::Busy);
    const Bytes largest(kT1MaxCommandSize, 0);
    T1Engine e2;
    EXPECT_TRUE(e2.start(largest).has_value());
}

TEST(T1Engine, IgnoresInputWhileItHasSomethingToSendOrIsIdle) {
    T1Engine e;
    receives(e, kD);
    e.handle_timeout();
    EXPECT_EQ(e.state(), T1State::Idle);
    ASSERT_TRUE(e.start(kApdu));
    receives(e, kD);  // before the command went out
    EXPECT_EQ(e.stats().blocks_received, 0u);
    sends(e, kE);
    receives(e, kD);
    EXPECT_EQ(e.state(), T1State::Done);
}

TEST(T1Engine, ParityErrorAsksWithEdcCode) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    e.handle_parity_error();
    sends(e, "00 81 00 81");
}

TEST(T1Engine, UnansweredRetriesThenResyncsThenGivesUp) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    for (int i = 0; i < 3; ++i) {  // Rule 7.1, then 7.2 twice
        e.handle_timeout();
        sends(e, "00 82 00 82");
    }
    for (int i = 0; i < 3; ++i) {  // Rule 7.4 then 6.4
        e.handle_timeout();
        sends(e, "00 C0 00 C0");
    }
    e.handle_timeout();
    fails_with(e, T1Error::ProtocolFailure);
    EXPECT_EQ(e.stats().resyncs, 3u);
    EXPECT_EQ(e.stats().blocks_sent, 7u);
    EXPECT_EQ(e.start(kApdu).error(), T1Error::NeedsReset);
    e.reset();
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
}

TEST(T1Engine, ConfigurableRetryCount) {
    T1Config cfg;
    cfg.max_retries = 1;
    cfg.max_resyncs = 1;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    e.handle_timeout();
    sends(e, "00 82 00 82");
    e.handle_timeout();
    sends(e, "00 C0 00 C0");
    receives(e, "00 C0 00 C0");  // a resync *request* from the card is no answer
    fails_with(e, T1Error::ProtocolFailure);
}

TEST(T1Engine, ResyncResponseRestartsNumberingAndIfsc) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    receives(e, "00 C1 01 08 C8");  // card lowers IFSC to 8
    sends(e, "00 E1 01 08 E8");
    receives(e, kD);
    ASSERT_EQ(e.state(), T1State::Done);
    EXPECT_EQ(e.ifsc(), 8);
    e.take_response();
    ASSERT_TRUE(e.start(hex("00 B0 00 00 04")));
    sends(e, "00 40 05 00 B0 00 00 04 F1");
    for (int i = 0; i < 3; ++i) {
        e.handle_timeout();
        sends(e, "00 92 00 92");  // R(1): the card's next I-block would be I(1)
    }
    e.handle_timeout();
    sends(e, "00 C0 00 C0");
    receives(e, "00 E0 00 E0");
    EXPECT_EQ(e.ifsc(), 32);                 // back to the ATR's value
    sends(e, "00 00 05 00 B0 00 00 04 B1");  // N(S) = 0 again
}

TEST(T1Engine, CardIfsRequestOutOfRangeIsAnInvalidBlock) {
    for (const char* request : {"00 C1 01 00", "00 C1 01 FF"}) {
        T1Engine e;
        ASSERT_TRUE(e.start(kApdu));
        sends(e, kE);
        e.handle_block(lrc_block(request));
        sends(e, "00 82 00 82");
        EXPECT_EQ(e.ifsc(), 32);
        EXPECT_EQ(e.stats().ifs_requests, 0u);
    }
}

TEST(T1Engine, WtxLimitFailsAndNextExchangeResyncs) {
    T1Config cfg;
    cfg.max_wtx = 2;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    for (int i = 0; i < 2; ++i) {
        receives(e, "00 C3 01 05 C7");
        sends(e, "00 E3 01 05 E7");
        EXPECT_EQ(e.wtx_multiplier(), 5u);
    }
    receives(e, "00 C3 01 05 C7");
    fails_with(e, T1Error::WtxLimit);
    ASSERT_TRUE(e.start(kApdu));
    sends(e, "00 C0 00 C0");
}

TEST(T1Engine, WtxZeroIsAnInvalidBlock) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    receives(e, "00 C3 01 00 C2");
    sends(e, "00 82 00 82");
}

TEST(T1Engine, CardAbortIsAnsweredThenReported) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    receives(e, "00 C2 00 C2");
    EXPECT_EQ(e.state(), T1State::Busy);  // the answer still has to go out
    sends(e, "00 E2 00 E2");
    fails_with(e, T1Error::AbortedByCard);
    EXPECT_FALSE(e.poll_transmit().has_value());
    ASSERT_TRUE(e.start(kApdu));
    sends(e, "00 C0 00 C0");  // numbering is re-established before the next command
    receives(e, "00 E0 00 E0");
    sends(e, kE);
}

TEST(T1Engine, HostAbortOfItsOwnChain) {
    T1Config cfg;
    cfg.ifsc = 10;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(Bytes(30, 0x00)));
    sends(e, "00 20 0A 00 00 00 00 00 00 00 00 00 00 2A");
    receives(e, "00 90 00 90");
    ASSERT_TRUE(e.abort());
    EXPECT_EQ(e.abort().error(), T1Error::NotAbortable);
    sends(e, "00 C2 00 C2");
    receives(e, "00 C2 00 C1");  // corrupt: Rule 7.3, the request again
    sends(e, "00 C2 00 C2");
    receives(e, "00 E2 00 E2");
    fails_with(e, T1Error::AbortedByHost);
}

TEST(T1Engine, UnansweredAbortEndsThroughResync) {
    T1Config cfg;
    cfg.ifsc = 10;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(Bytes(30, 0x00)));
    sends(e, "00 20 0A 00 00 00 00 00 00 00 00 00 00 2A");
    receives(e, "00 90 00 90");
    ASSERT_TRUE(e.abort());
    sends(e, "00 C2 00 C2");
    for (int i = 0; i < 3; ++i) {
        e.handle_timeout();
        sends(e, "00 C2 00 C2");
    }
    e.handle_timeout();
    sends(e, "00 C0 00 C0");
    receives(e, "00 E0 00 E0");
    fails_with(e, T1Error::AbortedByHost);  // not a restart of the aborted command
    ASSERT_TRUE(e.start(kApdu));
    // Numbering already re-established: no second resync, I(0) chained at IFSC 10.
    sends(e, "00 20 0A 00 A4 04 00 05 75 36 41 70 70 8D");
}

TEST(T1Engine, VppErrorResponseFails) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    receives(e, "00 E4 00 E4");
    fails_with(e, T1Error::VppError);
}

TEST(T1Engine, UnexpectedBlocksAreAnsweredWithOtherError) {
    const char* unexpected[] = {
        "00 E1 01 20 C0",            // S(IFS response) to nothing
        "00 C0 00 C0",               // S(RESYNCH request) from the card
        "00 40 02 90 00 D2",         // I(1) when I(0) is expected
        "00 90 00 90",               // R(1) after a non-chained I-block
        "00 C3 02 01 01 C1",         // S(WTX) with a 2-byte INF
    };
    for (const char* block : unexpected) {
        T1Engine e;
        ASSERT_TRUE(e.start(kApdu));
        sends(e, kE);
        receives(e, block);
        sends(e, "00 82 00 82");
        EXPECT_EQ(e.stats().invalid_blocks, 1u) << block;
    }
}

TEST(T1Engine, IBlockLongerThanIfsdIsInvalid) {
    T1Engine e;  // IFSD 32 until negotiated
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    Bytes big{0x00, 0x00, 33};
    big.resize(3 + 33, 0x61);
    append_edc(big, T1Edc::Lrc);
    e.handle_block(big);
    sends(e, "00 82 00 82");
}

TEST(T1Engine, IBlockWhileWeChainIsInvalid) {
    T1Config cfg;
    cfg.ifsc = 10;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(Bytes(30, 0x00)));
    sends(e, "00 20 0A 00 00 00 00 00 00 00 00 00 00 2A");
    receives(e, kD);
    sends(e, "00 82 00 82");
    receives(e, "00 80 00 80");  // the card asks for I(0) again
    sends(e, "00 20 0A 00 00 00 00 00 00 00 00 00 00 2A");
}

TEST(T1Engine, CardChangesIfscMidChain) {
    T1Config cfg;
    cfg.ifsc = 10;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(Bytes(30, 0x00)));
    sends(e, "00 20 0A 00 00 00 00 00 00 00 00 00 00 2A");
    receives(e, "00 C1 01 05 C5");
    sends(e, "00 E1 01 05 E5");
    receives(e, "00 90 00 90");
    sends(e, "00 60 05 00 00 00 00 00 65");
}

TEST(T1Engine, DuplicateChainedBlockFromCardIsNotAppendedTwice) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    receives(e, "00 20 05 75 74 77 74 75 52");
    sends(e, "00 90 00 90");
    receives(e, "00 20 05 75 74 77 74 75 52");  // our R(1) was lost: Rule 7.2
    sends(e, "00 90 00 90");
    receives(e, "00 40 02 90 00 D2");
    ASSERT_EQ(e.state(), T1State::Done);
    EXPECT_EQ(e.take_response(), hex("75 74 77 74 75 90 00"));
}

TEST(T1Engine, NadIsSentAndCheckedSwapped) {
    T1Config cfg;
    cfg.nad = 0x12;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(hex("00 B0 00 00 00")));
    sends(e, "12 00 05 00 B0 00 00 00 A7");
    receives(e, "12 00 02 90 00 80");  // not swapped: not for us
    sends(e, "12 82 00 90");
    receives(e, "21 00 02 90 00 B3");
    ASSERT_EQ(e.state(), T1State::Done);
    EXPECT_EQ(e.take_response(), hex("90 00"));
}

TEST(T1Engine, ResponseSizeIsBounded) {
    T1Config cfg;
    cfg.max_response = 10;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(kApdu));
    sends(e, kE);
    receives(e, "00 20 05 75 74 77 74 75 52");
    sends(e, "00 90 00 90");
    e.handle_block(lrc_block("00 60 06 01 02 03 04 05 06"));
    fails_with(e, T1Error::ResponseTooLong);
    ASSERT_TRUE(e.start(kApdu));
    sends(e, "00 C0 00 C0");
}

TEST(T1Engine, EndlessEmptyChainHitsTheBlockBudget) {
    T1Config cfg;
    cfg.max_blocks = 6;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(kApdu));
    EXPECT_EQ(e.block_budget(), 6u);
    sends(e, kE);
    std::uint8_t ns = 0;
    for (int i = 0; i < 100 && e.state() == T1State::Busy; ++i) {
        e.handle_block(lrc_block(ns == 0 ? "00 20 00" : "00 60 00"));
        ns ^= 1;
        e.poll_transmit();
    }
    fails_with(e, T1Error::BlockLimit);
    EXPECT_EQ(e.stats().blocks_sent, 6u);
}

TEST(T1Engine, DerivedBlockBudgetCoversTheWorstLegitimateExchange) {
    T1Engine e;
    ASSERT_TRUE(e.start(Bytes(100, 0)));
    // 2 x (command + max response + slack) x (1 + 3 resyncs) + WTX allowance.
    EXPECT_EQ(e.block_budget(), 2 * (100 + kT1MaxResponseSize + 16) * 4 + 1000);
    T1Engine ifs;
    ASSERT_TRUE(ifs.negotiate_ifsd(254));
    EXPECT_EQ(ifs.block_budget(), 2 * 16 * 4 + 1000u);
}

TEST(T1Engine, IfsNegotiationRetriesThenResyncs) {
    T1Engine e;
    ASSERT_TRUE(e.negotiate_ifsd(200));
    sends(e, "00 C1 01 C8 08");
    receives(e, "00 E1 01 C7 27");  // wrong value echoed
    sends(e, "00 C1 01 C8 08");
    e.handle_timeout();
    sends(e, "00 C1 01 C8 08");
    e.handle_timeout();
    sends(e, "00 C1 01 C8 08");
    e.handle_timeout();
    sends(e, "00 C0 00 C0");
    receives(e, "00 E0 00 E0");
    sends(e, "00 C1 01 C8 08");
    receives(e, "00 E1 01 C8 28");
    ASSERT_EQ(e.state(), T1State::Done);
    EXPECT_EQ(e.ifsd(), 200);
    EXPECT_TRUE(e.take_response().empty());
}

TEST(T1Engine, ErrorStringsAreDistinct) {
    const T1Error all[] = {T1Error::Busy, T1Error::NotBusy, T1Error::NotAbortable,
                           T1Error::EmptyCommand, T1Error::CommandTooLong, T1Error::InvalidIfs,
                           T1Error::NeedsReset, T1Error::ProtocolFailure, T1Error::AbortedByCard,
                           T1Error::AbortedByHost, T1Error::WtxLimit, T1Error::ResponseTooLong,
                           T1Error::BlockLimit, T1Error::VppError, T1Error::Internal};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        for (std::size_t j = i + 1; j < std::size(all); ++j)
            EXPECT_NE(to_string(all[i]), to_string(all[j]));
    }
    EXPECT_EQ(to_string(T1State::Busy), "busy");
}

TEST(T1Engine, HostileCardAlwaysTerminates) {
    // Random blocks (a third with a valid EDC and LEN, some of those well-formed S-blocks)
    // must end every exchange within the block budget, never hang or grow without bound.
    std::uint32_t x = 2024;
    auto next = [&x] {
        x = x * 1664525u + 1013904223u;
        return static_cast<std::uint8_t>(x >> 24);
    };
    T1Config cfg;
    cfg.max_blocks = 2000;
    for (int round = 0; round < 200; ++round) {
        T1Engine e(cfg);
        ASSERT_TRUE(e.start(Bytes(static_cast<std::size_t>(next()) + 1, 0x42)));
        std::size_t steps = 0;
        while (e.state() == T1State::Busy && steps++ <= cfg.max_blocks) {
            if (!e.poll_transmit()) break;
            if (e.state() != T1State::Busy) break;
            const std::uint8_t mode = next() % 4;
            if (mode == 0) {
                e.handle_timeout();
                continue;
            }
            Bytes block{0x00, next(), 0};
            const std::size_t len = mode == 1 ? next() % 40 : next() % 3;
            for (std::size_t i = 0; i < len; ++i) block.push_back(next());
            block[2] = static_cast<std::uint8_t>(len);
            if (mode == 3) block[1] = static_cast<std::uint8_t>(0xC0 | (next() % 5));
            if (mode != 1 || next() % 2) append_edc(block, T1Edc::Lrc);
            e.handle_block(block);
        }
        ASSERT_NE(e.state(), T1State::Busy) << "round " << round;
        EXPECT_LE(e.stats().blocks_sent, cfg.max_blocks);
        EXPECT_TRUE(e.error().has_value() || e.state() == T1State::Done);
    }
}

TEST(T1Engine, ResetStartsANewSession) {
    T1Config cfg;
    cfg.negotiate_ifsd_first = true;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(kApdu));
    sends(e, "00 C1 01 FE 3E");
    receives(e, "00 E1 01 FE 1E");
    sends(e, kE);
    receives(e, "00 C1 01 40 80");  // card raises IFSC to 64
    sends(e, "00 E1 01 40 A0");
    receives(e, kD);
    ASSERT_EQ(e.state(), T1State::Done);
    EXPECT_EQ(e.ifsc(), 64);
    EXPECT_EQ(e.ifsd(), 254);

    e.reset();  // card was reset: IFS negotiation again, N(S) = 0, ATR values
    EXPECT_EQ(e.state(), T1State::Idle);
    EXPECT_EQ(e.ifsc(), 32);
    EXPECT_EQ(e.ifsd(), 32);
    ASSERT_TRUE(e.start(kApdu));
    sends(e, "00 C1 01 FE 3E");

    T1Config other;  // a new ATR announcing IFSC 8, no negotiation, CRC
    other.ifsc = 8;
    other.edc = T1Edc::Crc;
    e.reset(other);
    EXPECT_EQ(e.state(), T1State::Idle);
    EXPECT_FALSE(e.error().has_value());
    ASSERT_TRUE(e.start(hex("00 B0 00 00 04")));
    auto block = e.poll_transmit();
    ASSERT_TRUE(block.has_value());
    EXPECT_EQ(to_hex(*block), "00 00 05 00 B0 00 00 04 4F B3");
}

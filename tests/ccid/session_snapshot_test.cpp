// Card sessions handed from one Reader to another (two processes on one reader, one at a
// time): Slot::export_session / adopt_session, the snapshot encoding, T1Engine continuity.
#include "ccid/session_snapshot.h"

#include <gtest/gtest.h>

#include <random>

#include "ccid/reader.h"
#include "sim/card/sim_card.h"
#include "sim/reader/shared_reader_sim.h"

namespace ccidkit::ccid {
namespace {

const Bytes kEcho{0x80, 0x10, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x03};
const Bytes kEchoReply{0x01, 0x02, 0x03, 0x90, 0x00};

class SessionHandOver : public ::testing::Test {
protected:
    std::unique_ptr<Reader> open_reader() {
        auto handle = shared_.open_handle();
        EXPECT_TRUE(handle->claim());
        auto reader = Reader::open(std::move(handle), shared_.sim().config().descriptor);
        EXPECT_TRUE(reader) << (reader ? "" : describe(reader.error()));
        return reader ? std::move(*reader) : nullptr;
    }

    sim::SharedReaderSim shared_{sim::make_reader_config(ExchangeLevel::Tpdu)};
    std::shared_ptr<sim::SimCard> card_ = shared_.sim().insert_card(0, sim::SimCard::t1_default());
};

TEST_F(SessionHandOver, SecondReaderContinuesTheT1Session) {
    auto a = open_reader();
    ASSERT_TRUE(a);
    auto session = a->slot(0)->power_on();
    ASSERT_TRUE(session) << describe(session.error());
    ASSERT_EQ(session->protocol, 1);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(a->slot(0)->transmit(kEcho).value_or(Bytes{}), kEchoReply);
    const Bytes exported = a->slot(0)->export_session();
    a->transport().release();

    auto b = open_reader();
    ASSERT_TRUE(b);
    EXPECT_FALSE(b->slot(0)->active());
    ASSERT_TRUE(b->slot(0)->adopt_session(exported));
    ASSERT_TRUE(b->slot(0)->active());
    const auto adopted = b->slot(0)->session();
    ASSERT_TRUE(adopted);
    EXPECT_EQ(adopted->atr, session->atr);
    EXPECT_EQ(adopted->parameters, session->parameters);
    EXPECT_EQ(adopted->ifsd, session->ifsd);
    EXPECT_EQ(t1_bwt(adopted->timing), t1_bwt(session->timing));
    for (int i = 0; i < 3; ++i) ASSERT_EQ(b->slot(0)->transmit(kEcho).value_or(Bytes{}), kEchoReply);
    EXPECT_EQ(card_->t1().stats().invalid_blocks, 0u);
    EXPECT_EQ(card_->t1().stats().resyncs, 0u);
    EXPECT_EQ(card_->t1().stats().commands, 6u);
}

// The control: a stale snapshot (N(S) one exchange behind) is noticed by the card, so the test
// above would fail if the sequence numbers were not carried over.
TEST_F(SessionHandOver, StaleSequenceNumbersShowAtTheCard) {
    auto a = open_reader();
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->slot(0)->power_on());
    const Bytes stale = a->slot(0)->export_session();
    ASSERT_EQ(a->slot(0)->transmit(kEcho).value_or(Bytes{}), kEchoReply);
    a->transport().release();

    auto b = open_reader();
    ASSERT_TRUE(b);
    ASSERT_TRUE(b->slot(0)->adopt_session(stale));
    (void)b->slot(0)->transmit(kEcho);  // may recover, but not silently
    const auto& stats = card_->t1().stats();
    EXPECT_GT(stats.invalid_blocks + stats.retransmissions + stats.resyncs, 0u);
}

TEST_F(SessionHandOver, NotPoweredEndsTheSession) {
    auto a = open_reader();
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->slot(0)->power_on());
    ASSERT_TRUE(a->slot(0)->active());
    ASSERT_TRUE(a->slot(0)->adopt_session(encode_session_snapshot({})));
    EXPECT_FALSE(a->slot(0)->active());
    EXPECT_EQ(a->slot(0)->transmit(kEcho).error().code, ReaderErrc::CardNotPowered);
}

TEST(SessionSnapshot, RoundTripAndEveryTruncationRefused) {
    CardSession s;
    s.atr = {0x3B, 0x80, 0x80, 0x01, 0x01};
    s.protocol = 1;
    s.parameters = T1Parameters{0x96, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00};
    s.ifsd = 254;
    s.ifsd_exchanged = true;
    s.voltage = PowerSelect::V3_0;
    T1Snapshot t;
    t.config.ifsc = 254;
    t.config.ifsd = 254;
    t.state = proto::T1Continuity{1, 0, 254, 254, true, false, false};
    const Bytes encoded = encode_session_snapshot({s, t});
    ASSERT_LE(encoded.size(), kMaxSessionSnapshotSize);

    auto decoded = decode_session_snapshot(encoded);
    ASSERT_TRUE(decoded) << decoded.error();
    ASSERT_TRUE(decoded->session);
    EXPECT_EQ(decoded->session->atr, s.atr);
    EXPECT_EQ(decoded->session->parameters, s.parameters);
    EXPECT_EQ(decoded->session->voltage, PowerSelect::V3_0);
    EXPECT_TRUE(decoded->session->ifsd_exchanged);
    ASSERT_TRUE(decoded->t1);
    EXPECT_EQ(decoded->t1->state, t.state);
    EXPECT_EQ(decoded->t1->config.ifsc, 254);

    for (std::size_t n = 0; n < encoded.size(); ++n)
        EXPECT_FALSE(decode_session_snapshot(ByteView(encoded).first(n))) << "prefix of " << n;
    Bytes longer = encoded;
    longer.push_back(0);
    EXPECT_FALSE(decode_session_snapshot(longer));

    Bytes bad_ns = encoded;
    bad_ns[bad_ns.size() - 5] = 2;  // N(S)
    EXPECT_FALSE(decode_session_snapshot(bad_ns));
    Bytes bad_ifsc = encoded;
    bad_ifsc[bad_ifsc.size() - 3] = 0xFF;  // IFSC in force
    EXPECT_FALSE(decode_session_snapshot(bad_ifsc));
}

TEST(SessionSnapshot, RandomBytesNeverCrash) {
    std::mt19937 rng(7);
    std::size_t accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes b(rng() % 120);
        for (auto& x : b) x = static_cast<std::uint8_t>(rng());
        if (!b.empty() && rng() % 2) b[0] = 1;
        if (b.size() > 1 && rng() % 2) b[1] = 1;
        if (auto d = decode_session_snapshot(b); d && d->session) {
            ++accepted;
            EXPECT_LE(d->session->atr.size(), 33u);
            if (d->t1) {
                EXPECT_LE(d->t1->state.ns, 1);
            }
        }
    }
    SUCCEED() << accepted << " random snapshots decoded";
}

TEST(T1Continuity, ContinuesFromAnotherEngine) {
    proto::T1Engine a;
    ASSERT_TRUE(a.start(Bytes{0x00, 0xA4, 0x00, 0x00}));
    auto block = a.poll_transmit();
    ASSERT_TRUE(block);
    EXPECT_EQ((*block)[1] & 0x40, 0x00);  // N(S) = 0
    // The card's answer: I-block N(S) 0 with 90 00 (LRC).
    Bytes answer{0x00, 0x00, 0x02, 0x90, 0x00};
    answer.push_back(static_cast<std::uint8_t>(answer[0] ^ answer[1] ^ answer[2] ^ answer[3] ^ answer[4]));
    a.handle_block(answer);
    ASSERT_EQ(a.state(), proto::T1State::Done);
    EXPECT_EQ(a.take_response(), (Bytes{0x90, 0x00}));
    const auto state = a.continuity();
    EXPECT_EQ(state.ns, 1);
    EXPECT_EQ(state.nr, 1);

    proto::T1Engine b;
    ASSERT_TRUE(b.continue_from(state));
    EXPECT_EQ(b.continuity(), state);
    ASSERT_TRUE(b.start(Bytes{0x00, 0xA4, 0x00, 0x00}));
    block = b.poll_transmit();
    ASSERT_TRUE(block);
    EXPECT_EQ((*block)[1] & 0x40, 0x40);  // N(S) = 1: the next one in the session

    proto::T1Continuity bad = state;
    bad.ns = 2;
    EXPECT_FALSE(proto::T1Engine().continue_from(bad));
    bad = state;
    bad.ifsc = 0;
    EXPECT_FALSE(proto::T1Engine().continue_from(bad));
    EXPECT_EQ(b.continue_from(state).error(), proto::T1Error::Busy);
}

}  // namespace
}  // namespace ccidkit::ccid

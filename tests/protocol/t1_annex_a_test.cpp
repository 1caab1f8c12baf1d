// ISO/IEC 7816-3:2006 Annex A scenarios as exact bytes (shared T=1 note, section 3: ANSSI's
// concrete instantiation, NAD 00, LRC, IFSC = IFSD = 32 unless stated), plus the EMV first
// block. Each scenario drives the host engine with the card's blocks and checks every block
// the engine sends.
#include "protocol/t1_engine.h"

#include <gtest/gtest.h>

#include <string_view>

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

// Blocks shared by the scenarios (note, section 3).
constexpr std::string_view kA = "00 00 0F 00 A4 04 00 0A 45 75 74 77 74 75 36 41 70 70 E0";
constexpr std::string_view kB = "00 00 02 90 00 92";
constexpr std::string_view kC = "00 00 05 00 A4 04 00 05 A0";
constexpr std::string_view kD = "00 00 07 75 74 77 74 75 90 00 E0";
constexpr std::string_view kDBadLrc = "00 00 07 75 74 77 74 75 90 00 1F";
constexpr std::string_view kE = "00 00 0B 00 A4 04 00 05 75 36 41 70 70 05 A9";

const Bytes kApduCase3 = hex("00 A4 04 00 0A 45 75 74 77 74 75 36 41 70 70");
const Bytes kApduCase2 = hex("00 A4 04 00 05");
const Bytes kApduCase4 = hex("00 A4 04 00 05 75 36 41 70 70 05");
const Bytes kResponseD = hex("75 74 77 74 75 90 00");

// Checks that the engine's next block is exactly `expected`.
void sends(T1Engine& e, std::string_view expected) {
    ASSERT_EQ(e.state(), T1State::Busy);
    auto block = e.poll_transmit();
    ASSERT_TRUE(block.has_value()) << "engine has nothing to send, expected " << expected;
    EXPECT_EQ(to_hex(*block), to_hex(hex(expected)));
}

void receives(T1Engine& e, std::string_view block) { e.handle_block(hex(block)); }

void done_with(T1Engine& e, const Bytes& response) {
    ASSERT_EQ(e.state(), T1State::Done) << (e.error() ? to_string(*e.error()) : "");
    EXPECT_FALSE(e.poll_transmit().has_value());
    EXPECT_EQ(to_hex(e.take_response()), to_hex(response));
    EXPECT_EQ(e.state(), T1State::Idle);
}

// Runs E -> ; <- D, leaving N(S) = N(R) = 1.
void case4_exchange(T1Engine& e) {
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    receives(e, kD);
    done_with(e, kResponseD);
}

}  // namespace

TEST(T1AnnexA, A21Case3ThenNextCommandUsesNs1) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase3));
    sends(e, kA);
    receives(e, kB);
    done_with(e, hex("90 00"));

    ASSERT_TRUE(e.start(kApduCase3));
    sends(e, "00 40 0F 00 A4 04 00 0A 45 75 74 77 74 75 36 41 70 70 A0");
    receives(e, "00 40 02 90 00 D2");
    done_with(e, hex("90 00"));
}

TEST(T1AnnexA, A21Case2) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase2));
    sends(e, kC);
    receives(e, kD);
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A21Case2ErrorStatus) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase2));
    sends(e, kC);
    receives(e, "00 00 02 6A 82 EA");
    done_with(e, hex("6A 82"));
}

TEST(T1AnnexA, A21Case4) {
    T1Engine e;
    case4_exchange(e);
    T1Engine e2;  // the variant where the card answers with status only
    ASSERT_TRUE(e2.start(kApduCase4));
    sends(e2, kE);
    receives(e2, kB);
    done_with(e2, hex("90 00"));
}

TEST(T1AnnexA, A22WaitingTimeExtension) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    EXPECT_EQ(e.wtx_multiplier(), 1u);
    receives(e, "00 C3 01 02 C0");
    sends(e, "00 E3 01 02 E0");
    EXPECT_EQ(e.wtx_multiplier(), 2u);  // BWT doubled for this one wait
    receives(e, kD);
    done_with(e, kResponseD);
    EXPECT_EQ(e.stats().wtx_requests, 1u);

    ASSERT_TRUE(e.start(kApduCase4));
    ASSERT_TRUE(e.poll_transmit().has_value());
    EXPECT_EQ(e.wtx_multiplier(), 1u);  // and back to BWT afterwards
}

TEST(T1AnnexA, A23Scenario3CardChangesIfsc) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    receives(e, "00 C1 01 10 D0");
    sends(e, "00 E1 01 10 F0");
    receives(e, kD);
    done_with(e, kResponseD);
    EXPECT_EQ(e.ifsc(), 16);

    // The new IFSC shapes the next chain: 20 bytes go as 16 + 4.
    const Bytes apdu(20, 0x11);
    ASSERT_TRUE(e.start(apdu));
    auto first = e.poll_transmit();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ((*first)[1], 0x60);  // I(1, M)
    EXPECT_EQ((*first)[2], 16);
}

TEST(T1AnnexA, A23Scenario4InterfaceChangesIfsd) {
    T1Engine e;
    case4_exchange(e);
    ASSERT_TRUE(e.negotiate_ifsd(10));
    sends(e, "00 C1 01 0A CA");
    receives(e, "00 E1 01 0A EA");
    done_with(e, {});
    EXPECT_EQ(e.ifsd(), 10);

    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, "00 40 0B 00 A4 04 00 05 75 36 41 70 70 05 E9");
    receives(e, "00 40 07 75 74 77 74 75 90 00 A0");
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A24Scenario5InterfaceSendsChain) {
    T1Config cfg;
    cfg.ifsc = 10;
    T1Engine e(cfg);
    const Bytes apdu = hex(
        "00 A4 04 00 16 75 36 41 70 70 FF FF 00 00 00 00 00 FF FF 00 00 FF 00 FF 00 FF 00 05");
    ASSERT_TRUE(e.start(apdu));
    sends(e, "00 20 0A 00 A4 04 00 16 75 36 41 70 70 9E");
    receives(e, "00 90 00 90");
    sends(e, "00 60 0A FF FF 00 00 00 00 00 FF FF 00 6A");
    receives(e, "00 80 00 80");
    sends(e, "00 00 08 00 FF 00 FF 00 FF 00 05 F2");
    receives(e, kD);
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A24Scenario6CardSendsChain) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    receives(e, "00 20 05 75 74 77 74 75 52");
    sends(e, "00 90 00 90");
    receives(e, "00 40 02 90 00 D2");
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A31Scenario8CardReportsEdcError) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    receives(e, "00 81 00 81");
    sends(e, kE);
    receives(e, kD);
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A31Scenario9BadLrcFromCard) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    receives(e, kDBadLrc);
    sends(e, "00 81 00 81");
    receives(e, kD);
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A31Scenario9TimeoutMidBlock) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    e.handle_timeout();  // two bytes, then silence
    sends(e, "00 82 00 82");
    receives(e, kD);
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A31Scenario10CorruptRBlockFromCard) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    receives(e, "00 81 00 7E");
    sends(e, "00 81 00 81");
    receives(e, "00 81 00 81");
    sends(e, kE);
    receives(e, kD);
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A31Scenario11) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    receives(e, kDBadLrc);
    sends(e, "00 81 00 81");
    receives(e, "00 91 00 91");
    sends(e, "00 81 00 81");
    receives(e, kD);
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A31Scenario11TimeoutVariant) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    e.handle_timeout();
    sends(e, "00 82 00 82");
    receives(e, "00 91 00 91");
    sends(e, "00 82 00 82");
    receives(e, kD);
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A31Scenario12) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    receives(e, kDBadLrc);
    sends(e, "00 81 00 81");
    receives(e, "00 91 00 6E");
    sends(e, "00 81 00 81");
    receives(e, kD);
    done_with(e, kResponseD);
}

TEST(T1AnnexA, A31Scenario13) {
    T1Engine e;
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, kE);
    receives(e, kDBadLrc);
    sends(e, "00 81 00 81");
    receives(e, "00 91 00 6E");
    sends(e, "00 81 00 81");
    receives(e, "00 91 00 91");
    sends(e, "00 81 00 81");
    receives(e, kD);
    done_with(e, kResponseD);
    EXPECT_EQ(e.stats().recoveries, 3u);
}

TEST(T1AnnexA, A31Scenario13OneErrorMoreResynchronises) {
    // Scenario 13 shifted to N(S) = 1, with a fourth consecutive failure: that exceeds the 3
    // retries (Rule 7.4), so S(RESYNCH); numbering restarts at 0 and the command goes again.
    T1Engine e;
    case4_exchange(e);
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, "00 40 0B 00 A4 04 00 05 75 36 41 70 70 05 E9");
    receives(e, "00 40 07 75 74 77 74 75 90 00 5F");  // I(1) with inverted LRC
    sends(e, "00 91 00 91");
    receives(e, "00 81 00 7E");                        // corrupt R-block
    sends(e, "00 91 00 91");
    receives(e, "00 81 00 81");                        // valid R(0): the card wants I(0) next
    sends(e, "00 91 00 91");
    receives(e, "00 40 07 75 74 77 74 75 90 00 5F");
    sends(e, "00 C0 00 C0");
    receives(e, "00 E0 00 E0");
    sends(e, kE);
    receives(e, kD);
    done_with(e, kResponseD);
    EXPECT_EQ(e.stats().resyncs, 1u);
}

TEST(T1AnnexA, EmvFirstBlockIsIfsRequest) {
    T1Config cfg;
    cfg.negotiate_ifsd_first = true;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, "00 C1 01 FE 3E");
    receives(e, "00 E1 01 FE 1E");
    sends(e, kE);
    receives(e, kD);
    done_with(e, kResponseD);
    EXPECT_EQ(e.ifsd(), 254);

    ASSERT_TRUE(e.start(kApduCase4));  // negotiated once per session
    sends(e, "00 40 0B 00 A4 04 00 05 75 36 41 70 70 05 E9");
}

TEST(T1AnnexA, EmvFirstBlockWithCrc) {
    T1Config cfg;
    cfg.negotiate_ifsd_first = true;
    cfg.edc = T1Edc::Crc;
    T1Engine e(cfg);
    ASSERT_TRUE(e.start(kApduCase4));
    sends(e, "00 C1 01 FE 54 4E");
    receives(e, "00 E1 01 FE 57 75");
    auto block = e.poll_transmit();
    ASSERT_TRUE(block.has_value());
    EXPECT_EQ(block->size(), 3u + 11 + 2);
    receives(e, "00 00 02 90 00 9C 6D");
    done_with(e, hex("90 00"));
}

// Fault suite, card faults (see the table in api/fault_suite.h): endless S(WTX), a response
// chain that never ends, S(IFS) out of range, a card that goes mute, a card removed during an
// APDU, a hardware error of the reader.
#include <string>
#include <thread>

#include "api/fault_suite.h"

namespace ccidkit::api::testing {
namespace {

class CardFaults : public FaultSuiteTest {
protected:
    // Replaces the preset card of reader 0 by a T=1 card with `t1` behaviour, connected.
    void start_with_t1_card(std::string_view spec, const sim::T1CardConfig& t1) {
        // The reader starts empty: with its default card in, the insertion below would be a
        // swap, whose notification the event thread may apply only after the connect (the
        // handle then sees SCARD_W_REMOVED_CARD); from empty, PRESENT means it was applied.
        start(std::string(spec.substr(0, spec.find(':'))) + ":none");
        sim::SimCardConfig c;
        c.atr = sim::SimCard::t1_default_atr();
        c.t1 = t1;
        card = sim().insert_card(0, sim::SimCard(std::move(c)));
        ASSERT_TRUE(wait_for(names[0], SCARD_STATE_PRESENT).dwEventState & SCARD_STATE_PRESENT);
        ASSERT_EQ(connect(0, h, active, SCARD_PROTOCOL_T1), SCARD_S_SUCCESS);
    }
    // The faulty card cannot be repaired: it is taken out (the handle sees the removal) and
    // the preset card goes in; the same handle reconnects and works.
    void expect_usable_with_new_card() {
        sim().set_faults({});
        sim().remove_card(0);
        ASSERT_TRUE(wait_for(names[0], SCARD_STATE_EMPTY).dwEventState & SCARD_STATE_EMPTY);
        sim().insert_card(0, sim::SimCard::t1_default());
        ASSERT_TRUE(wait_for(names[0], SCARD_STATE_PRESENT).dwEventState & SCARD_STATE_PRESENT);
        ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &active), SCARD_S_SUCCESS);
        expect_echo_works();
    }
    std::shared_ptr<sim::SimCard> card;
};

TEST_F(CardFaults, EndlessWaitingTimeExtensionRequestsEnd) {
    for (const char* spec : {"tpdu:t1", "short:t1"}) {
        SCOPED_TRACE(spec);
        sim::T1CardConfig t1;
        t1.wtx_requests = 100000;
        t1.wtx_multiplier = 1;
        start_with_t1_card(spec, t1);
        std::chrono::milliseconds took{};
        EXPECT_EQ(timed_echo(took), SCARD_E_NOT_TRANSACTED);
        EXPECT_LT(took, 10s);
        expect_usable_with_new_card();
        TearDown();
        ctx = 0;
    }
}

TEST_F(CardFaults, ResponseChainThatNeverEndsIsCut) {
    for (const char* spec : {"tpdu:t1", "short:t1"}) {
        SCOPED_TRACE(spec);
        sim::T1CardConfig t1;
        t1.endless_chain_inf = 254;
        start_with_t1_card(spec, t1);
        std::chrono::milliseconds took{};
        EXPECT_EQ(timed_echo(took), SCARD_E_NOT_TRANSACTED);
        EXPECT_LT(took, 10s);
        expect_usable_with_new_card();
        TearDown();
        ctx = 0;
    }
}

TEST_F(CardFaults, IfsRequestOutOfRangeIsRefused) {
    for (const std::uint8_t ifs : {std::uint8_t{0}, std::uint8_t{255}}) {
        SCOPED_TRACE(int{ifs});
        sim::T1CardConfig t1;
        t1.request_ifsc = ifs;
        t1.request_ifsc_every_command = true;
        start_with_t1_card("tpdu:t1", t1);
        std::chrono::milliseconds took{};
        const LONG rc = timed_echo(took);
        EXPECT_EQ(rc, SCARD_E_NOT_TRANSACTED) << std::hex << rc;
        EXPECT_LT(took, 10s);
        expect_usable_with_new_card();
        TearDown();
        ctx = 0;
    }
}

TEST_F(CardFaults, MuteCardIsNotTransactedThenResetWorks) {
    start_connected("tpdu:t1");
    auto c = sim().card(0);
    ASSERT_NE(c, nullptr);
    c->set_mute(true);
    std::chrono::milliseconds took{};
    EXPECT_EQ(timed_echo(took), SCARD_E_NOT_TRANSACTED);
    EXPECT_LT(took, 10s);
    // Still mute: a reset finds no answer.
    LONG rc = 0;
    took = timed([&] { rc = SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &active); });
    EXPECT_EQ(rc, SCARD_W_UNRESPONSIVE_CARD) << std::hex << rc;
    EXPECT_LT(took, 10s);
    c->set_mute(false);
    ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &active), SCARD_S_SUCCESS);
    expect_echo_works();
}

TEST_F(CardFaults, MuteCardAtConnectIsUnpowered) {
    start("tpdu:t1");
    sim().card(0)->set_mute(true);
    SCARDHANDLE h2 = 0;
    LONG rc = 0;
    const auto took = timed([&] { rc = connect(0, h2, active); });
    // pcsc-lite: no ATR, "Card Not Powered".
    EXPECT_EQ(rc, SCARD_W_UNPOWERED_CARD) << std::hex << rc;
    EXPECT_LT(took, 10s);
    sim().card(0)->set_mute(false);
    ASSERT_EQ(connect(0, h, active), SCARD_S_SUCCESS);
    expect_echo_works();
}

TEST_F(CardFaults, CardRemovedDuringAnApdu) {
    for (const char* spec : {"short:t1", "tpdu:t1"}) {
        SCOPED_TRACE(spec);
        start_connected(spec);
        // The reader keeps the command running (time extensions) until the card leaves.
        sim::ReaderFaults f;
        f.endless_time_extension = true;
        xfr_faults(f);
        LONG rc = 0;
        std::chrono::milliseconds took{};
        std::thread app([&] { rc = timed_echo(took); });
        // Removed once the command is in the reader (it has sent a time extension).
        const auto limit = std::chrono::steady_clock::now() + 5s;
        while (sim().stats().time_extensions == 0 && std::chrono::steady_clock::now() < limit)
            std::this_thread::yield();
        sim().remove_card(0);
        app.join();
        // The driver gives up after 1000 time extensions; only a removal that came later than
        // that (a very slow machine) could make this NOT_TRANSACTED.
        if (rc == SCARD_E_NOT_TRANSACTED) {
            EXPECT_GE(sim().stats().time_extensions, 1000u) << "NOT_TRANSACTED before the driver's limit";
        } else {
            // As pcsc-lite's SCardTransmit when the driver reports the card gone (IFDTransmit:
            // SCARD_E_NO_SMARTCARD); the following calls get SCARD_W_REMOVED_CARD.
            EXPECT_EQ(rc, SCARD_E_NO_SMARTCARD) << std::hex << rc;
        }
        EXPECT_LT(took, 5s);
        sim().set_faults({});
        // Afterwards the handle reports the removal until it reconnects to a new card.
        wait_for(names[0], SCARD_STATE_EMPTY);
        Bytes r;
        EXPECT_EQ(transmit(h, active, kEchoApdu, r), SCARD_W_REMOVED_CARD);
        expect_usable_with_new_card();
        TearDown();
        ctx = 0;
    }
}

TEST_F(CardFaults, ReaderHardwareErrorDeactivatesTheCard) {
    start_connected("short:t1");
    sim().inject_hardware_error(0);
    // The event thread learns it from the interrupt pipe; the next transmit finds the card
    // deactivated (or the handle already marked).
    std::chrono::milliseconds took{};
    LONG rc = SCARD_S_SUCCESS;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (rc == SCARD_S_SUCCESS && std::chrono::steady_clock::now() < deadline) rc = timed_echo(took);
    // The card was deactivated under the session: libccid's IFD_COMMUNICATION_ERROR.
    EXPECT_EQ(rc, SCARD_E_NOT_TRANSACTED) << std::hex << rc;
    EXPECT_LT(took, 5s);
    // The transmit can fail (the card is inactive) before the event thread has read the
    // notification. Let it arrive first, so that what follows is a reset after a delivered
    // fault (one read after the reset would be stale and left alone: ReaderEvents tests).
    const auto delivered = std::chrono::steady_clock::now() + 5s;
    while (sim().stats().interrupts[0x51] == 0 && std::chrono::steady_clock::now() < delivered)
        std::this_thread::sleep_for(1ms);
    EXPECT_EQ(sim().stats().interrupts[0x51], 1u) << "RDR_to_PC_HardwareError not read";
    std::this_thread::sleep_for(100ms);  // the event thread applies it right after reading it
    ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &active), SCARD_S_SUCCESS);
    expect_echo_works();
}

}  // namespace
}  // namespace ccidkit::api::testing

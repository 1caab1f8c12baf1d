// Fault suite, device faults (see the table in api/fault_suite.h): the reader unplugged during
// an APDU or a status-change wait, and a storm of slot-change interrupts.
#include <algorithm>
#include <thread>

#include "api/fault_suite.h"

namespace ccidkit::api::testing {
namespace {

class DeviceFaults : public FaultSuiteTest {};

TEST_F(DeviceFaults, UnpluggedDuringAnApdu) {
    start_connected("short:t1");
    sim::ReaderFaults f;
    f.endless_time_extension = true;
    xfr_faults(f);
    LONG rc = 0;
    std::chrono::milliseconds took{};
    std::thread app([&] { rc = timed_echo(took); });
    const auto limit = std::chrono::steady_clock::now() + 5s;
    while (sim().stats().time_extensions == 0 && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
    sim().disconnect();
    app.join();
    if (rc == SCARD_E_NOT_TRANSACTED) {
        EXPECT_GE(sim().stats().time_extensions, 1000u) << "NOT_TRANSACTED before the driver's limit";
    } else {
        EXPECT_EQ(rc, SCARD_E_READER_UNAVAILABLE) << std::hex << rc;
    }
    EXPECT_LT(took, 5s);
    // The reader is gone for good (a virtual reader does not come back): every later call
    // says so, quickly, and the handle can still be disconnected.
    const SCARD_READERSTATE rs = wait_for(names[0], SCARD_STATE_UNAVAILABLE);
    EXPECT_TRUE(rs.dwEventState & SCARD_STATE_UNAVAILABLE) << std::hex << rs.dwEventState;
    Bytes r;
    EXPECT_EQ(transmit(h, active, kEchoApdu, r), SCARD_E_READER_UNAVAILABLE);
    SCARDHANDLE h2 = 0;
    EXPECT_EQ(connect(0, h2, active), SCARD_E_READER_UNAVAILABLE);
    EXPECT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    h = 0;
}

// Unplugged during an APDU, then plugged back (provider->unplug_virtual / plug_virtual: a
// new device with the same identity, as a USB re-plug): the APDU fails, the old handle stays
// dead, a waiter sees the reader come back under the same name, and a new connection works.
TEST_F(DeviceFaults, UnpluggedDuringAnApduThenPluggedBack) {
    start_connected("tpdu:t1,short:t0");
    ASSERT_EQ(names.size(), 2u);
    sim::ReaderFaults f;
    f.silent = 1;  // the reply never comes: the APDU is still waiting at the unplug
    xfr_faults(f);
    LONG rc = 0;
    std::chrono::milliseconds took{};
    std::thread app([&] { rc = timed_echo(took); });
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(provider->unplug_virtual(0));
    app.join();
    EXPECT_EQ(rc, SCARD_E_READER_UNAVAILABLE) << std::hex << rc;
    EXPECT_LT(took, 5s);
    EXPECT_FALSE(provider->unplug_virtual(0)) << "already gone";

    // Gone from the list (a name no longer listed is refused on entry, docs/API.md); the
    // other reader stays.
    EXPECT_EQ(list_readers(ctx), std::vector<std::string>{names[1]});
    SCARD_READERSTATE rs{};
    rs.szReader = names[0].c_str();
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, &rs, 1), SCARD_E_UNKNOWN_READER);
    Bytes r;
    EXPECT_EQ(transmit(h, active, kEchoApdu, r), SCARD_E_READER_UNAVAILABLE);

    // A waiter on the reader list sees it come back, with its card.
    SCARD_READERSTATE pnp{};
    pnp.szReader = "\\\\?PnP?\\Notification";
    pnp.dwCurrentState = SCARD_STATE_UNAWARE;
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, &pnp, 1), SCARD_E_TIMEOUT);  // reads the reader-event count
    pnp.dwCurrentState = pnp.dwEventState;
    LONG wait_rc = 0;
    std::thread waiter([&] { took = timed([&] { wait_rc = SCardGetStatusChange(ctx, 10000, &pnp, 1); }); });
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(provider->plug_virtual(0));
    EXPECT_FALSE(provider->plug_virtual(0)) << "already plugged";
    waiter.join();
    EXPECT_EQ(wait_rc, SCARD_S_SUCCESS) << std::hex << wait_rc;
    EXPECT_TRUE(pnp.dwEventState & SCARD_STATE_CHANGED) << std::hex << pnp.dwEventState;
    EXPECT_LT(took, 5s);
    auto listed = list_readers(ctx);
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_NE(std::find(listed.begin(), listed.end(), names[0]), listed.end()) << "same name after the re-plug";
    rs = wait_for(names[0], SCARD_STATE_PRESENT);
    EXPECT_TRUE(rs.dwEventState & SCARD_STATE_PRESENT) << std::hex << rs.dwEventState;

    // The old handle belongs to the device that left; a new connection works from scratch.
    EXPECT_EQ(transmit(h, active, kEchoApdu, r), SCARD_E_READER_UNAVAILABLE);
    EXPECT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    h = 0;
    ASSERT_EQ(connect(0, h, active), SCARD_S_SUCCESS);
    expect_echo_works();  // a fresh simulator: the silent fault went with the old one
}

TEST_F(DeviceFaults, UnpluggedDuringAStatusChangeWait) {
    start("tpdu:t1,tpdu:t1");
    ASSERT_EQ(names.size(), 2u);
    SCARD_READERSTATE rs = wait_for(names[0], SCARD_STATE_PRESENT);
    rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
    LONG rc = 0;
    std::chrono::milliseconds took{};
    std::thread waiter([&] { took = timed([&] { rc = SCardGetStatusChange(ctx, 20000, &rs, 1); }); });
    // Unplugged while the waiter sleeps (an unplug before it starts must end it too).
    std::this_thread::sleep_for(50ms);
    sim(0).disconnect();
    waiter.join();
    EXPECT_EQ(rc, SCARD_S_SUCCESS) << std::hex << rc;
    EXPECT_TRUE(rs.dwEventState & SCARD_STATE_UNAVAILABLE) << std::hex << rs.dwEventState;
    EXPECT_TRUE(rs.dwEventState & SCARD_STATE_CHANGED);
    EXPECT_LT(took, 5s);
    // The other reader is not affected.
    ASSERT_EQ(SCardConnect(ctx, names[1].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &active),
              SCARD_S_SUCCESS);
    expect_echo_works();
}

TEST_F(DeviceFaults, InterruptStormKeepsTheReaderUsable) {
    start_connected("tpdu:t1");
    constexpr std::size_t kStorm = 20000;
    sim().inject_slot_change_storm(kStorm);
    // Transmits go on while the event thread digests the storm.
    for (int i = 0; i < 20; ++i) {
        std::chrono::milliseconds took{};
        Bytes r;
        LONG rc = 0;
        took = timed([&] { rc = transmit(h, active, kEchoApdu, r); });
        // Each notification of the storm says "changed" with the card still there: a swap for
        // the backend, which is what pcsc-lite would report too (the handle sees a removal).
        // A transmit that the driver fails because the event thread saw the "swap" first gets
        // SCARD_E_NO_SMARTCARD, as a removal during a transmit (CardFaults); the handle learns
        // of the removal a moment later.
        ASSERT_TRUE(rc == SCARD_S_SUCCESS || rc == SCARD_W_REMOVED_CARD || rc == SCARD_E_NO_SMARTCARD)
            << std::hex << rc;
        EXPECT_LT(took, 5s);
        if (rc != SCARD_S_SUCCESS) {
            ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &active),
                      SCARD_S_SUCCESS);
        }
    }
    // A status-change wait returns within its own timeout whatever the storm does.
    SCARD_READERSTATE rs{};
    rs.szReader = names[0].c_str();
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    LONG rc = 0;
    auto took = timed([&] { rc = SCardGetStatusChange(ctx, 1000, &rs, 1); });
    EXPECT_EQ(rc, SCARD_S_SUCCESS);
    EXPECT_LT(took, 5s);
    rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
    took = timed([&] { rc = SCardGetStatusChange(ctx, 1000, &rs, 1); });
    EXPECT_TRUE(rc == SCARD_S_SUCCESS || rc == SCARD_E_TIMEOUT) << std::hex << rc;
    EXPECT_LT(took, 5s);
    // Once the event thread has read the whole storm (bounded: it drains it), the card is there
    // and works; the handle may first have to take note of the last "swap".
    const auto limit = std::chrono::steady_clock::now() + 15s;
    while (sim().stats().count(ccid::MessageType::RdrToPcNotifySlotChange) < kStorm &&
           std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(10ms);
    EXPECT_GE(sim().stats().count(ccid::MessageType::RdrToPcNotifySlotChange), kStorm);
    EXPECT_TRUE(wait_for(names[0], SCARD_STATE_PRESENT).dwEventState & SCARD_STATE_PRESENT);
    Bytes r;
    rc = transmit(h, active, kEchoApdu, r);
    for (int i = 0; i < 5 && rc == SCARD_W_REMOVED_CARD; ++i) {
        ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &active), SCARD_S_SUCCESS);
        rc = transmit(h, active, kEchoApdu, r);
    }
    EXPECT_EQ(rc, SCARD_S_SUCCESS) << std::hex << rc;
    EXPECT_EQ(r, kEchoAnswer);
}

}  // namespace
}  // namespace ccidkit::api::testing

// SCardConnect / SCardReconnect / SCardDisconnect: share modes, protocol choice, card states.
#include <chrono>
#include <future>
#include <string>

#include "api/api_fixture.h"

namespace ccidkit::api::testing {
namespace {

class Connect : public ApiTest {
protected:
    void SetUp() override {
        ApiTest::SetUp();
        reader = reader_with_card(name);
        ctx = establish();
    }
    void TearDown() override {
        SCardReleaseContext(ctx);
        ApiTest::TearDown();
    }
    std::shared_ptr<FakeReader> reader;
    std::string name;
    SCARDCONTEXT ctx = 0;
};

TEST_F(Connect, ArgumentChecks) {
    SCARDHANDLE h = 99;
    DWORD active = 0;
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, nullptr, &active),
              SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, nullptr),
              SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardConnect(ctx, nullptr, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &active), SCARD_E_UNKNOWN_READER);
    EXPECT_EQ(h, 0);
    const std::string too_long(MAX_READERNAME + 1, 'r');
    EXPECT_EQ(SCardConnect(ctx, too_long.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &active),
              SCARD_E_INVALID_VALUE);
    EXPECT_EQ(SCardConnect(ctx + 1, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &active),
              SCARD_E_INVALID_HANDLE);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, 0, &h, &active), SCARD_E_PROTO_MISMATCH);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T15, &h, &active),
              SCARD_E_PROTO_MISMATCH);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), 7, SCARD_PROTOCOL_T1, &h, &active), SCARD_E_INVALID_VALUE);
    EXPECT_EQ(SCardConnect(ctx, "Fake Nothing 00 00", SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &active),
              SCARD_E_UNKNOWN_READER);
}

TEST_F(Connect, PowersTheCardAndNegotiatesOnce) {
    SCARDHANDLE a = 0, b = 0;
    DWORD pa = 0, pb = 0;
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &a, &pa),
              SCARD_S_SUCCESS);
    EXPECT_EQ(pa, static_cast<DWORD>(SCARD_PROTOCOL_T1));
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &b, &pb), SCARD_S_SUCCESS);
    EXPECT_EQ(pb, static_cast<DWORD>(SCARD_PROTOCOL_T1));
    EXPECT_NE(a, b);
    EXPECT_EQ(reader->power_ons(), 1);
    EXPECT_EQ(reader->protocols_set().size(), 1u);
    // The card speaks T=1 now: a T=0-only connection cannot share it.
    SCARDHANDLE c = 0;
    DWORD pc = 0;
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0, &c, &pc), SCARD_E_PROTO_MISMATCH);
    EXPECT_EQ(SCardDisconnect(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardDisconnect(b, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardDisconnect(b, SCARD_LEAVE_CARD), SCARD_E_INVALID_HANDLE);
}

TEST_F(Connect, ProtocolChoiceFollowsPcscLite) {
    // T=0 and T=1 offered, T=0 is the default: T=1 is tried first.
    reader->insert(kAtrT0T1);
    SCARDHANDLE h = 0;
    DWORD p = 0;
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &p),
              SCARD_S_SUCCESS);
    EXPECT_EQ(p, static_cast<DWORD>(SCARD_PROTOCOL_T1));
    SCardDisconnect(h, SCARD_UNPOWER_CARD);

    // The reader refuses T=1: falls back to the card's default protocol T=0.
    reader->insert(kAtrT0T1);
    reader->set_protocols(SCARD_PROTOCOL_T0);
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &p),
              SCARD_S_SUCCESS);
    EXPECT_EQ(p, static_cast<DWORD>(SCARD_PROTOCOL_T0));
    SCardDisconnect(h, SCARD_LEAVE_CARD);

    // Only T=1 acceptable to the application, refused by the reader: no fallback allowed.
    reader->insert(kAtrT0T1);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &p), SCARD_E_PROTO_MISMATCH);

    // The card only offers T=0.
    reader->set_protocols(SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1);
    reader->insert(kAtrT0);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &p), SCARD_E_PROTO_MISMATCH);
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &p),
              SCARD_S_SUCCESS);
    EXPECT_EQ(p, static_cast<DWORD>(SCARD_PROTOCOL_T0));
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

TEST_F(Connect, FailedNegotiationIsUnresponsiveCard) {
    reader->set_pps_fails(true);
    SCARDHANDLE h = 0;
    DWORD p = 0;
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &p), SCARD_W_UNRESPONSIVE_CARD);
    EXPECT_EQ(h, 0);
}

TEST_F(Connect, NoCardAndMuteCard) {
    reader->remove();
    SCARDHANDLE h = 0;
    DWORD p = 0;
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &p), SCARD_E_NO_SMARTCARD);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, &h, &p), SCARD_E_NO_SMARTCARD);
    reader->insert(kAtrT1, /*mute=*/true);
    // pcsc-lite: a card that does not answer to reset is "unpowered" for SCardConnect.
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &p), SCARD_W_UNPOWERED_CARD);
}

TEST_F(Connect, CardWithoutAtr) {
    // Memory cards may answer to reset with nothing; the card is still usable (T=0 default).
    reader->insert(Bytes{});
    SCARDHANDLE h = 0;
    DWORD p = 0;
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &p),
              SCARD_S_SUCCESS);
    EXPECT_EQ(p, static_cast<DWORD>(SCARD_PROTOCOL_T0));
    DWORD atr_len = 99;
    ASSERT_EQ(SCardStatus(h, nullptr, nullptr, nullptr, nullptr, nullptr, &atr_len), SCARD_S_SUCCESS);
    EXPECT_EQ(atr_len, 0u);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

TEST_F(Connect, DirectNeedsNoCardAndNoProtocol) {
    reader->remove();
    SCARDHANDLE h = 0;
    DWORD p = 1234;
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_DIRECT, 0, &h, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(p, static_cast<DWORD>(SCARD_PROTOCOL_UNDEFINED));
    EXPECT_EQ(reader->power_ons(), 0);
    // pcsc-lite (unlike Windows) treats direct like shared: a shared connection may join.
    reader->insert(kAtrT1);
    SCARDHANDLE s = 0;
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &s, &p), SCARD_S_SUCCESS);
    SCARDHANDLE e = 0;
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, &e, &p),
              SCARD_E_SHARING_VIOLATION);
    SCardDisconnect(s, SCARD_LEAVE_CARD);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

TEST_F(Connect, ExclusiveRules) {
    SCARDHANDLE e = 0, s = 0;
    DWORD p = 0;
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, &e, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &s, &p), SCARD_E_SHARING_VIOLATION);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_DIRECT, 0, &s, &p), SCARD_E_SHARING_VIOLATION);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, &s, &p),
              SCARD_E_SHARING_VIOLATION);
    ASSERT_EQ(SCardDisconnect(e, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &s, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, &e, &p),
              SCARD_E_SHARING_VIOLATION);
    SCardDisconnect(s, SCARD_LEAVE_CARD);
}

TEST_F(Connect, RawProtocol) {
    SCARDHANDLE h = 0;
    DWORD p = 0;
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_RAW, &h, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(p, static_cast<DWORD>(SCARD_PROTOCOL_RAW));
    EXPECT_TRUE(reader->protocols_set().empty());
    const Bytes apdu{0x00, 0xA4, 0x04, 0x00};
    Bytes resp(64);
    DWORD len = static_cast<DWORD>(resp.size());
    ASSERT_EQ(SCardTransmit(h, SCARD_PCI_RAW, apdu.data(), 4, nullptr, resp.data(), &len), SCARD_S_SUCCESS);
    EXPECT_EQ(len, 6u);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

TEST_F(Connect, DisconnectDispositions) {
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardDisconnect(h, 9), SCARD_E_INVALID_VALUE);
    Bytes r;
    ASSERT_EQ(transmit(h, kVerify, r), SCARD_S_SUCCESS);
    ASSERT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    EXPECT_EQ(logged_in(h), 1);  // LEAVE kept the card state
    ASSERT_EQ(SCardDisconnect(h, SCARD_RESET_CARD), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    EXPECT_EQ(logged_in(h), 0);
    ASSERT_EQ(SCardDisconnect(h, SCARD_UNPOWER_CARD), SCARD_S_SUCCESS);
    EXPECT_FALSE(reader->powered());
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);  // powers the card again
    EXPECT_TRUE(reader->powered());
    ASSERT_EQ(SCardDisconnect(h, SCARD_EJECT_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(reader->ejects(), 1);
}

TEST_F(Connect, ReconnectArgumentChecks) {
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    DWORD p = 0;
    EXPECT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, nullptr),
              SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardReconnect(h + 1, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p),
              SCARD_E_INVALID_HANDLE);
    EXPECT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_EJECT_CARD, &p), SCARD_E_INVALID_VALUE);
    EXPECT_EQ(SCardReconnect(h, 0, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_E_INVALID_VALUE);
    EXPECT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, 0, SCARD_LEAVE_CARD, &p), SCARD_E_PROTO_MISMATCH);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

TEST_F(Connect, ReconnectResetsAndTellsTheOtherHandles) {
    SCARDHANDLE a = 0, b = 0;
    ASSERT_EQ(connect(ctx, name, a), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(ctx, name, b), SCARD_S_SUCCESS);
    Bytes r;
    ASSERT_EQ(transmit(b, kVerify, r), SCARD_S_SUCCESS);
    DWORD p = 0;
    ASSERT_EQ(SCardReconnect(a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(p, static_cast<DWORD>(SCARD_PROTOCOL_T1));
    EXPECT_EQ(logged_in(a), 0);  // the resetting handle goes on
    // The other handle learns about the reset on every call until it reconnects.
    EXPECT_EQ(transmit(b, kVerify, r), SCARD_W_RESET_CARD);
    DWORD len = 0;
    EXPECT_EQ(SCardStatus(b, nullptr, &len, nullptr, nullptr, nullptr, nullptr), SCARD_W_RESET_CARD);
    EXPECT_EQ(SCardBeginTransaction(b), SCARD_W_RESET_CARD);
    EXPECT_EQ(transmit(b, kVerify, r), SCARD_W_RESET_CARD);
    ASSERT_EQ(SCardReconnect(b, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(transmit(b, kVerify, r), SCARD_S_SUCCESS);
    // UNPOWER: cold reset, the card stays powered for the caller.
    const int before = reader->power_ons();
    ASSERT_EQ(SCardReconnect(b, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_UNPOWER_CARD, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(reader->power_ons(), before + 1);
    EXPECT_GE(reader->power_offs(), 1);
    EXPECT_EQ(logged_in(b), 0);
    EXPECT_EQ(logged_in(a), -1);
    SCardDisconnect(a, SCARD_LEAVE_CARD);
    SCardDisconnect(b, SCARD_LEAVE_CARD);
}

TEST_F(Connect, ReconnectChangesShareMode) {
    SCARDHANDLE a = 0, b = 0;
    DWORD p = 0;
    ASSERT_EQ(connect(ctx, name, a), SCARD_S_SUCCESS);
    ASSERT_EQ(SCardReconnect(a, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_S_SUCCESS);
    EXPECT_EQ(connect(ctx, name, b), SCARD_E_SHARING_VIOLATION);
    ASSERT_EQ(SCardReconnect(a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(ctx, name, b), SCARD_S_SUCCESS);
    Bytes r;
    EXPECT_EQ(transmit(b, kVerify, r), SCARD_S_SUCCESS);  // no lock left behind by the exclusive mode
    SCardDisconnect(a, SCARD_LEAVE_CARD);
    SCardDisconnect(b, SCARD_LEAVE_CARD);
}

TEST_F(Connect, ReconnectToExclusiveWaitsForTheOtherHandlesToLeave) {
    SCARDHANDLE a = 0, b = 0;
    ASSERT_EQ(connect(ctx, name, a), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(ctx, name, b), SCARD_S_SUCCESS);
    // pcsc-lite's client retries while pcscd answers SCARD_E_SHARING_VIOLATION.
    auto upgrade = std::async(std::launch::async, [&] {
        DWORD p = 0;
        return SCardReconnect(a, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p);
    });
    EXPECT_EQ(upgrade.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
    Bytes r;
    EXPECT_EQ(transmit(b, kVerify, r), SCARD_S_SUCCESS);  // the waiting call holds nothing
    ASSERT_EQ(SCardDisconnect(b, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    ASSERT_EQ(upgrade.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_EQ(upgrade.get(), SCARD_S_SUCCESS);
    EXPECT_EQ(connect(ctx, name, b), SCARD_E_SHARING_VIOLATION);
    SCardDisconnect(a, SCARD_LEAVE_CARD);
}

TEST_F(Connect, ReconnectToExclusiveWithNoBlockingFailsAtOnce) {
    install_provider(provider, ServiceOptions{.no_blocking = true, .lock_dir = {}});
    ctx = establish();
    SCARDHANDLE a = 0, b = 0;
    ASSERT_EQ(connect(ctx, name, a), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(ctx, name, b), SCARD_S_SUCCESS);
    DWORD p = 0;
    EXPECT_EQ(SCardReconnect(a, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p),
              SCARD_E_SHARING_VIOLATION);
    Bytes r;
    EXPECT_EQ(transmit(b, kVerify, r), SCARD_S_SUCCESS);
    SCardDisconnect(a, SCARD_LEAVE_CARD);
    SCardDisconnect(b, SCARD_LEAVE_CARD);
}

TEST_F(Connect, ReconnectAfterRemoval) {
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    reader->remove();
    Bytes r;
    EXPECT_EQ(transmit(h, kVerify, r), SCARD_W_REMOVED_CARD);
    DWORD p = 0;
    EXPECT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_E_NO_SMARTCARD);
    EXPECT_EQ(transmit(h, kVerify, r), SCARD_W_REMOVED_CARD);
    reader->insert(kAtrT0);
    ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p),
              SCARD_S_SUCCESS);
    EXPECT_EQ(p, static_cast<DWORD>(SCARD_PROTOCOL_T0));
    EXPECT_EQ(transmit(h, kVerify, r), SCARD_S_SUCCESS);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

TEST_F(Connect, SwappedCardIsARemoval) {
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    reader->insert(kAtrT1);  // out and in again between two calls
    Bytes r;
    EXPECT_EQ(transmit(h, kVerify, r), SCARD_W_REMOVED_CARD);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

TEST_F(Connect, UnpluggedReader) {
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    provider->unplug(reader);
    Bytes r;
    EXPECT_EQ(transmit(h, kVerify, r), SCARD_E_READER_UNAVAILABLE);
    DWORD len = 0;
    EXPECT_EQ(SCardStatus(h, nullptr, &len, nullptr, nullptr, nullptr, nullptr), SCARD_E_READER_UNAVAILABLE);
    EXPECT_EQ(SCardBeginTransaction(h), SCARD_E_READER_UNAVAILABLE);
    DWORD p = 0;
    EXPECT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p),
              SCARD_E_READER_UNAVAILABLE);
    EXPECT_EQ(SCardDisconnect(h, SCARD_RESET_CARD), SCARD_S_SUCCESS);
    EXPECT_EQ(connect(ctx, name, h), SCARD_E_UNKNOWN_READER);
}

TEST_F(Connect, UnavailableReader) {
    reader->set_unavailable(true);
    SCARDHANDLE h = 0;
    EXPECT_EQ(connect(ctx, name, h), SCARD_E_READER_UNAVAILABLE);
    reader->set_unavailable(false);
    EXPECT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

}  // namespace
}  // namespace ccidkit::api::testing

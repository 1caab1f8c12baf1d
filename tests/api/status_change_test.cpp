// SCardGetStatusChange and SCardCancel: pcsc-lite's flag rules (unit level), then the API with
// timeouts, wake-ups from other threads, the PnP notification reader and cancellation.
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "api/api_fixture.h"
#include "api/status_change.h"

namespace ccidkit::api::testing {
namespace {

using namespace std::chrono_literals;

SCARD_READERSTATE entry(const char* name, DWORD current) {
    SCARD_READERSTATE e{};
    e.szReader = name;
    e.dwCurrentState = current;
    return e;
}

// --- evaluation rules ------------------------------------------------------------------------

TEST(StatusChangeRules, UnawareAlwaysReportsTheState) {
    const Bytes atr = kAtrT1;
    auto e = entry("r", SCARD_STATE_UNAWARE);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_PRESENT | SCARD_POWERED, 0, 5, atr}));
    EXPECT_EQ(e.dwEventState, static_cast<DWORD>(SCARD_STATE_CHANGED | SCARD_STATE_PRESENT | (5u << 16)));
    EXPECT_EQ(e.cbAtr, atr.size());
    EXPECT_EQ(0, std::memcmp(e.rgbAtr, atr.data(), atr.size()));
}

TEST(StatusChangeRules, PresenceTransitions) {
    auto e = entry("r", SCARD_STATE_EMPTY);
    EXPECT_FALSE(evaluate_reader(e, ReaderView{SCARD_ABSENT, 0, 0, {}}));
    EXPECT_EQ(e.dwEventState, static_cast<DWORD>(SCARD_STATE_EMPTY));
    EXPECT_EQ(e.cbAtr, 0u);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_PRESENT, 0, 1, {}}));
    EXPECT_EQ(e.dwEventState & 0xFFFF, static_cast<DWORD>(SCARD_STATE_PRESENT | SCARD_STATE_CHANGED));
    e = entry("r", SCARD_STATE_PRESENT);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_ABSENT, 0, 2, {}}));
    EXPECT_EQ(e.dwEventState & 0xFFFF, static_cast<DWORD>(SCARD_STATE_EMPTY | SCARD_STATE_CHANGED));
}

TEST(StatusChangeRules, EventCounterDetectsMissedTransitions) {
    // PRESENT then, meanwhile, out and in again: same flags, the counter tells.
    auto e = entry("r", SCARD_STATE_PRESENT | (3u << 16));
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_PRESENT, 0, 5, {}}));
    EXPECT_EQ(e.dwEventState >> 16, 5u);
    // A zero counter in dwCurrentState means "not tracking".
    e = entry("r", SCARD_STATE_PRESENT);
    EXPECT_FALSE(evaluate_reader(e, ReaderView{SCARD_PRESENT, 0, 5, {}}));
    e = entry("r", SCARD_STATE_PRESENT | (5u << 16));
    EXPECT_FALSE(evaluate_reader(e, ReaderView{SCARD_PRESENT, 0, 5, {}}));
}

TEST(StatusChangeRules, MuteCard) {
    auto e = entry("r", SCARD_STATE_PRESENT);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_PRESENT | SCARD_SWALLOWED, 0, 1, {}}));
    EXPECT_EQ(e.dwEventState & 0xFFFF, static_cast<DWORD>(SCARD_STATE_PRESENT | SCARD_STATE_MUTE | SCARD_STATE_CHANGED));
    e = entry("r", SCARD_STATE_PRESENT | SCARD_STATE_MUTE);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_PRESENT | SCARD_POWERED, 0, 1, {}}));
}

TEST(StatusChangeRules, SharingFlagsWithPcscLiteAsymmetry) {
    auto e = entry("r", SCARD_STATE_PRESENT);
    // INUSE / EXCLUSIVE appearing is reported but does not end the wait (pcsc-lite).
    EXPECT_FALSE(evaluate_reader(e, ReaderView{SCARD_PRESENT, 2, 0, {}}));
    EXPECT_TRUE(e.dwEventState & SCARD_STATE_INUSE);
    EXPECT_FALSE(evaluate_reader(e, ReaderView{SCARD_PRESENT, -1, 0, {}}));
    EXPECT_TRUE(e.dwEventState & SCARD_STATE_EXCLUSIVE);
    // ... while their disappearance, or a switch between them, does.
    e = entry("r", SCARD_STATE_PRESENT | SCARD_STATE_INUSE);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_PRESENT, 0, 0, {}}));
    e = entry("r", SCARD_STATE_PRESENT | SCARD_STATE_INUSE);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_PRESENT, -1, 0, {}}));
    e = entry("r", SCARD_STATE_PRESENT | SCARD_STATE_EXCLUSIVE);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_PRESENT, 1, 0, {}}));
    // A direct connection without card is not "in use".
    e = entry("r", SCARD_STATE_EMPTY);
    EXPECT_FALSE(evaluate_reader(e, ReaderView{SCARD_ABSENT, 1, 0, {}}));
    EXPECT_FALSE(e.dwEventState & SCARD_STATE_INUSE);
}

TEST(StatusChangeRules, ReaderUnavailableAndBack) {
    auto e = entry("r", SCARD_STATE_PRESENT);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_UNKNOWN, 0, 4, {}}));
    EXPECT_EQ(e.dwEventState, static_cast<DWORD>(SCARD_STATE_UNAVAILABLE | SCARD_STATE_CHANGED));
    e = entry("r", SCARD_STATE_UNAVAILABLE);
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_PRESENT, 0, 4, {}}));
    EXPECT_FALSE(e.dwEventState & SCARD_STATE_UNAVAILABLE);
}

TEST(StatusChangeRules, MissingReader) {
    auto e = entry("r", SCARD_STATE_PRESENT);
    EXPECT_TRUE(evaluate_missing_reader(e));
    EXPECT_EQ(e.dwEventState, static_cast<DWORD>(SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE | SCARD_STATE_CHANGED));
    // Fed back, it does not fire again (pcsc-lite avoids IGNORE for this reason) ...
    e.dwCurrentState = e.dwEventState;
    EXPECT_FALSE(evaluate_missing_reader(e));
    // ... and the reader's return is a change.
    EXPECT_TRUE(evaluate_reader(e, ReaderView{SCARD_ABSENT, 0, 0, {}}));
}

TEST(StatusChangeRules, PnpNotification) {
    EXPECT_TRUE(is_pnp_notification("\\\\?PnP?\\Notification"));
    EXPECT_TRUE(is_pnp_notification("\\\\?pnp?\\notification"));
    EXPECT_FALSE(is_pnp_notification("\\\\?PnP?\\Notification "));
    EXPECT_FALSE(is_pnp_notification(nullptr));
    auto e = entry(kPnpNotification, 0);
    EXPECT_FALSE(evaluate_pnp_initial(e, 3));  // UNAWARE / zero count: no change by itself
    EXPECT_EQ(e.dwEventState, 3u << 16);
    e.dwCurrentState = e.dwEventState;
    EXPECT_FALSE(evaluate_pnp_initial(e, 3));
    EXPECT_TRUE(evaluate_pnp_initial(e, 4));  // a reader came or went since the last call
    EXPECT_EQ(e.dwEventState, (4u << 16) | SCARD_STATE_CHANGED);
    auto f = entry(kPnpNotification, 0);
    evaluate_pnp_initial(f, 7);
    EXPECT_FALSE(evaluate_pnp(f, 7, 7));
    EXPECT_TRUE(evaluate_pnp(f, 7, 8));
    EXPECT_EQ(f.dwEventState, (8u << 16) | SCARD_STATE_CHANGED);
}

// --- through the API -----------------------------------------------------------------------

class StatusChange : public ApiTest {
protected:
    void SetUp() override {
        ApiTest::SetUp();
        reader = add_reader();
        name = single_reader_name();
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

TEST_F(StatusChange, ArgumentChecks) {
    SCARD_READERSTATE e = entry(name.c_str(), 0);
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, nullptr, 1), SCARD_E_INVALID_PARAMETER);
    std::vector<SCARD_READERSTATE> many(PCSCLITE_MAX_READERS_CONTEXTS + 1, e);
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, many.data(), static_cast<DWORD>(many.size())), SCARD_E_INVALID_PARAMETER);
    SCARD_READERSTATE null_name = entry(nullptr, 0);
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, &null_name, 1), SCARD_E_INVALID_VALUE);
    // Nothing to watch: success at once, whatever the context (as pcsc-lite).
    EXPECT_EQ(SCardGetStatusChange(ctx + 1, INFINITE, nullptr, 0), SCARD_S_SUCCESS);
    SCARD_READERSTATE ignored = entry(name.c_str(), SCARD_STATE_IGNORE);
    EXPECT_EQ(SCardGetStatusChange(ctx, INFINITE, &ignored, 1), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardGetStatusChange(ctx + 1, 0, &e, 1), SCARD_E_INVALID_HANDLE);
    SCARD_READERSTATE unknown = entry("Nope 00 00", 0);
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, &unknown, 1), SCARD_E_UNKNOWN_READER);
}

TEST_F(StatusChange, ImmediateAnswerAndTimeout) {
    SCARD_READERSTATE e = entry(name.c_str(), SCARD_STATE_UNAWARE);
    ASSERT_EQ(SCardGetStatusChange(ctx, 0, &e, 1), SCARD_S_SUCCESS);
    EXPECT_EQ(e.dwEventState & 0xFFFF, static_cast<DWORD>(SCARD_STATE_EMPTY | SCARD_STATE_CHANGED));
    e.dwCurrentState = e.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, &e, 1), SCARD_E_TIMEOUT);
    EXPECT_EQ(e.dwEventState & 0xFFFF, static_cast<DWORD>(SCARD_STATE_EMPTY));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(SCardGetStatusChange(ctx, 50, &e, 1), SCARD_E_TIMEOUT);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST_F(StatusChange, InsertionWakesAnInfiniteWaitAndShowsTheAtr) {
    SCARD_READERSTATE e = entry(name.c_str(), SCARD_STATE_EMPTY);
    auto wait = std::async(std::launch::async, [&] { return SCardGetStatusChange(ctx, INFINITE, &e, 1); });
    EXPECT_EQ(wait.wait_for(50ms), std::future_status::timeout);
    reader->insert(kAtrT1);
    ASSERT_EQ(wait.wait_for(5s), std::future_status::ready);
    ASSERT_EQ(wait.get(), SCARD_S_SUCCESS);
    EXPECT_EQ(e.dwEventState & 0xFFFF, static_cast<DWORD>(SCARD_STATE_PRESENT | SCARD_STATE_CHANGED));
    EXPECT_EQ(e.dwEventState >> 16, 1u);
    // The card was powered to read its ATR, as pcscd does at insertion.
    EXPECT_EQ(Bytes(e.rgbAtr, e.rgbAtr + e.cbAtr), kAtrT1);
    EXPECT_EQ(reader->power_ons(), 1);
}

TEST_F(StatusChange, MinusOneIsInfiniteToo) {
    // A LONG -1 passed as the 64-bit DWORD timeout (pcsc-lite maps it to INFINITE).
    SCARD_READERSTATE e = entry(name.c_str(), SCARD_STATE_EMPTY);
    auto wait = std::async(std::launch::async, [&] { return SCardGetStatusChange(ctx, static_cast<DWORD>(-1), &e, 1); });
    EXPECT_EQ(wait.wait_for(50ms), std::future_status::timeout);
    reader->insert(kAtrT0);
    ASSERT_EQ(wait.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(wait.get(), SCARD_S_SUCCESS);
}

TEST_F(StatusChange, MuteCardIsReported) {
    reader->insert(kAtrT1, /*mute=*/true);
    SCARD_READERSTATE e = entry(name.c_str(), SCARD_STATE_EMPTY);
    ASSERT_EQ(SCardGetStatusChange(ctx, 1000, &e, 1), SCARD_S_SUCCESS);
    EXPECT_EQ(e.dwEventState & 0xFFFF, static_cast<DWORD>(SCARD_STATE_PRESENT | SCARD_STATE_MUTE | SCARD_STATE_CHANGED));
    EXPECT_EQ(e.cbAtr, 0u);
}

TEST_F(StatusChange, SharingShowsUpInTheState) {
    reader->insert(kAtrT1);
    SCARDHANDLE h = 0;
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    SCARD_READERSTATE e = entry(name.c_str(), SCARD_STATE_UNAWARE);
    ASSERT_EQ(SCardGetStatusChange(ctx, 0, &e, 1), SCARD_S_SUCCESS);
    EXPECT_TRUE(e.dwEventState & SCARD_STATE_INUSE);
    // A waiter that saw INUSE is woken when the handle goes away.
    e.dwCurrentState = e.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
    auto wait = std::async(std::launch::async, [&] { return SCardGetStatusChange(ctx, 5000, &e, 1); });
    EXPECT_EQ(wait.wait_for(50ms), std::future_status::timeout);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
    ASSERT_EQ(wait.get(), SCARD_S_SUCCESS);
    EXPECT_FALSE(e.dwEventState & SCARD_STATE_INUSE);
}

TEST_F(StatusChange, PnpNotificationOnReaderArrivalAndRemoval) {
    SCARD_READERSTATE e[2] = {entry(kPnpNotification, SCARD_STATE_UNAWARE), entry(name.c_str(), SCARD_STATE_EMPTY)};
    // UNAWARE on the PnP entry alone does not return at once (unlike Windows).
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, e, 2), SCARD_E_TIMEOUT);
    const DWORD count = e[0].dwEventState >> 16;
    EXPECT_GE(count, 1u);
    e[0].dwCurrentState = e[0].dwEventState;
    auto wait = std::async(std::launch::async, [&] { return SCardGetStatusChange(ctx, INFINITE, e, 2); });
    EXPECT_EQ(wait.wait_for(50ms), std::future_status::timeout);
    auto second = add_reader("Second", "S2");
    ASSERT_EQ(wait.wait_for(5s), std::future_status::ready);
    ASSERT_EQ(wait.get(), SCARD_S_SUCCESS);
    EXPECT_EQ(e[0].dwEventState, ((count + 1) << 16) | SCARD_STATE_CHANGED);
    EXPECT_FALSE(e[1].dwEventState & SCARD_STATE_CHANGED);

    // A reader that leaves during the wait: UNKNOWN | UNAVAILABLE | CHANGED.
    e[1].dwCurrentState = SCARD_STATE_EMPTY;
    e[0].dwCurrentState = e[0].dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
    auto removal = std::async(std::launch::async, [&] { return SCardGetStatusChange(ctx, 5000, e, 2); });
    EXPECT_EQ(removal.wait_for(50ms), std::future_status::timeout);
    provider->unplug(reader);
    ASSERT_EQ(removal.get(), SCARD_S_SUCCESS);
    EXPECT_EQ(e[0].dwEventState, ((count + 2) << 16) | SCARD_STATE_CHANGED);
    EXPECT_EQ(e[1].dwEventState, static_cast<DWORD>(SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE | SCARD_STATE_CHANGED));
    // Asking about it afterwards is an unknown reader (pcsc-lite checks names on entry).
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, e, 2), SCARD_E_UNKNOWN_READER);
}

TEST_F(StatusChange, CancelWakesAWaiterFromAnotherThread) {
    SCARD_READERSTATE e = entry(name.c_str(), SCARD_STATE_EMPTY);
    // A cancel with nobody waiting does not cancel the next call.
    EXPECT_EQ(SCardCancel(ctx), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, &e, 1), SCARD_E_TIMEOUT);
    auto wait = std::async(std::launch::async, [&] { return SCardGetStatusChange(ctx, INFINITE, &e, 1); });
    EXPECT_EQ(wait.wait_for(50ms), std::future_status::timeout);
    const auto start = std::chrono::steady_clock::now();
    // Retried until the waiter is really inside the call (the first Cancel may come too early).
    std::future_status st = std::future_status::timeout;
    for (int i = 0; i < 100 && st != std::future_status::ready; ++i) {
        ASSERT_EQ(SCardCancel(ctx), SCARD_S_SUCCESS);
        st = wait.wait_for(20ms);
    }
    ASSERT_EQ(st, std::future_status::ready);
    EXPECT_EQ(wait.get(), SCARD_E_CANCELLED);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    // The cancellation does not stick.
    EXPECT_EQ(SCardGetStatusChange(ctx, 0, &e, 1), SCARD_E_TIMEOUT);
    EXPECT_EQ(SCardCancel(ctx + 1), SCARD_E_INVALID_HANDLE);
}

TEST_F(StatusChange, ReleasingTheContextEndsTheWait) {
    SCARD_READERSTATE e = entry(name.c_str(), SCARD_STATE_EMPTY);
    const SCARDCONTEXT other = establish();
    auto wait = std::async(std::launch::async, [&] { return SCardGetStatusChange(other, INFINITE, &e, 1); });
    EXPECT_EQ(wait.wait_for(50ms), std::future_status::timeout);
    ASSERT_EQ(SCardReleaseContext(other), SCARD_S_SUCCESS);
    ASSERT_EQ(wait.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(wait.get(), SCARD_E_CANCELLED);
}

TEST_F(StatusChange, ManyEntriesIgnoredOnesUntouchedExceptEventState) {
    reader->insert(kAtrT0);
    SCARD_READERSTATE e[2] = {entry(name.c_str(), SCARD_STATE_IGNORE), entry(name.c_str(), SCARD_STATE_UNAWARE)};
    e[0].dwEventState = 0xDEAD;
    e[0].cbAtr = 7;
    ASSERT_EQ(SCardGetStatusChange(ctx, 0, e, 2), SCARD_S_SUCCESS);
    EXPECT_EQ(e[0].dwEventState, 0u);
    EXPECT_EQ(e[0].cbAtr, 7u);
    EXPECT_TRUE(e[1].dwEventState & SCARD_STATE_PRESENT);
}

}  // namespace
}  // namespace ccidkit::api::testing

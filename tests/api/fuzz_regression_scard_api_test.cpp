// Regressions found by fuzz/targets/fuzz_scard_api.cpp (docs/SECURITY.md, F2).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "api/virtual_reader_fixture.h"

namespace ccidkit::api::testing {
namespace {

using namespace std::chrono_literals;

class FuzzRegressionScardApi : public VirtualReaderTest {
protected:
    // Runs `call` on its own thread; a call still blocked after 5 s is a deadlock: the test
    // process cannot recover its thread, so it stops with a message.
    static LONG within_5s(std::function<LONG()> call) {
        auto task = std::make_shared<std::packaged_task<LONG()>>(std::move(call));
        auto result = task->get_future();
        std::thread([task] { (*task)(); }).detach();
        if (result.wait_for(5s) != std::future_status::ready) {
            std::fprintf(stderr, "FuzzRegressionScardApi: the call is still blocked after 5 s (deadlock)\n");
            std::abort();
        }
        return result.get();
    }
};

// F2: SCardReleaseContext reset the context's cards handle by handle; a handle that came
// before the transaction holder waited for that transaction, which only the release itself
// could end: the call never returned.
TEST_F(FuzzRegressionScardApi, ReleaseContextWithOwnTransactionOnAnotherHandleReturns) {
    start("tpdu:t1");
    for (int holder = 0; holder < 2; ++holder) {
        SCOPED_TRACE(holder);
        SCARDCONTEXT c = 0;
        ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &c), SCARD_S_SUCCESS);
        SCARDHANDLE h[2] = {0, 0};
        DWORD active = 0;
        for (auto& x : h)
            ASSERT_EQ(SCardConnect(c, names[0].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &x, &active),
                      SCARD_S_SUCCESS);
        ASSERT_EQ(SCardBeginTransaction(h[holder]), SCARD_S_SUCCESS);
        EXPECT_EQ(within_5s([c] { return SCardReleaseContext(c); }), SCARD_S_SUCCESS);
        EXPECT_EQ(SCardIsValidContext(c), SCARD_E_INVALID_HANDLE);
        // The reader is free again: another context connects and transacts.
        SCARDHANDLE other = 0;
        ASSERT_EQ(connect(0, other, active), SCARD_S_SUCCESS);
        EXPECT_EQ(SCardBeginTransaction(other), SCARD_S_SUCCESS);
        EXPECT_EQ(SCardEndTransaction(other, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
        EXPECT_EQ(SCardDisconnect(other, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    }
}

}  // namespace
}  // namespace ccidkit::api::testing

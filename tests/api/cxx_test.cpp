// The C++ RAII layer (src/api/cxx/scard.h) over the C API.
#include <chrono>
#include <string>
#include <thread>

#include "api/api_fixture.h"
#include "api/cxx/scard.h"

namespace ccidkit::api::testing {
namespace {

using namespace std::chrono_literals;
using Cxx = ApiTest;

TEST_F(Cxx, ContextCardTransaction) {
    auto reader = add_reader();
    reader->insert(kAtrT0T1);
    auto ctx = scard::Context::establish();
    ASSERT_TRUE(ctx) << ctx.error().message();
    auto names = ctx->readers();
    ASSERT_TRUE(names);
    ASSERT_EQ(names->size(), 1u);

    auto card = ctx->connect(names->front());
    ASSERT_TRUE(card);
    EXPECT_EQ(card->protocol(), static_cast<DWORD>(SCARD_PROTOCOL_T1));
    auto resp = card->transmit(kVerify);
    ASSERT_TRUE(resp);
    EXPECT_EQ(*resp, (Bytes{0x90, 0x00}));

    auto st = card->status();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->reader, names->front());
    EXPECT_EQ(st->atr, kAtrT0T1);
    auto atr = card->attribute(SCARD_ATTR_ATR_STRING);
    ASSERT_TRUE(atr);
    EXPECT_EQ(*atr, kAtrT0T1);
    auto features = card->control(CM_IOCTL_GET_FEATURE_REQUEST);
    ASSERT_TRUE(features);
    EXPECT_EQ(features->size(), 6u);

    {
        // Connected first: a new connection would wait for the end of the transaction.
        auto other = ctx->connect(names->front());
        ASSERT_TRUE(other);
        auto tx = card->begin_transaction();
        ASSERT_TRUE(tx);
        // The other connection may not touch the reader meanwhile.
        auto refused = other->control(CM_IOCTL_GET_FEATURE_REQUEST);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, SCARD_E_SHARING_VIOLATION);
        EXPECT_FALSE(refused.error().message().empty());
    }  // the transaction ends here, then `other` disconnects
    auto tx = card->begin_transaction();
    ASSERT_TRUE(tx);
    EXPECT_TRUE(tx->end(SCARD_RESET_CARD));
    auto after = card->transmit(kVerify);
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error().code, SCARD_W_RESET_CARD);
    EXPECT_TRUE(card->reconnect(SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0, SCARD_LEAVE_CARD));
    EXPECT_EQ(card->protocol(), static_cast<DWORD>(SCARD_PROTOCOL_T0));
    EXPECT_TRUE(card->disconnect(SCARD_UNPOWER_CARD));
    EXPECT_FALSE(reader->powered());
}

TEST_F(Cxx, ErrorsAndWaits) {
    auto ctx = scard::Context::establish();
    ASSERT_TRUE(ctx);
    auto none = ctx->readers();
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    auto missing = ctx->connect("Nope 00 00");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), scard::Error{SCARD_E_UNKNOWN_READER});
    EXPECT_FALSE(scard::Context::establish(99));

    SCARD_READERSTATE pnp{};
    pnp.szReader = "\\\\?PnP?\\Notification";
    auto timed_out = ctx->wait_for_change({&pnp, 1}, 0ms);
    ASSERT_TRUE(timed_out);
    EXPECT_FALSE(*timed_out);
    pnp.dwCurrentState = pnp.dwEventState;
    std::thread plug([this] {
        std::this_thread::sleep_for(30ms);
        add_reader();
    });
    auto changed = ctx->wait_for_change({&pnp, 1}, std::chrono::milliseconds(-1));
    plug.join();
    ASSERT_TRUE(changed);
    EXPECT_TRUE(*changed);

    scard::Context moved = std::move(*ctx);
    EXPECT_TRUE(moved.valid());
    EXPECT_FALSE(ctx->valid());
}

}  // namespace
}  // namespace ccidkit::api::testing

// Contexts, reader listing and the buffer conventions of SCardListReaders/Groups.
#include <cstring>
#include <string>

#include "api/api_fixture.h"

namespace ccidkit::api::testing {
namespace {

using Context = ApiTest;

TEST_F(Context, EstablishValidatesArguments) {
    SCARDCONTEXT ctx = 77;
    EXPECT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, nullptr), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardEstablishContext(4, nullptr, nullptr, &ctx), SCARD_E_INVALID_VALUE);
    EXPECT_EQ(ctx, 0);
    for (DWORD scope : {SCARD_SCOPE_USER, SCARD_SCOPE_TERMINAL, SCARD_SCOPE_SYSTEM, SCARD_SCOPE_GLOBAL}) {
        ASSERT_EQ(SCardEstablishContext(scope, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
        EXPECT_GT(ctx, 0);
        EXPECT_EQ(SCardIsValidContext(ctx), SCARD_S_SUCCESS);
        EXPECT_EQ(SCardReleaseContext(ctx), SCARD_S_SUCCESS);
        EXPECT_EQ(SCardIsValidContext(ctx), SCARD_E_INVALID_HANDLE);
    }
}

TEST_F(Context, ContextsAreDistinctAndIndependent) {
    const SCARDCONTEXT a = establish();
    const SCARDCONTEXT b = establish();
    EXPECT_NE(a, b);
    EXPECT_EQ(SCardReleaseContext(a), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardIsValidContext(b), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardReleaseContext(a), SCARD_E_INVALID_HANDLE);
    EXPECT_EQ(SCardReleaseContext(b), SCARD_S_SUCCESS);
    EXPECT_EQ(SCardIsValidContext(0), SCARD_E_INVALID_HANDLE);
}

TEST_F(Context, ReplacingTheProviderInvalidatesContexts) {
    const SCARDCONTEXT ctx = establish();
    install_provider(std::make_shared<FakeProvider>(), ServiceOptions{});
    EXPECT_EQ(SCardIsValidContext(ctx), SCARD_E_INVALID_HANDLE);
}

TEST_F(Context, ListReadersWithoutReaders) {
    const SCARDCONTEXT ctx = establish();
    DWORD len = 1234;
    EXPECT_EQ(SCardListReaders(ctx, nullptr, nullptr, &len), SCARD_E_NO_READERS_AVAILABLE);
    EXPECT_EQ(len, 1u);
    EXPECT_EQ(SCardListReaders(ctx, nullptr, nullptr, nullptr), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardListReaders(ctx + 1, nullptr, nullptr, &len), SCARD_E_INVALID_HANDLE);
    SCardReleaseContext(ctx);
}

TEST_F(Context, ListReadersMultiStringAndSizes) {
    add_reader("Alpha", "A1");
    add_reader("Beta", "B1");
    const SCARDCONTEXT ctx = establish();
    const std::string expected = std::string("Fake Alpha (A1) 00 00") + '\0' + "Fake Beta (B1) 01 00" + '\0' + '\0';

    DWORD len = 0;
    ASSERT_EQ(SCardListReaders(ctx, nullptr, nullptr, &len), SCARD_S_SUCCESS);
    EXPECT_EQ(len, expected.size());

    std::string buf(len, 'x');
    DWORD small = len - 1;
    EXPECT_EQ(SCardListReaders(ctx, nullptr, buf.data(), &small), SCARD_E_INSUFFICIENT_BUFFER);
    EXPECT_EQ(small, expected.size());
    EXPECT_EQ(buf, std::string(len, 'x'));  // nothing written

    ASSERT_EQ(SCardListReaders(ctx, nullptr, buf.data(), &len), SCARD_S_SUCCESS);
    EXPECT_EQ(buf, expected);

    char* alloc = nullptr;
    DWORD auto_len = SCARD_AUTOALLOCATE;
    ASSERT_EQ(SCardListReaders(ctx, "SCard$DefaultReaders\0", reinterpret_cast<LPSTR>(&alloc), &auto_len),
              SCARD_S_SUCCESS);
    ASSERT_NE(alloc, nullptr);
    EXPECT_EQ(std::string(alloc, auto_len), expected);
    EXPECT_EQ(SCardFreeMemory(ctx, alloc), SCARD_S_SUCCESS);

    auto_len = SCARD_AUTOALLOCATE;
    EXPECT_EQ(SCardListReaders(ctx, nullptr, nullptr, &auto_len), SCARD_E_INVALID_PARAMETER);
    SCardReleaseContext(ctx);
}

TEST_F(Context, ListReaderGroups) {
    const SCARDCONTEXT ctx = establish();
    const std::string expected = std::string("SCard$DefaultReaders") + '\0' + '\0';
    DWORD len = 0;
    ASSERT_EQ(SCardListReaderGroups(ctx, nullptr, &len), SCARD_S_SUCCESS);
    EXPECT_EQ(len, expected.size());
    std::string buf(len, 'x');
    DWORD small = 3;
    EXPECT_EQ(SCardListReaderGroups(ctx, buf.data(), &small), SCARD_E_INSUFFICIENT_BUFFER);
    EXPECT_EQ(small, expected.size());
    ASSERT_EQ(SCardListReaderGroups(ctx, buf.data(), &len), SCARD_S_SUCCESS);
    EXPECT_EQ(buf, expected);
    EXPECT_EQ(SCardListReaderGroups(ctx, nullptr, nullptr), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardListReaderGroups(ctx + 1, nullptr, &len), SCARD_E_INVALID_HANDLE);
    SCardReleaseContext(ctx);
}

TEST_F(Context, FreeMemoryNeedsAValidContext) {
    const SCARDCONTEXT ctx = establish();
    EXPECT_EQ(SCardFreeMemory(ctx, nullptr), SCARD_S_SUCCESS);
    SCardReleaseContext(ctx);
    EXPECT_EQ(SCardFreeMemory(ctx, nullptr), SCARD_E_INVALID_HANDLE);
}

TEST_F(Context, ReleasingAContextLeavesTheCardsItSharedAsTheyAre) {
    std::string name;
    auto reader = reader_with_card(name);
    const SCARDCONTEXT ctx = establish();
    const SCARDCONTEXT other = establish();
    SCARDHANDLE h = 0, observer = 0;
    ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(other, name, observer), SCARD_S_SUCCESS);
    Bytes r;
    ASSERT_EQ(transmit(h, kVerify, r), SCARD_S_SUCCESS);
    const int before = reader->power_ons();
    EXPECT_EQ(SCardReleaseContext(ctx), SCARD_S_SUCCESS);
    // pcscd 1.9.9 disconnects a handle that holds no lock with SCARD_LEAVE_CARD: the other
    // applications sharing the card keep its state.
    EXPECT_EQ(reader->power_ons(), before);
    EXPECT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_E_INVALID_HANDLE);
    EXPECT_EQ(logged_in(observer), 1);
    SCardReleaseContext(other);
}

TEST_F(Context, ReleasingAContextResetsTheCardsItLocked) {
    std::string name;
    auto reader = reader_with_card(name);
    const SCARDCONTEXT other = establish();
    SCARDHANDLE observer = 0;
    ASSERT_EQ(connect(other, name, observer), SCARD_S_SUCCESS);
    for (const bool exclusive : {false, true}) {
        SCOPED_TRACE(exclusive ? "exclusive connection" : "transaction");
        if (exclusive) {
            ASSERT_EQ(SCardDisconnect(observer, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
        }
        const SCARDCONTEXT ctx = establish();
        SCARDHANDLE h = 0;
        ASSERT_EQ(connect(ctx, name, h, exclusive ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED), SCARD_S_SUCCESS);
        if (!exclusive) {
            ASSERT_EQ(SCardBeginTransaction(h), SCARD_S_SUCCESS);
        }
        Bytes r;
        ASSERT_EQ(transmit(h, kVerify, r), SCARD_S_SUCCESS);
        const int before = reader->power_ons();
        EXPECT_EQ(SCardReleaseContext(ctx), SCARD_S_SUCCESS);
        // What the handle holding the lock unlocked on the card must not outlive it.
        EXPECT_EQ(reader->power_ons(), before + 1);
        if (exclusive) {
            ASSERT_EQ(connect(other, name, observer), SCARD_S_SUCCESS);
        } else {
            EXPECT_EQ(transmit(observer, kVerify, r), SCARD_W_RESET_CARD);
        }
        DWORD p = 0;
        ASSERT_EQ(SCardReconnect(observer, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p),
                  SCARD_S_SUCCESS);
        EXPECT_EQ(logged_in(observer), 0);
    }
    SCardReleaseContext(other);
}

TEST_F(Context, StringifyError) {
    EXPECT_STRNE(pcsc_stringify_error(SCARD_E_NO_SMARTCARD), pcsc_stringify_error(SCARD_E_TIMEOUT));
    for (LONG code : {SCARD_S_SUCCESS, SCARD_F_INTERNAL_ERROR, SCARD_E_SHARING_VIOLATION, SCARD_W_RESET_CARD,
                      SCARD_E_NO_READERS_AVAILABLE, SCARD_E_UNSUPPORTED_FEATURE, SCARD_W_CARD_NOT_AUTHENTICATED}) {
        const char* s = pcsc_stringify_error(code);
        ASSERT_NE(s, nullptr);
        EXPECT_GT(std::strlen(s), 5u);
        EXPECT_EQ(std::strstr(s, "Unknown error"), nullptr) << std::hex << code;
    }
    EXPECT_STREQ(pcsc_stringify_error(0x7654321), "Unknown error: 0x07654321");
    EXPECT_STREQ(pcsc_stringify_error(static_cast<LONG>(0x801000FF)), "Unknown error: 0x801000FF");
}

}  // namespace
}  // namespace ccidkit::api::testing

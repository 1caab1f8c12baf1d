// SCardTransmit and SCardStatus: arguments, buffers, protocol checks, card events.
#include <string>

#include "api/api_fixture.h"

namespace ccidkit::api::testing {
namespace {

class Transmit : public ApiTest {
protected:
    void SetUp() override {
        ApiTest::SetUp();
        reader = reader_with_card(name);
        ctx = establish();
        ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    }
    void TearDown() override {
        SCardReleaseContext(ctx);
        ApiTest::TearDown();
    }
    std::shared_ptr<FakeReader> reader;
    std::string name;
    SCARDCONTEXT ctx = 0;
    SCARDHANDLE h = 0;
};

TEST_F(Transmit, EchoAndStatusWords) {
    const Bytes apdu{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00};
    BYTE out[64];
    DWORD len = sizeof(out);
    SCARD_IO_REQUEST recv{0xAA, 0xBB};
    ASSERT_EQ(SCardTransmit(h, SCARD_PCI_T1, apdu.data(), static_cast<DWORD>(apdu.size()), &recv, out, &len),
              SCARD_S_SUCCESS);
    ASSERT_EQ(len, apdu.size() + 2);
    EXPECT_EQ(Bytes(out, out + apdu.size()), apdu);
    EXPECT_EQ(out[len - 2], 0x90);
    EXPECT_EQ(out[len - 1], 0x00);
    EXPECT_EQ(recv.dwProtocol, 0xAAu);  // pcsc-lite's drivers leave pioRecvPci as it was
    EXPECT_EQ(reader->commands().back(), apdu);
}

TEST_F(Transmit, ArgumentChecks) {
    const Bytes apdu{0x00, 0xB0, 0x00, 0x00, 0x10};
    BYTE out[300];
    DWORD len = sizeof(out);
    EXPECT_EQ(SCardTransmit(h, nullptr, apdu.data(), 5, nullptr, out, &len), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T1, nullptr, 5, nullptr, out, &len), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T1, apdu.data(), 5, nullptr, nullptr, &len), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T1, apdu.data(), 5, nullptr, out, nullptr), SCARD_E_INVALID_PARAMETER);
    len = sizeof(out);
    EXPECT_EQ(SCardTransmit(h + 1, SCARD_PCI_T1, apdu.data(), 5, nullptr, out, &len), SCARD_E_INVALID_HANDLE);
    EXPECT_EQ(len, 0u);
    len = sizeof(out);
    EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T1, apdu.data(), MAX_BUFFER_SIZE_EXTENDED + 1, nullptr, out, &len),
              SCARD_E_INSUFFICIENT_BUFFER);
    len = sizeof(out);
    EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T0, apdu.data(), 5, nullptr, out, &len), SCARD_E_PROTO_MISMATCH);
    const SCARD_IO_REQUEST any{SCARD_PROTOCOL_ANY, sizeof(SCARD_IO_REQUEST)};
    EXPECT_EQ(SCardTransmit(h, &any, apdu.data(), 5, nullptr, out, &len), SCARD_E_PROTO_MISMATCH);
    // The empty command reaches the card, which rejects it.
    len = sizeof(out);
    EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T1, apdu.data(), 0, nullptr, out, &len), SCARD_E_NOT_TRANSACTED);
}

TEST_F(Transmit, TooSmallBufferReportsTheNeededSize) {
    const Bytes read{0x00, 0xB0, 0x00, 0x00, 0x20};  // 32 bytes + SW
    BYTE out[34];
    DWORD len = 33;
    EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T1, read.data(), 5, nullptr, out, &len), SCARD_E_INSUFFICIENT_BUFFER);
    EXPECT_EQ(len, 34u);
    len = 34;
    ASSERT_EQ(SCardTransmit(h, SCARD_PCI_T1, read.data(), 5, nullptr, out, &len), SCARD_S_SUCCESS);
    EXPECT_EQ(len, 34u);
    EXPECT_EQ(out[31], 31);
    len = 0;
    EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T1, read.data(), 5, nullptr, out, &len), SCARD_E_INSUFFICIENT_BUFFER);
    EXPECT_EQ(len, 34u);
}

TEST_F(Transmit, ShortAndExtendedSizes) {
    Bytes resp;
    ASSERT_EQ(transmit(h, {0x00, 0xB0, 0x00, 0x00, 0x00}, resp), SCARD_S_SUCCESS);
    EXPECT_EQ(resp.size(), 258u);
    Bytes big(5000, 0x5A);
    big[0] = 0x80;
    big[1] = 0x10;
    ASSERT_EQ(transmit(h, big, resp), SCARD_S_SUCCESS);
    EXPECT_EQ(resp.size(), big.size() + 2);
}

TEST_F(Transmit, RemovedCardUntilReconnect) {
    reader->remove();
    Bytes resp;
    EXPECT_EQ(transmit(h, kVerify, resp), SCARD_W_REMOVED_CARD);
    BYTE out[16];
    DWORD len = sizeof(out);
    EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T1, kVerify.data(), 9, nullptr, out, &len), SCARD_W_REMOVED_CARD);
    EXPECT_EQ(len, 0u);
    DWORD p = 0;
    EXPECT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &p), SCARD_E_NO_SMARTCARD);
}

TEST_F(Transmit, RawNeedsNoCardCheckButTheCardAnswers) {
    reader->remove();
    SCARDHANDLE d = 0;
    DWORD p = 0;
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_DIRECT, 0, &d, &p), SCARD_S_SUCCESS);
    BYTE out[16];
    DWORD len = sizeof(out);
    EXPECT_EQ(SCardTransmit(d, SCARD_PCI_T1, kVerify.data(), 9, nullptr, out, &len), SCARD_E_NO_SMARTCARD);
    len = sizeof(out);
    EXPECT_EQ(SCardTransmit(d, SCARD_PCI_RAW, kVerify.data(), 9, nullptr, out, &len), SCARD_E_NO_SMARTCARD);
}

class Status : public Transmit {};

TEST_F(Status, ReportsNameStateProtocolAndAtr) {
    char reader_name[MAX_READERNAME];
    DWORD name_len = sizeof(reader_name);
    DWORD state = 0, protocol = 0;
    BYTE atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof(atr);
    ASSERT_EQ(SCardStatus(h, reader_name, &name_len, &state, &protocol, atr, &atr_len), SCARD_S_SUCCESS);
    EXPECT_EQ(std::string(reader_name), name);
    EXPECT_EQ(name_len, name.size() + 1);
    EXPECT_EQ(state & 0xFFFF, static_cast<DWORD>(SCARD_PRESENT | SCARD_POWERED | SCARD_NEGOTIABLE));
    EXPECT_EQ(state >> 16, 0u);  // the card was already there when the reader appeared
    EXPECT_EQ(protocol, static_cast<DWORD>(SCARD_PROTOCOL_T1));
    EXPECT_EQ(Bytes(atr, atr + atr_len), kAtrT1);
}

TEST_F(Status, SizeQueriesAndSmallBuffers) {
    DWORD name_len = 0, atr_len = 0;
    ASSERT_EQ(SCardStatus(h, nullptr, &name_len, nullptr, nullptr, nullptr, &atr_len), SCARD_S_SUCCESS);
    EXPECT_EQ(name_len, name.size() + 1);
    EXPECT_EQ(atr_len, kAtrT1.size());
    ASSERT_EQ(SCardStatus(h, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), SCARD_S_SUCCESS);

    char small[4];
    name_len = sizeof(small);
    BYTE atr[2];
    atr_len = sizeof(atr);
    DWORD state = 99;
    EXPECT_EQ(SCardStatus(h, small, &name_len, &state, nullptr, atr, &atr_len), SCARD_E_INSUFFICIENT_BUFFER);
    EXPECT_EQ(name_len, name.size() + 1);
    EXPECT_EQ(atr_len, kAtrT1.size());
    EXPECT_EQ(std::string(small, 4), name.substr(0, 4));
    EXPECT_NE(state, 0u);
}

TEST_F(Status, AutoAllocate) {
    char* n = nullptr;
    BYTE* a = nullptr;
    DWORD name_len = SCARD_AUTOALLOCATE, atr_len = SCARD_AUTOALLOCATE;
    ASSERT_EQ(SCardStatus(h, reinterpret_cast<LPSTR>(&n), &name_len, nullptr, nullptr, reinterpret_cast<LPBYTE>(&a),
                          &atr_len),
              SCARD_S_SUCCESS);
    ASSERT_NE(n, nullptr);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(std::string(n), name);
    EXPECT_EQ(Bytes(a, a + atr_len), kAtrT1);
    SCardFreeMemory(ctx, n);
    SCardFreeMemory(ctx, a);
    name_len = SCARD_AUTOALLOCATE;
    EXPECT_EQ(SCardStatus(h, nullptr, &name_len, nullptr, nullptr, nullptr, nullptr), SCARD_E_INVALID_PARAMETER);
}

TEST_F(Status, EventCounterCountsInsertionsAndRemovals) {
    reader->remove();
    DWORD state = 0;
    EXPECT_EQ(SCardStatus(h, nullptr, nullptr, &state, nullptr, nullptr, nullptr), SCARD_W_REMOVED_CARD);
    EXPECT_EQ(state, 0u);
    reader->insert(kAtrT1);
    DWORD p = 0;
    ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &p), SCARD_S_SUCCESS);
    ASSERT_EQ(SCardStatus(h, nullptr, nullptr, &state, nullptr, nullptr, nullptr), SCARD_S_SUCCESS);
    EXPECT_EQ(state >> 16, 2u);  // one removal, one insertion
    EXPECT_EQ(SCardStatus(h + 1, nullptr, nullptr, &state, nullptr, nullptr, nullptr), SCARD_E_INVALID_HANDLE);
}

}  // namespace
}  // namespace ccidkit::api::testing

// Shared setup of the SCard API tests: a fresh service over a FakeProvider per test, with
// cross-process locking off (tests of that install their own lock directory).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "PCSC/winscard.h"
#include "api/fake_backend.h"
#include "api/service_registry.h"

namespace ccidkit::api::testing {

class ApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        provider = std::make_shared<FakeProvider>();
        install_provider(provider, ServiceOptions{});
    }
    void TearDown() override { install_provider(nullptr); }

    std::shared_ptr<FakeReader> add_reader(const std::string& model = "Reader", const std::string& serial = "S1",
                                           std::uint8_t slot = 0) {
        return provider->add(FakeReader::describe(model, serial, slot));
    }
    // A reader with a T=1 card in it; its PC/SC name is returned through `name`.
    std::shared_ptr<FakeReader> reader_with_card(std::string& name, const Bytes& atr = kAtrT1) {
        auto r = add_reader();
        r->insert(atr);
        name = single_reader_name();
        return r;
    }

    SCARDCONTEXT establish() {
        SCARDCONTEXT ctx = 0;
        EXPECT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
        return ctx;
    }
    std::vector<std::string> reader_names(SCARDCONTEXT ctx) {
        DWORD len = 0;
        if (SCardListReaders(ctx, nullptr, nullptr, &len) != SCARD_S_SUCCESS) return {};
        std::string buf(len, '\0');
        if (SCardListReaders(ctx, nullptr, buf.data(), &len) != SCARD_S_SUCCESS) return {};
        std::vector<std::string> out;
        for (std::size_t p = 0; p < buf.size() && buf[p] != '\0'; p += out.back().size() + 1)
            out.emplace_back(buf.c_str() + p);
        return out;
    }
    std::string single_reader_name() {
        const SCARDCONTEXT ctx = establish();
        auto names = reader_names(ctx);
        SCardReleaseContext(ctx);
        return names.size() == 1 ? names[0] : std::string{};
    }
    LONG connect(SCARDCONTEXT ctx, const std::string& name, SCARDHANDLE& h, DWORD share = SCARD_SHARE_SHARED,
                 DWORD protocols = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1) {
        DWORD active = 0;
        return SCardConnect(ctx, name.c_str(), share, protocols, &h, &active);
    }
    // Transmits with the handle's own protocol (read back through SCardStatus).
    LONG transmit(SCARDHANDLE h, const Bytes& apdu, Bytes& response) {
        DWORD protocol = 0;
        DWORD state = 0;
        DWORD name_len = 0, atr_len = 0;
        LONG rc = SCardStatus(h, nullptr, &name_len, &state, &protocol, nullptr, &atr_len);
        if (rc != SCARD_S_SUCCESS) return rc;
        const SCARD_IO_REQUEST* pci = protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
        response.assign(MAX_BUFFER_SIZE_EXTENDED, 0);
        DWORD len = static_cast<DWORD>(response.size());
        rc = SCardTransmit(h, pci, apdu.data(), static_cast<DWORD>(apdu.size()), nullptr, response.data(), &len);
        response.resize(rc == SCARD_S_SUCCESS ? len : 0);
        return rc;
    }
    // 01 when the fake card was "logged in" since its last reset.
    int logged_in(SCARDHANDLE h) {
        Bytes r;
        if (transmit(h, {0x00, 0xCA, 0x00, 0x01, 0x00}, r) != SCARD_S_SUCCESS || r.size() != 3) return -1;
        return r[0];
    }

    std::shared_ptr<FakeProvider> provider;
};

inline const Bytes kVerify{0x00, 0x20, 0x00, 0x01, 0x04, '1', '2', '3', '4'};

}  // namespace ccidkit::api::testing

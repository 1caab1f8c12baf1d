// A fixture for C ABI tests on in-process virtual readers: the default CCID provider with
// simulated readers (sim::ReaderSim behind the host driver), installed as the service, so
// that every SCard* call goes through the same code as with a USB reader. Tests reach the
// simulators (faults, card insertion and removal, unplug) through provider->simulator(i).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "PCSC/reader.h"
#include "PCSC/winscard.h"
#include "api/ccid_backend_provider.h"
#include "api/service_registry.h"
#include "sim/card/sim_card.h"
#include "sim/reader/reader_sim.h"
#include "sim/virtual_spec.h"

namespace ccidkit::api::testing {

class VirtualReaderTest : public ::testing::Test {
protected:
    // spec: the CCID_VIRTUAL_READERS syntax, e.g. "tpdu:t1,short:t0".
    void start(std::string_view spec, ServiceOptions options = {}) {
        auto specs = sim::parse_virtual_spec(spec);
        ASSERT_TRUE(specs) << specs.error();
        CcidProviderOptions o;
        o.virtual_readers = std::move(*specs);
        o.usb = false;
        provider = std::make_shared<CcidProvider>(std::move(o));
        install_provider(provider, options);
        ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
        names = list_readers(ctx);
    }
    void TearDown() override {
        if (ctx) SCardReleaseContext(ctx);
        install_provider(nullptr);
    }
    sim::ReaderSim& sim(std::size_t i = 0) { return *provider->simulator(i); }

    static std::vector<std::string> list_readers(SCARDCONTEXT c) {
        DWORD len = 0;
        if (SCardListReaders(c, nullptr, nullptr, &len) != SCARD_S_SUCCESS) return {};
        std::string buf(len, '\0');
        if (SCardListReaders(c, nullptr, buf.data(), &len) != SCARD_S_SUCCESS) return {};
        std::vector<std::string> out;
        for (std::size_t p = 0; p < buf.size() && buf[p] != '\0'; p += out.back().size() + 1)
            out.emplace_back(buf.c_str() + p);
        return out;
    }
    // Waits (at most `limit`) until the reader's state has all of `want`; returns the last state.
    SCARD_READERSTATE wait_for(const std::string& name, DWORD want,
                               std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        SCARD_READERSTATE rs{};
        rs.szReader = name.c_str();
        rs.dwCurrentState = SCARD_STATE_UNAWARE;
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            const LONG rc = SCardGetStatusChange(ctx, 200, &rs, 1);
            if (rc != SCARD_S_SUCCESS && rc != SCARD_E_TIMEOUT) break;
            if ((rs.dwEventState & want) == want) break;
            rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
        }
        return rs;
    }
    LONG connect(std::size_t reader, SCARDHANDLE& h, DWORD& active,
                 DWORD protocols = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, DWORD share = SCARD_SHARE_SHARED) {
        return SCardConnect(ctx, names.at(reader).c_str(), share, protocols, &h, &active);
    }
    static LONG transmit(SCARDHANDLE h, DWORD protocol, const Bytes& apdu, Bytes& response) {
        response.assign(MAX_BUFFER_SIZE_EXTENDED, 0);
        DWORD len = static_cast<DWORD>(response.size());
        const LONG rc = SCardTransmit(h, protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0, apdu.data(),
                                      static_cast<DWORD>(apdu.size()), nullptr, response.data(), &len);
        response.resize(rc == SCARD_S_SUCCESS ? len : 0);
        return rc;
    }
    // A DWORD attribute (4 bytes, little endian); nullopt with the return code otherwise.
    static std::optional<std::uint32_t> dword_attribute(SCARDHANDLE h, DWORD id, LONG* rc_out = nullptr) {
        BYTE value[16];
        DWORD len = sizeof value;
        const LONG rc = SCardGetAttrib(h, id, value, &len);
        if (rc_out) *rc_out = rc;
        if (rc != SCARD_S_SUCCESS || len != 4) return std::nullopt;
        return static_cast<std::uint32_t>(value[0] | value[1] << 8 | value[2] << 16 | value[3] << 24);
    }

    std::shared_ptr<CcidProvider> provider;
    SCARDCONTEXT ctx = 0;
    std::vector<std::string> names;
};

// The demo card's ECHO command (sim/card/apdu_app.h): data comes back with 9000.
inline const Bytes kEchoApdu{0x80, 0x10, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x03};
inline const Bytes kEchoAnswer{0x01, 0x02, 0x03, 0x90, 0x00};

}  // namespace ccidkit::api::testing

// The default provider's CCID backend, through the C ABI: simulated readers (sim::ReaderSim)
// driven by the host CCID driver, exactly as USB readers are, with its event thread reporting
// card insertions, removals and the device going away.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "PCSC/reader.h"
#include "PCSC/winscard.h"
#include "api/ccid_backend_provider.h"
#include "api/service_registry.h"
#include "sim/card/sim_card.h"
#include "sim/reader/reader_sim.h"
#include "common/scoped_env.h"
#include "sim/virtual_spec.h"

namespace ccidkit::api {
namespace {

using ccidkit::testing::ScopedEnv;

const Bytes kSelectAid{0x00, 0xA4, 0x04, 0x0C, 0x09, 0xF0, 0x43, 0x43, 0x49, 0x44, 0x4B, 0x49, 0x54, 0x01};
const Bytes kEcho{0x80, 0x10, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x03};

class CcidBackendTest : public ::testing::Test {
protected:
    void start(std::string_view spec) {
        auto specs = sim::parse_virtual_spec(spec);
        ASSERT_TRUE(specs) << specs.error();
        CcidProviderOptions o;
        o.virtual_readers = std::move(*specs);
        o.usb = false;
        provider = std::make_shared<CcidProvider>(std::move(o));
        install_provider(provider, ServiceOptions{});
        ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
        names = list();
    }
    void TearDown() override {
        if (ctx) SCardReleaseContext(ctx);
        install_provider(nullptr);
    }
    std::vector<std::string> list() {
        DWORD len = 0;
        if (SCardListReaders(ctx, nullptr, nullptr, &len) != SCARD_S_SUCCESS) return {};
        std::string buf(len, '\0');
        if (SCardListReaders(ctx, nullptr, buf.data(), &len) != SCARD_S_SUCCESS) return {};
        std::vector<std::string> out;
        for (std::size_t p = 0; p < buf.size() && buf[p] != '\0'; p += out.back().size() + 1)
            out.emplace_back(buf.c_str() + p);
        return out;
    }
    // Waits (at most 5 s) until the reader's state has all of `want`; returns the last state.
    SCARD_READERSTATE wait_for(const std::string& name, DWORD want) {
        SCARD_READERSTATE rs{};
        rs.szReader = name.c_str();
        rs.dwCurrentState = SCARD_STATE_UNAWARE;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            const LONG rc = SCardGetStatusChange(ctx, 500, &rs, 1);
            if (rc != SCARD_S_SUCCESS && rc != SCARD_E_TIMEOUT) break;
            if ((rs.dwEventState & want) == want) break;
            rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
        }
        return rs;
    }
    LONG transmit(SCARDHANDLE h, DWORD protocol, const Bytes& apdu, Bytes& response) {
        response.assign(MAX_BUFFER_SIZE_EXTENDED, 0);
        DWORD len = static_cast<DWORD>(response.size());
        const LONG rc = SCardTransmit(h, protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0, apdu.data(),
                                      static_cast<DWORD>(apdu.size()), nullptr, response.data(), &len);
        response.resize(rc == SCARD_S_SUCCESS ? len : 0);
        return rc;
    }

    std::shared_ptr<CcidProvider> provider;
    SCARDCONTEXT ctx = 0;
    std::vector<std::string> names;
};

TEST_F(CcidBackendTest, T1CardFromListToDisconnect) {
    start("tpdu:t1");
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(names[0], "ccidkit simulated reader (SIM0001-0) 00 00");

    const SCARD_READERSTATE rs = wait_for(names[0], SCARD_STATE_PRESENT);
    ASSERT_TRUE(rs.dwEventState & SCARD_STATE_PRESENT) << std::hex << rs.dwEventState;
    ASSERT_GE(rs.cbAtr, 2u);
    const Bytes watched_atr(rs.rgbAtr, rs.rgbAtr + rs.cbAtr);

    SCARDHANDLE h = 0;
    DWORD active = 0;
    ASSERT_EQ(SCardConnect(ctx, names[0].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                           &active),
              SCARD_S_SUCCESS);
    EXPECT_EQ(active, static_cast<DWORD>(SCARD_PROTOCOL_T1));

    Bytes r;
    ASSERT_EQ(transmit(h, active, kSelectAid, r), SCARD_S_SUCCESS);
    EXPECT_EQ(r, (Bytes{0x90, 0x00}));
    ASSERT_EQ(transmit(h, active, kEcho, r), SCARD_S_SUCCESS);
    EXPECT_EQ(r, (Bytes{0x01, 0x02, 0x03, 0x90, 0x00}));

    char name[MAX_READERNAME];
    DWORD name_len = sizeof name, state = 0, protocol = 0, atr_len = MAX_ATR_SIZE;
    BYTE atr[MAX_ATR_SIZE];
    ASSERT_EQ(SCardStatus(h, name, &name_len, &state, &protocol, atr, &atr_len), SCARD_S_SUCCESS);
    EXPECT_EQ(std::string(name), names[0]);
    EXPECT_EQ(protocol, static_cast<DWORD>(SCARD_PROTOCOL_T1));
    EXPECT_EQ(Bytes(atr, atr + atr_len), watched_atr);
    EXPECT_EQ(atr[0], 0x3B);

    // Attributes from the simulator's USB identity and class descriptor.
    BYTE value[64];
    DWORD value_len = sizeof value;
    ASSERT_EQ(SCardGetAttrib(h, SCARD_ATTR_VENDOR_IFD_VERSION, value, &value_len), SCARD_S_SUCCESS);
    ASSERT_EQ(value_len, 4u);
    EXPECT_EQ(value[2] | value[3] << 8, 0x0100);  // bcdDevice << 16, little endian
    value_len = sizeof value;
    ASSERT_EQ(SCardGetAttrib(h, SCARD_ATTR_MAXINPUT, value, &value_len), SCARD_S_SUCCESS);
    EXPECT_EQ(value[0] | value[1] << 8, 271 - 10);
    value_len = sizeof value;
    ASSERT_EQ(SCardGetAttrib(h, SCARD_ATTR_VENDOR_IFD_SERIAL_NO, value, &value_len), SCARD_S_SUCCESS);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(value), value_len).c_str(), std::string("SIM0001-0"));

    EXPECT_EQ(SCardDisconnect(h, SCARD_RESET_CARD), SCARD_S_SUCCESS);
}

TEST_F(CcidBackendTest, T0CardAndEmptySlot) {
    start("tpdu:t0,short:none");
    ASSERT_EQ(names.size(), 2u);
    EXPECT_NE(names[0], names[1]);

    SCARDHANDLE h = 0;
    DWORD active = 0;
    ASSERT_EQ(SCardConnect(ctx, names[0].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                           &active),
              SCARD_S_SUCCESS);
    EXPECT_EQ(active, static_cast<DWORD>(SCARD_PROTOCOL_T0));
    Bytes r;
    ASSERT_EQ(transmit(h, active, kSelectAid, r), SCARD_S_SUCCESS);
    EXPECT_EQ(r, (Bytes{0x90, 0x00}));
    // Case 2 through T=0: the pattern comes back with 9000.
    ASSERT_EQ(transmit(h, active, Bytes{0x80, 0x12, 0x00, 0x05, 0x04}, r), SCARD_S_SUCCESS);
    EXPECT_EQ(r, (Bytes{0x05, 0x06, 0x07, 0x08, 0x90, 0x00}));
    // Asking for T=1 on a T=0-only card is a protocol mismatch.
    SCARDHANDLE h1 = 0;
    EXPECT_EQ(SCardConnect(ctx, names[0].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h1, &active),
              SCARD_E_PROTO_MISMATCH);
    EXPECT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);

    const SCARD_READERSTATE rs = wait_for(names[1], SCARD_STATE_EMPTY);
    EXPECT_TRUE(rs.dwEventState & SCARD_STATE_EMPTY) << std::hex << rs.dwEventState;
    EXPECT_EQ(SCardConnect(ctx, names[1].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                           &active),
              SCARD_E_NO_SMARTCARD);
}

TEST_F(CcidBackendTest, RemovalAndInsertionReachTheApplication) {
    start("short:t1");
    ASSERT_EQ(names.size(), 1u);
    SCARDHANDLE h = 0;
    DWORD active = 0;
    ASSERT_EQ(SCardConnect(ctx, names[0].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &active),
              SCARD_S_SUCCESS);
    sim::ReaderSim* sim = provider->simulator(0);
    ASSERT_NE(sim, nullptr);

    sim->remove_card(0);
    SCARD_READERSTATE rs = wait_for(names[0], SCARD_STATE_EMPTY);
    ASSERT_TRUE(rs.dwEventState & SCARD_STATE_EMPTY) << std::hex << rs.dwEventState;
    Bytes r;
    EXPECT_EQ(transmit(h, active, kEcho, r), SCARD_W_REMOVED_CARD);

    sim->insert_card(0, sim::SimCard::t1_default());
    rs = wait_for(names[0], SCARD_STATE_PRESENT);
    ASSERT_TRUE(rs.dwEventState & SCARD_STATE_PRESENT) << std::hex << rs.dwEventState;
    // Removal + insertion: the event counter of bits 16-31 moved by at least two.
    EXPECT_GE(rs.dwEventState >> 16, 2u);
    ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &active), SCARD_S_SUCCESS);
    ASSERT_EQ(transmit(h, active, kEcho, r), SCARD_S_SUCCESS);
    EXPECT_EQ(r, (Bytes{0x01, 0x02, 0x03, 0x90, 0x00}));
    EXPECT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
}

TEST_F(CcidBackendTest, UnpluggedReaderBecomesUnavailable) {
    start("tpdu:t1");
    ASSERT_EQ(names.size(), 1u);
    SCARDHANDLE h = 0;
    DWORD active = 0;
    ASSERT_EQ(SCardConnect(ctx, names[0].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &active),
              SCARD_S_SUCCESS);
    provider->simulator(0)->disconnect();
    const SCARD_READERSTATE rs = wait_for(names[0], SCARD_STATE_UNAVAILABLE);
    EXPECT_TRUE(rs.dwEventState & SCARD_STATE_UNAVAILABLE) << std::hex << rs.dwEventState;
    Bytes r;
    const LONG rc = transmit(h, active, kEcho, r);
    EXPECT_TRUE(rc == SCARD_E_READER_UNAVAILABLE || rc == SCARD_W_REMOVED_CARD) << std::hex << rc;
    EXPECT_EQ(SCardConnect(ctx, names[0].c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &active),
              SCARD_E_READER_UNAVAILABLE);
}

TEST_F(CcidBackendTest, EscapeGoesToTheReader) {
    start("extended:t1");
    SCARDHANDLE h = 0;
    DWORD active = 0;
    ASSERT_EQ(SCardConnect(ctx, names.at(0).c_str(), SCARD_SHARE_DIRECT, 0, &h, &active), SCARD_S_SUCCESS);
    const BYTE cmd[] = {0x01, 0x02, 0x03};
    BYTE out[16];
    DWORD out_len = 0;
    // The simulator echoes PC_to_RDR_Escape's data (FEATURE_CCID_ESC_COMMAND = SCARD_CTL_CODE(1)).
    ASSERT_EQ(SCardControl(h, SCARD_CTL_CODE(1), cmd, sizeof cmd, out, sizeof out, &out_len), SCARD_S_SUCCESS);
    EXPECT_EQ(Bytes(out, out + out_len), Bytes(cmd, cmd + sizeof cmd));
    EXPECT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
}

TEST(CcidDefaultProvider, BuiltFromTheEnvironment) {
    ::setenv("CCID_VIRTUAL_READERS", "2", 1);
    ::setenv("CCIDKIT_USB", "0", 1);
    install_provider(nullptr, ServiceOptions{});
    SCARDCONTEXT ctx = 0;
    ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
    DWORD len = 0;
    ASSERT_EQ(SCardListReaders(ctx, nullptr, nullptr, &len), SCARD_S_SUCCESS);
    std::string buf(len, '\0');
    ASSERT_EQ(SCardListReaders(ctx, nullptr, buf.data(), &len), SCARD_S_SUCCESS);
    EXPECT_EQ(buf, std::string("ccidkit simulated reader (SIM0001-0) 00 00\0"
                               "ccidkit simulated reader (SIM0001-1) 01 00\0\0",
                               len));
    SCardReleaseContext(ctx);

    // A spec that does not parse: no service, rather than silently no reader.
    ::setenv("CCID_VIRTUAL_READERS", "tpdu:t2", 1);
    install_provider(nullptr, ServiceOptions{});
    EXPECT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_E_NO_SERVICE);
    ::unsetenv("CCID_VIRTUAL_READERS");
    install_provider(nullptr);
}

TEST(CcidProviderEnv, HotplugModeFromTheEnvironment) {
    {
        ScopedEnv unset("CCIDKIT_HOTPLUG", std::nullopt);
        EXPECT_EQ(ccid_provider_options_from_env().hotplug_mode, ccid::usb::HotplugMode::Auto);
    }
    {
        ScopedEnv poll("CCIDKIT_HOTPLUG", "poll");
        EXPECT_EQ(ccid_provider_options_from_env().hotplug_mode, ccid::usb::HotplugMode::Polling);
    }
    {
        ScopedEnv autom("CCIDKIT_HOTPLUG", "auto");
        EXPECT_EQ(ccid_provider_options_from_env().hotplug_mode, ccid::usb::HotplugMode::Auto);
    }
    {
        // A typo must not silently mean "auto".
        ScopedEnv typo("CCIDKIT_HOTPLUG", "polling");
        try {
            (void)ccid_provider_options_from_env();
            ADD_FAILURE() << "no error for CCIDKIT_HOTPLUG=polling";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("CCIDKIT_HOTPLUG"), std::string::npos) << e.what();
        }
    }
}

TEST(VirtualReadersEnv, CountOrSpec) {
    auto one = sim::parse_virtual_readers_env("1");
    ASSERT_TRUE(one);
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ(one->front().card, sim::VirtualReaderSpec::Card::T1);
    EXPECT_EQ(sim::simulated_level(one->front().config.descriptor), ccid::ExchangeLevel::Tpdu);

    auto three = sim::parse_virtual_readers_env("3");
    ASSERT_TRUE(three);
    EXPECT_EQ(three->size(), 3u);
    auto none = sim::parse_virtual_readers_env("");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    EXPECT_FALSE(sim::parse_virtual_readers_env("17"));
    EXPECT_FALSE(sim::parse_virtual_readers_env("999"));

    auto spec = sim::parse_virtual_readers_env("short:t0,tpdu:none,extended");
    ASSERT_TRUE(spec) << spec.error();
    ASSERT_EQ(spec->size(), 3u);
    EXPECT_EQ((*spec)[0].card, sim::VirtualReaderSpec::Card::T0);
    EXPECT_EQ(sim::simulated_level((*spec)[0].config.descriptor), ccid::ExchangeLevel::ShortApdu);
    EXPECT_EQ((*spec)[1].card, sim::VirtualReaderSpec::Card::None);
    EXPECT_EQ((*spec)[2].card, sim::VirtualReaderSpec::Card::T1);
    EXPECT_EQ((*spec)[2].spec, "extended");

    const auto bad = sim::parse_virtual_readers_env("tpdu:t2");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("unknown card 't2'"), std::string::npos) << bad.error();
    EXPECT_FALSE(sim::parse_virtual_readers_env("tpdu,,short"));
    EXPECT_FALSE(sim::parse_virtual_readers_env("usb"));
    const auto missing = sim::parse_virtual_readers_env("file=/nonexistent/reader.txt");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().find("/nonexistent/reader.txt"), std::string::npos) << missing.error();
}

}  // namespace
}  // namespace ccidkit::api

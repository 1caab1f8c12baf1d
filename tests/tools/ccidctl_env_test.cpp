// ccidctl reads $CCID_VIRTUAL_READERS and $CCIDKIT_USB like every PC/SC program on ccidkit:
// every command sees the same readers, under the same names, as SCardListReaders in the same
// environment; --virtual replaces the variable.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "PCSC/winscard.h"
#include "api/service_options.h"
#include "api/service_registry.h"
#include "tools/ccid_simd_process.h"
#include "tools/ccidctl_runner.h"
#include "common/scoped_env.h"

using namespace ccidkit;
using namespace ccidkit::testing_ccidctl;

namespace {

using ccidkit::testing::ScopedEnv;

// The names SCardListReaders gives in the current environment (a fresh service, so that it
// reads the variables now; no lock files).
std::vector<std::string> scard_reader_names() {
    api::install_provider(nullptr, api::ServiceOptions{});
    std::vector<std::string> names;
    SCARDCONTEXT ctx = 0;
    EXPECT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
    DWORD len = 0;
    const LONG rc = SCardListReaders(ctx, nullptr, nullptr, &len);
    if (rc == SCARD_S_SUCCESS) {
        std::string buf(len, '\0');
        EXPECT_EQ(SCardListReaders(ctx, nullptr, buf.data(), &len), SCARD_S_SUCCESS);
        for (std::size_t at = 0; at < buf.size() && buf[at] != '\0';) {
            const std::size_t end = buf.find('\0', at);
            names.push_back(buf.substr(at, end - at));
            at = end + 1;
        }
    } else {
        EXPECT_EQ(rc, SCARD_E_NO_READERS_AVAILABLE);
    }
    SCardReleaseContext(ctx);
    api::install_provider(nullptr);
    return names;
}

std::vector<std::string> ccidctl_reader_names(const Run& r) {
    std::vector<std::string> names;
    const auto doc = json_of(r);
    for (std::size_t i = 0; i < doc["readers"].size(); ++i) names.push_back(doc["readers"][i]["name"].string);
    return names;
}

TEST(CcidctlEnv, ListShowsTheVirtualReadersUnderTheNamesOfSCardListReaders) {
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv readers("CCID_VIRTUAL_READERS", "short:t1,tpdu:none,extended:t0");
    const auto expected = scard_reader_names();
    ASSERT_EQ(expected.size(), 3u);

    const testing_ccidctl::Run r = ctl({"--json", "list"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(ccidctl_reader_names(r), expected);
    const auto doc = json_of(r);
    EXPECT_EQ(doc["readers"][0]["slots"][0]["card"].string, "present");
    EXPECT_EQ(doc["readers"][1]["slots"][0]["card"].string, "absent");
    EXPECT_EQ(doc["readers"][2]["location"].string, "virtual:2");
}

TEST(CcidctlEnv, ACountGivesThatManyTpduReaders) {
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv readers("CCID_VIRTUAL_READERS", "2");
    const auto expected = scard_reader_names();
    ASSERT_EQ(expected.size(), 2u);
    const testing_ccidctl::Run r = ctl({"--json", "list", "--no-status"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(ccidctl_reader_names(r), expected);
    EXPECT_EQ(expected.front(), "ccidkit simulated reader (SIM0001-0) 00 00");
}

TEST(CcidctlEnv, VirtualReadersComeFirstWithUsbOn) {
    // Whatever USB holds on this machine (usually nothing, or no access at all), the simulated
    // readers keep the first indexes, and listing them never fails because of USB.
    ScopedEnv usb("CCIDKIT_USB", std::nullopt);
    ScopedEnv readers("CCID_VIRTUAL_READERS", "tpdu:t1");
    const testing_ccidctl::Run r = ctl({"--json", "list", "--no-status"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto names = ccidctl_reader_names(r);
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.front(), "ccidkit simulated reader (SIM0001-0) 00 00");
    EXPECT_EQ(json_of(r)["readers"][0]["location"].string, "virtual:0");
}

TEST(CcidctlEnv, EveryCommandUsesTheVariable) {
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv readers("CCID_VIRTUAL_READERS", "short:t1");
    EXPECT_EQ(ctl({"atr"}).code, 0);
    EXPECT_EQ(ctl({"apdu", "00A40000023F00"}).code, 0);
    const testing_ccidctl::Run info = ctl({"--json", "info", "--no-open"});
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_EQ(json_of(info)["source"].string, "virtual");
    EXPECT_EQ(ctl({"--reader", "SIM0001-0", "atr"}).code, 0);
    EXPECT_EQ(ctl({"--reader", "1", "atr"}).code, 2);  // only one reader
}

TEST(CcidctlEnv, VirtualOptionReplacesTheVariable) {
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv readers("CCID_VIRTUAL_READERS", "short:none");
    EXPECT_EQ(ctl({"atr"}).code, 3);  // the variable's reader has no card
    EXPECT_EQ(ctl({"--virtual", "short:t1", "atr"}).code, 0);
    const testing_ccidctl::Run r = ctl({"--json", "--virtual", "tpdu:t1,tpdu:t1", "list", "--no-status"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(ccidctl_reader_names(r).size(), 2u);
}

TEST(CcidctlEnv, AnUnparsableValueIsAUsageErrorNamingTheVariable) {
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv readers("CCID_VIRTUAL_READERS", "tpdu:t2");
    const testing_ccidctl::Run r = ctl({"list"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("CCID_VIRTUAL_READERS"), std::string::npos) << r.err;
    // --virtual does not read it, so it does not fail on it either.
    EXPECT_EQ(ctl({"--virtual", "tpdu", "list", "--no-status"}).code, 0);
}

TEST(CcidctlEnv, UsbOffAndNoVirtualReaderMeansNoReader) {
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv readers("CCID_VIRTUAL_READERS", std::nullopt);
    EXPECT_TRUE(scard_reader_names().empty());
    const testing_ccidctl::Run list = ctl({"list"});
    EXPECT_EQ(list.code, 2);
    const testing_ccidctl::Run atr = ctl({"atr"});
    EXPECT_EQ(atr.code, 2);
    EXPECT_NE(atr.err.find("CCIDKIT_USB=0"), std::string::npos) << atr.err;
    EXPECT_EQ(ctl({"monitor", "--timeout", "1"}).code, 2);
}

TEST(CcidctlEnv, ServedReadersGetTheNamesOfSCardListReaders) {
    if (::access(ccid_simd_path().c_str(), X_OK) != 0) GTEST_SKIP() << ccid_simd_path() << " not built";
    CcidSimd simd("tpdu:t1");
    ASSERT_TRUE(simd.ready()) << "ccid-simd did not start";
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv locks("CCIDKIT_LOCK_DIR", simd.dir());
    {
        ScopedEnv readers("CCID_VIRTUAL_READERS", "socket=" + simd.socket() + ",short:t1");
        const auto expected = scard_reader_names();
        ASSERT_EQ(expected.size(), 2u);
        const testing_ccidctl::Run r = ctl({"--json", "list"});
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(ccidctl_reader_names(r), expected);
        EXPECT_EQ(json_of(r)["readers"][0]["slots"][0]["card"].string, "present");
        EXPECT_EQ(ctl({"--reader", "0", "apdu", "00A40000023F00"}).code, 0);
    }
    {
        // No server at that path: the reader is left out (with a warning), as the SCard API
        // leaves it out, so the next one takes index 00 in both.
        ScopedEnv readers("CCID_VIRTUAL_READERS", "socket=" + simd.dir() + "/none.sock,short:t1");
        const auto expected = scard_reader_names();
        ASSERT_EQ(expected.size(), 1u);
        const testing_ccidctl::Run r = ctl({"--json", "list", "--no-status"});
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(ccidctl_reader_names(r), expected);
        EXPECT_NE(r.err.find("none.sock"), std::string::npos) << r.err;
    }
}

TEST(CcidctlEnv, HelpNamesTheVariables) {
    const testing_ccidctl::Run general = ctl({"--help"});
    EXPECT_NE(general.out.find("CCID_VIRTUAL_READERS"), std::string::npos);
    EXPECT_NE(general.out.find("CCIDKIT_USB"), std::string::npos);
    const testing_ccidctl::Run list = ctl({"list", "--help"});
    EXPECT_NE(list.out.find("$CCID_VIRTUAL_READERS"), std::string::npos);
}

}  // namespace

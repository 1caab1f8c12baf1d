// `ccidctl --virtual socket=PATH`: every command talks to the reader a ccid-simd process serves,
// never to an in-process simulator put in its place. The proofs: the card that each command
// sees is the one moved through the server's control socket (`ccid-simd ctl`); a claim held by
// another connection to the server makes ccidctl's open fail; and a socket with no server
// behind it gives no reader at all (exit status 2), whatever the command.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ccid/socket/socket_transport.h"
#include "tools/ccid_simd_process.h"
#include "tools/ccidctl_runner.h"
#include "common/scoped_env.h"

using namespace ccidkit;
using namespace ccidkit::testing_ccidctl;
namespace tj = ccidkit::testing_json;

namespace {

const std::string kSelectMf = "00A40000023F00";

using ccidkit::testing::ScopedEnv;

// A one-APDU scriptor script in the server's directory.
std::string write_script(const std::string& dir) {
    const std::string path = dir + "/select.script";
    std::ofstream(path) << kSelectMf << "\n";
    return path;
}

std::vector<std::string> event_kinds(const testing_ccidctl::Run& r) {
    std::vector<std::string> kinds;
    auto lines = tj::parse_lines(r.out);
    EXPECT_TRUE(lines) << r.out;
    if (lines)
        for (const auto& l : *lines) kinds.push_back(l["event"].string);
    return kinds;
}

// A ccid-simd server with a short-APDU reader and a T=1 card, which no test here leaves as
// it is when it matters: the card is moved through the server to tell it apart from an
// in-process "short:t1" simulator.
class ServedReader : public ::testing::Test {
protected:
    void SetUp() override {
        if (::access(ccid_simd_path().c_str(), X_OK) != 0) GTEST_SKIP() << ccid_simd_path() << " not built";
        simd_ = std::make_unique<CcidSimd>("short:t1");
        ASSERT_TRUE(simd_->ready()) << "ccid-simd did not start";
        spec_ = "socket=" + simd_->socket();
    }

    testing_ccidctl::Run served(std::vector<std::string> args) const {
        args.insert(args.begin(), {"--virtual", spec_});
        return ctl(std::move(args));
    }

    std::unique_ptr<CcidSimd> simd_;
    std::string spec_;
};

TEST_F(ServedReader, ListShowsTheServersReaderAndCard) {
    auto r = served({"--json", "list"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto doc = json_of(r);
    ASSERT_EQ(doc["readers"].size(), 1u) << r.out;
    EXPECT_EQ(doc["readers"][0]["location"].string, "virtual:0");
    EXPECT_EQ(doc["readers"][0]["slots"][0]["card"].string, "present");
    const std::string name = doc["readers"][0]["name"].string;

    ASSERT_TRUE(simd_->ctl("remove"));
    r = served({"--json", "list"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(json_of(r)["readers"][0]["slots"][0]["card"].string, "absent") << r.out;

    // The same reader, under the same name, as through $CCID_VIRTUAL_READERS.
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv readers("CCID_VIRTUAL_READERS", spec_);
    const auto from_env = ctl({"--json", "list", "--no-status"});
    ASSERT_EQ(from_env.code, 0) << from_env.err;
    ASSERT_EQ(json_of(from_env)["readers"].size(), 1u);
    EXPECT_EQ(json_of(from_env)["readers"][0]["name"].string, name);
}

TEST_F(ServedReader, EveryCommandSeesTheCardTheServerHas) {
    const std::string script = write_script(simd_->dir());
    const std::string capture = simd_->dir() + "/trace.pcapng";

    ASSERT_TRUE(simd_->ctl("remove"));
    EXPECT_EQ(served({"atr"}).code, 3);
    EXPECT_EQ(served({"apdu", kSelectMf}).code, 3);
    EXPECT_EQ(served({"script", script}).code, 3);
    EXPECT_EQ(served({"trace", "-o", capture, "apdu", kSelectMf}).code, 3);
    const auto monitor = served({"--json", "monitor", "--count", "2", "--timeout", "10"});
    EXPECT_EQ(monitor.code, 0) << monitor.err;
    EXPECT_EQ(event_kinds(monitor), (std::vector<std::string>{"reader-added", "card-absent"}));
    const auto info = served({"--json", "info"});
    EXPECT_EQ(info.code, 0) << info.err;
    const auto diag = served({"--json", "diag", "--no-card", "--quiet"});
    EXPECT_TRUE(diag.code == 0 || diag.code == 6) << diag.code << '\n' << diag.err;
    EXPECT_TRUE(tj::parse(diag.out).has_value()) << diag.out;

    // A T=0 card, where an in-process "short:t1" simulator would have a T=1 one.
    ASSERT_TRUE(simd_->ctl("insert t0"));
    const auto atr = served({"--json", "atr"});
    ASSERT_EQ(atr.code, 0) << atr.err;
    EXPECT_EQ(json_of(atr)["default_protocol"].integer(), 0) << atr.out;
    EXPECT_EQ(served({"apdu", kSelectMf}).code, 0);
    EXPECT_EQ(served({"script", script}).code, 0);
    const auto traced = served({"trace", "-o", capture, "apdu", kSelectMf});
    EXPECT_EQ(traced.code, 0) << traced.err;
    EXPECT_GT(std::filesystem::file_size(capture), 0u);
    EXPECT_EQ(event_kinds(served({"--json", "monitor", "--count", "2", "--timeout", "10"})),
              (std::vector<std::string>{"reader-added", "card-present"}));
}

TEST_F(ServedReader, AClaimHeldByAnotherConnectionKeepsCcidctlOut) {
    auto other = ccid::socket::SocketTransport::connect(simd_->socket());
    ASSERT_TRUE(other) << other.error().message;
    ASSERT_TRUE((*other)->claim());
    const auto busy = served({"apdu", kSelectMf});
    EXPECT_EQ(busy.code, 5);
    EXPECT_NE(busy.err.find("cannot claim"), std::string::npos) << busy.err;

    (*other)->release();
    const auto free = served({"apdu", kSelectMf});
    EXPECT_EQ(free.code, 0) << free.err;
}

// ccidctl gives the claim back before it closes its connection: whoever claims right after it
// (the next command of a script) never finds the reader still busy.
TEST_F(ServedReader, TheClaimIsFreeAsSoonAsACommandEnds) {
    auto other = ccid::socket::SocketTransport::connect(simd_->socket());
    ASSERT_TRUE(other) << other.error().message;
    for (int i = 0; i < 20; ++i) {
        const auto r = served({"apdu", kSelectMf});
        ASSERT_EQ(r.code, 0) << "run " << i << ": " << r.err;
        ASSERT_TRUE((*other)->claim()) << "run " << i << ": the reader is still claimed";
        (*other)->release();
    }
}

TEST_F(ServedReader, MixedWithInProcessReadersInTheOrderGiven) {
    ASSERT_TRUE(simd_->ctl("remove"));
    const auto r = ctl({"--json", "--virtual", spec_ + ",tpdu:t1", "list"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto doc = json_of(r);
    ASSERT_EQ(doc["readers"].size(), 2u) << r.out;
    EXPECT_EQ(doc["readers"][0]["slots"][0]["card"].string, "absent");
    EXPECT_EQ(doc["readers"][1]["slots"][0]["card"].string, "present");
    EXPECT_EQ(ctl({"--virtual", spec_ + ",tpdu:t1", "--reader", "0", "atr"}).code, 3);
    EXPECT_EQ(ctl({"--virtual", spec_ + ",tpdu:t1", "--reader", "1", "atr"}).code, 0);
}

TEST(CcidctlSocket, NoServerMeansNoReaderForEveryCommand) {
    char dir_template[] = "/tmp/ccidctl-nosimd-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    const std::string socket = dir + "/none.sock";
    const std::string script = write_script(dir);
    const std::vector<std::vector<std::string>> commands = {
        {"list"},
        {"atr"},
        {"apdu", kSelectMf},
        {"script", script},
        {"info"},
        {"diag", "--no-card", "--quiet"},
        {"monitor", "--timeout", "10"},
        {"trace", "-o", dir + "/t.pcapng", "atr"},
    };
    for (auto args : commands) {
        const std::string shown = args.front();
        args.insert(args.begin(), {"--virtual", "socket=" + socket});
        const auto r = ctl(args);
        EXPECT_EQ(r.code, 2) << shown << '\n' << r.out << r.err;
        EXPECT_NE(r.err.find("none.sock"), std::string::npos) << shown << '\n' << r.err;
        EXPECT_EQ(r.out.find("virtual:0"), std::string::npos) << shown << '\n' << r.out;
    }
    std::filesystem::remove_all(dir);
}

}  // namespace

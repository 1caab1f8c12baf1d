// The ccid-simd binary itself: --help, serve (ready, SIGTERM, socket file removed), the ctl
// commands and their errors, unplug, and exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "api/simd_process.h"

namespace ccidkit::tools {
namespace {

using ccidkit::testing::SimdProcess;

struct ToolRun {
    int status = -1;
    std::string output;  // stdout and stderr
};

ToolRun run(const std::string& args) {
    ToolRun r;
    const std::string command = std::string(CCID_SIMD_PATH) + " " + args + " 2>&1";
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) return r;
    char buf[512];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
    const int status = ::pclose(p);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

TEST(CcidSimd, HelpAndUsageErrors) {
    const ToolRun help = run("--help");
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.output.find("ccid-simd serve --socket PATH"), std::string::npos) << help.output;
    EXPECT_NE(help.output.find("socket=PATH"), std::string::npos);
    EXPECT_EQ(run("").status, 2);
    EXPECT_EQ(run("serve").status, 2);  // no --socket
    EXPECT_EQ(run("frobnicate --socket /tmp/x").status, 2);
    const ToolRun bad_reader = run("serve --socket /tmp/ccidkit-never.sock --reader tpdu:t9");
    EXPECT_EQ(bad_reader.status, 2);
    EXPECT_NE(bad_reader.output.find("t9"), std::string::npos) << bad_reader.output;
    EXPECT_EQ(run("serve --socket /tmp/ccidkit-never.sock --reader tpdu,short").status, 2);
    EXPECT_FALSE(std::filesystem::exists("/tmp/ccidkit-never.sock"));
}

TEST(CcidSimd, NoServerIsAClearError) {
    const ToolRun r = run("ctl --socket /nonexistent/ccidkit.sock status");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("/nonexistent/ccidkit.sock"), std::string::npos) << r.output;
}

TEST(CcidSimd, ServeAndControl) {
    SimdProcess server("short:t0");
    ASSERT_TRUE(server.ready());
    const std::string sock = "--socket " + server.socket();
    ToolRun status = run("ctl " + sock + " status");
    ASSERT_EQ(status.status, 0) << status.output;
    EXPECT_NE(status.output.find("reader: short:t0"), std::string::npos) << status.output;
    EXPECT_NE(status.output.find("present: yes"), std::string::npos) << status.output;

    EXPECT_EQ(run("ctl " + sock + " remove").status, 0);
    EXPECT_NE(run("ctl " + sock + " status").output.find("present: no"), std::string::npos);
    EXPECT_EQ(run("ctl " + sock + " insert").status, 0);  // t1 by default
    EXPECT_NE(run("ctl " + sock + " status").output.find("card: t1"), std::string::npos);
    EXPECT_EQ(run("ctl " + sock + " insert t1-1v8").status, 0);

    const ToolRun bad_card = run("ctl " + sock + " insert t7");
    EXPECT_EQ(bad_card.status, 1);
    EXPECT_NE(bad_card.output.find("unknown card 't7'"), std::string::npos) << bad_card.output;
    EXPECT_EQ(run("ctl " + sock + " fault silent=1").status, 0);
    EXPECT_EQ(run("ctl " + sock + " fault clear").status, 0);
    EXPECT_EQ(run("ctl " + sock + " fault bogus=1").status, 1);
    EXPECT_EQ(run("ctl " + sock + " storm 3").status, 0);
    EXPECT_EQ(run("ctl " + sock + " storm many").status, 2);
    EXPECT_EQ(run("ctl " + sock + " hardware-error 0x02").status, 0);
    EXPECT_EQ(run("ctl " + sock + " hardware-error 256").status, 2);
    EXPECT_EQ(run("ctl " + sock + " dance").status, 2);

    // SIGTERM: exit 0, socket file gone.
    EXPECT_EQ(server.stop(), 0);
    EXPECT_FALSE(std::filesystem::exists(server.socket()));
}

TEST(CcidSimd, UnplugStopsTheServer) {
    SimdProcess server("tpdu:t1");
    ASSERT_TRUE(server.ready());
    EXPECT_EQ(run("ctl --socket " + server.socket() + " unplug").status, 0);
    EXPECT_EQ(server.reap(), 0);
    EXPECT_FALSE(std::filesystem::exists(server.socket()));
    EXPECT_EQ(run("ctl --socket " + server.socket() + " status").status, 1);
}

}  // namespace
}  // namespace ccidkit::tools

// `ccidctl trace`: any command run with its USB traffic recorded into a pcapng file; with
// tshark installed, Wireshark's CCID dissector must decode it without a malformed packet.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ccid/pcapng_writer.h"
#include "tools/ccidctl_runner.h"

using namespace ccidkit;
using namespace ccidkit::testing_ccidctl;
namespace fs = std::filesystem;

namespace {

fs::path temp_path(const std::string& name) {
    return fs::temp_directory_path() / ("ccidctl_trace_" + std::to_string(::getpid()) + "_" + name);
}

std::string read_file(const fs::path& p) {
    std::ostringstream buffer;
    buffer << std::ifstream(p, std::ios::binary).rdbuf();
    return buffer.str();
}

// The payloads of the enhanced packet blocks (usbmon header + data).
std::vector<Bytes> packets(const std::string& file) {
    std::vector<Bytes> out;
    const auto* p = reinterpret_cast<const std::uint8_t*>(file.data());
    std::size_t at = 0;
    while (at + 12 <= file.size()) {
        const std::uint32_t type = load_le32(p + at), total = load_le32(p + at + 4);
        if (total < 12 || at + total > file.size()) {
            ADD_FAILURE() << "bad block length at " << at;
            break;
        }
        if (type == ccid::pcapng::kEnhancedPacketType) {
            const std::uint32_t captured = load_le32(p + at + 20);
            out.emplace_back(p + at + 28, p + at + 28 + captured);
        }
        at += total;
    }
    EXPECT_EQ(at, file.size());
    return out;
}

std::string run_shell(const std::string& command) {
    std::string output;
    FILE* pipe = popen(("(" + command + ") 2>&1 | grep -v 'Running as user'").c_str(), "r");
    if (pipe == nullptr) return output;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
    pclose(pipe);
    return output;
}

TEST(CcidctlTrace, RecordsTheCommandsTraffic) {
    const auto file = temp_path("apdu.pcapng");
    auto r = ctl({"trace", "--output", file.string(), "--virtual", "tpdu:t1", "apdu", "00A40000023F00"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("< 90 00"), std::string::npos) << "the command's own output is unchanged";
    const auto pk = packets(read_file(file));
    ASSERT_GT(pk.size(), 8u);
    EXPECT_NE(r.err.find(std::to_string(pk.size()) + " USB packet(s)"), std::string::npos) << r.err;
    // Somewhere a bulk-OUT submission carries the XfrBlock with the APDU inside a T=1 I-block.
    bool saw_xfr = false;
    for (const auto& p : pk) {
        if (p.size() > 64 + 10 && p[8] == 'S' && p[9] == 3 && p[64] == 0x6F) saw_xfr = true;
    }
    EXPECT_TRUE(saw_xfr);
    fs::remove(file);
}

TEST(CcidctlTrace, ExitCodeIsTheCommandsAndJsonStaysClean) {
    const auto file = temp_path("nocard.pcapng");
    auto r = ctl({"--json", "trace", "-o", file.string(), "--virtual", "short:none", "atr"});
    EXPECT_EQ(r.code, 3);
    EXPECT_EQ(json_of(r)["error"]["kind"].string, "no-card");
    EXPECT_FALSE(packets(read_file(file)).empty());
    fs::remove(file);

    EXPECT_EQ(ctl({"trace", "-o", "/nonexistent-dir/x.pcapng", "atr", "3B00"}).code, 5);
    EXPECT_EQ(ctl({"trace", "-o", file.string()}).code, 1);
    EXPECT_EQ(ctl({"trace", "-o", file.string(), "trace", "-o", file.string(), "atr", "3B00"}).code, 1);
    fs::remove(file);
}

TEST(CcidctlTrace, TsharkDecodesADiagRun) {
    if (std::system("tshark --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "tshark is not installed";
    const auto file = temp_path("diag.pcapng");
    auto r = ctl({"trace", "-o", file.string(), "--virtual", "extended:t1", "diag", "-q", "--iterations", "2"});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string f = "'" + file.string() + "'";
    EXPECT_EQ(run_shell("tshark -n -r " + f + " -Y '_ws.malformed || _ws.expert.severity >= error'"), "");
    // Every bulk-OUT submission was decoded as a CCID command.
    std::size_t bulk_out = 0;
    for (const auto& p : packets(read_file(file)))
        if (p.size() > 64 && p[8] == 'S' && p[9] == 3 && (p[10] & 0x80) == 0) ++bulk_out;
    const auto commands = run_shell("tshark -n -r " + f +
                                    " -Y 'usbccid && usb.endpoint_address.direction == 0' "
                                    "-T fields -e usbccid.bMessageType | wc -l");
    EXPECT_EQ(std::stoul(commands), bulk_out);
    EXPECT_GT(bulk_out, 20u);
    fs::remove(file);
}

}  // namespace

// `ccidctl --fd N`: the reader behind an inherited usbfs descriptor. Without USB here, only
// the refusals are testable: each bad descriptor gives its exit code and a message naming it,
// and the descriptor stays open. The real device is driven in the VM (tests/vm/fd_reader_vm.sh).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "tools/ccidctl_runner.h"

using namespace ccidkit::testing_ccidctl;

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

// A descriptor number with nothing open behind it.
int closed_descriptor() {
    int fd = 900;
    while (is_open(fd)) ++fd;
    return fd;
}

}  // namespace

TEST(CcidctlFd, MalformedNumberIsAUsageError) {
    for (const char* bad : {"abc", "-1", "3x", ""}) {
        const auto r = ctl({"--fd", bad, "list"});
        EXPECT_EQ(r.code, 1) << bad;
        EXPECT_NE(r.err.find("--fd needs a file descriptor number"), std::string::npos) << r.err;
    }
}

TEST(CcidctlFd, ClosedDescriptorIsNoReader) {
    const int fd = closed_descriptor();
    const auto r = ctl({"list", "--fd", std::to_string(fd)});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "ccidctl: --fd " + std::to_string(fd) + ": no open file behind this descriptor\n");
}

TEST(CcidctlFd, PipeIsNoReaderAndStaysOpen) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    const auto r = ctl({"--fd", std::to_string(p[0]), "--json", "atr"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("not a USB device node"), std::string::npos) << r.err;
    const auto doc = json_of(r);
    EXPECT_EQ(doc["error"]["kind"].string, "no-reader");
    EXPECT_TRUE(is_open(p[0]));
    ::close(p[0]);
    ::close(p[1]);
}

// `monitor` watches the --fd reader alone: it opens it first, so a bad descriptor ends the
// run at once with the same refusal as the other commands (no USB hotplug watch instead).
TEST(CcidctlFd, MonitorUsesTheDescriptorToo) {
    const int fd = closed_descriptor();
    const auto closed = ctl({"--fd", std::to_string(fd), "monitor", "--timeout", "30"});
    EXPECT_EQ(closed.code, 2);
    EXPECT_EQ(closed.err, "ccidctl: --fd " + std::to_string(fd) + ": no open file behind this descriptor\n");

    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    const auto start = std::chrono::steady_clock::now();
    const auto piped = ctl({"--json", "monitor", "--fd", std::to_string(p[0]), "--timeout", "30"});
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_EQ(piped.code, 2);
    EXPECT_NE(piped.err.find("not a USB device node"), std::string::npos) << piped.err;
    EXPECT_EQ(json_of(piped)["error"]["kind"].string, "no-reader");
    EXPECT_TRUE(is_open(p[0]));
    ::close(p[0]);
    ::close(p[1]);
}

// --fd names one reader: neither $CCID_VIRTUAL_READERS nor --virtual adds readers to it.
TEST(CcidctlFd, TheDescriptorsReaderIsTheOnlyOne) {
    const int fd = closed_descriptor();
    for (const auto& command : {std::vector<std::string>{"list"}, std::vector<std::string>{"monitor", "--count", "1"}}) {
        std::vector<std::string> args{"--virtual", "short:t1", "--fd", std::to_string(fd)};
        args.insert(args.end(), command.begin(), command.end());
        const auto r = ctl(args);
        EXPECT_EQ(r.code, 2) << command.front();
        EXPECT_EQ(r.out.find("virtual:0"), std::string::npos) << command.front() << '\n' << r.out;
    }
}

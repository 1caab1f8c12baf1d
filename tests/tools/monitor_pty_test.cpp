// The real ccidctl binary running `monitor` under a pseudo-terminal, as a user would run it:
// its output is read from the pty master with timeouts, card events are made to happen in its
// simulated reader from here (SIGUSR1 inserts, SIGUSR2 removes: tools/ccidctl/card_signals.h),
// and Ctrl-C typed on the terminal (or SIGTERM) ends it with status 0.
#include <gtest/gtest.h>

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "tools/ccid_simd_process.h"
#include "tools/json_parse.h"

namespace tj = ccidkit::testing_json;

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 10s;  // generous: the machine may be busy building
const std::string kReader = "ccidkit simulated reader (SIM0001-0) 00 00";

// A child process whose stdin, stdout and stderr are the slave side of a new pty.
class PtyProcess {
public:
    // `env` entries ("NAME=VALUE", or "NAME=" to drop NAME) replace those of our environment.
    PtyProcess(const std::vector<std::string>& args, const std::vector<std::string>& env) {
        std::vector<std::string> envs;
        for (char** e = environ; *e != nullptr; ++e) {
            const std::string entry(*e);
            bool replaced = false;
            for (const auto& mine : env)
                if (entry.compare(0, mine.find('=') + 1, mine, 0, mine.find('=') + 1) == 0) replaced = true;
            if (!replaced) envs.push_back(entry);
        }
        for (const auto& mine : env)
            if (mine.back() != '=') envs.push_back(mine);
        // Everything the child needs is built before fork (only exec-safe calls after it).
        std::vector<char*> argv, envp;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        for (const auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);

        pid_ = ::forkpty(&master_, nullptr, nullptr, nullptr);
        if (pid_ == 0) {
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
    }

    ~PtyProcess() {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            int st = 0;
            ::waitpid(pid_, &st, 0);
        }
        if (master_ >= 0) ::close(master_);
    }
    PtyProcess(const PtyProcess&) = delete;
    PtyProcess& operator=(const PtyProcess&) = delete;

    bool started() const { return pid_ > 0 && master_ >= 0; }
    pid_t pid() const { return pid_; }
    const std::string& output() const { return output_; }

    // Reads until `text` has appeared in the output after `from`; false on timeout or EOF.
    bool wait_for(const std::string& text, std::size_t from = 0, Clock::duration timeout = kWait) {
        const auto deadline = Clock::now() + timeout;
        while (output_.find(text, from) == std::string::npos) {
            if (!read_some(deadline)) return false;
        }
        return true;
    }

    // Types on the terminal (e.g. "\x03": Ctrl-C, which the line discipline turns into SIGINT).
    bool type(const std::string& keys) { return ::write(master_, keys.data(), keys.size()) == ssize_t(keys.size()); }

    // The exit status once the process has ended (nullopt on timeout), draining its output.
    std::optional<int> wait_exit(Clock::duration timeout = kWait) {
        const auto deadline = Clock::now() + timeout;
        while (!status_) {
            int st = 0;
            const pid_t r = ::waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                status_ = st;
                break;
            }
            if (Clock::now() >= deadline) return std::nullopt;
            if (!read_some(std::min(deadline, Clock::now() + 50ms))) {
                ::poll(nullptr, 0, 10);  // EOF seen: the child is exiting; waitpid again shortly
            }
        }
        return status_;
    }

private:
    // One read with a deadline; false on timeout, EOF or error (EIO: the slave side is closed).
    bool read_some(Clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{master_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[4096];
        const ssize_t n = ::read(master_, buf, sizeof buf);
        if (n <= 0) return false;
        for (ssize_t i = 0; i < n; ++i)
            if (buf[i] != '\r') output_ += buf[i];  // the terminal's ONLCR: "\r\n" for every '\n'
        return true;
    }

    pid_t pid_ = -1;
    int master_ = -1;
    std::string output_;
    std::optional<int> status_;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    for (std::size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) out.push_back(text.substr(at, nl - at));
    return out;
}

class MonitorPty : public ::testing::Test {
protected:
    void SetUp() override {
        if (::access(CCIDCTL_PATH, X_OK) != 0) GTEST_SKIP() << CCIDCTL_PATH << " not built";
    }
};

TEST_F(MonitorPty, HumanOutputShowsInsertAndRemoveAndCtrlCEndsWithStatus0) {
    // The reader comes from the environment, as for any PC/SC program; no USB.
    PtyProcess p({CCIDCTL_PATH, "monitor", "--timeout", "60"}, {"CCID_VIRTUAL_READERS=tpdu:none", "CCIDKIT_USB=0"});
    ASSERT_TRUE(p.started()) << std::strerror(errno);
    ASSERT_TRUE(p.wait_for("ccidctl: monitoring; Ctrl-C ends")) << p.output();
    ASSERT_TRUE(p.wait_for("card-absent: " + kReader + ", slot 0")) << p.output();
    EXPECT_NE(p.output().find("reader-added: " + kReader + " (virtual:0)"), std::string::npos) << p.output();

    std::size_t mark = p.output().size();
    ASSERT_EQ(::kill(p.pid(), SIGUSR1), 0);
    ASSERT_TRUE(p.wait_for("card-inserted: " + kReader + ", slot 0 (card inserted)\n", mark)) << p.output();

    mark = p.output().size();
    ASSERT_EQ(::kill(p.pid(), SIGUSR2), 0);
    ASSERT_TRUE(p.wait_for("card-removed: " + kReader + ", slot 0 (card removed)\n", mark)) << p.output();

    ASSERT_TRUE(p.type("\x03"));
    const auto status = p.wait_exit();
    ASSERT_TRUE(status) << "still running after Ctrl-C:\n" << p.output();
    ASSERT_TRUE(WIFEXITED(*status)) << "ended by a signal: " << (WIFSIGNALED(*status) ? WTERMSIG(*status) : 0);
    EXPECT_EQ(WEXITSTATUS(*status), 0) << p.output();
}

TEST_F(MonitorPty, JsonLinesParseOneByOneAndSigtermEndsWithStatus0) {
    PtyProcess p({CCIDCTL_PATH, "--json", "--virtual", "tpdu:t1", "monitor", "--timeout", "60"},
                 {"CCID_VIRTUAL_READERS=", "CCIDKIT_USB=0"});
    ASSERT_TRUE(p.started()) << std::strerror(errno);
    ASSERT_TRUE(p.wait_for("\"card-present\"")) << p.output();
    ASSERT_TRUE(p.wait_for("\n", p.output().find("\"card-present\""))) << p.output();

    std::size_t mark = p.output().size();
    ASSERT_EQ(::kill(p.pid(), SIGUSR2), 0);
    ASSERT_TRUE(p.wait_for("\"card-removed\"", mark)) << p.output();
    ASSERT_TRUE(p.wait_for("\n", p.output().find("\"card-removed\"", mark))) << p.output();

    mark = p.output().size();
    ASSERT_EQ(::kill(p.pid(), SIGUSR1), 0);
    ASSERT_TRUE(p.wait_for("\"card-inserted\"", mark)) << p.output();
    ASSERT_TRUE(p.wait_for("\n", p.output().find("\"card-inserted\"", mark))) << p.output();

    ASSERT_EQ(::kill(p.pid(), SIGTERM), 0);
    const auto status = p.wait_exit();
    ASSERT_TRUE(status) << "still running after SIGTERM:\n" << p.output();
    ASSERT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 0) << p.output();

    // Every line is one JSON object (nothing else shares the terminal in --json mode).
    std::vector<std::string> events;
    for (const auto& line : lines_of(p.output())) {
        auto v = tj::parse(line);
        ASSERT_TRUE(v) << "not JSON: '" << line << "'";
        ASSERT_EQ(v->type, tj::Value::Type::Object) << line;
        EXPECT_EQ((*v)["reader"].string, kReader) << line;
        EXPECT_NE(v->find("slot"), nullptr) << line;
        EXPECT_NE(v->find("detail"), nullptr) << line;
        events.push_back((*v)["event"].string);
    }
    EXPECT_EQ(events, (std::vector<std::string>{"reader-added", "card-present", "card-removed", "card-inserted"}));
}

TEST_F(MonitorPty, InsertingIntoAnOccupiedSlotDoesNothingAndTimeoutEndsTheRun) {
    PtyProcess p({CCIDCTL_PATH, "--virtual", "tpdu:none", "monitor", "--timeout", "2"}, {"CCID_VIRTUAL_READERS="});
    ASSERT_TRUE(p.started());
    ASSERT_TRUE(p.wait_for("card-absent: " + kReader + ", slot 0\n")) << p.output();
    ASSERT_EQ(::kill(p.pid(), SIGUSR1), 0);
    ASSERT_TRUE(p.wait_for("card-inserted: ")) << p.output();
    // The slot is full now: a second request changes nothing until --timeout ends the run.
    ASSERT_EQ(::kill(p.pid(), SIGUSR1), 0);
    const auto status = p.wait_exit();
    ASSERT_TRUE(status) << p.output();
    ASSERT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 0);
    const std::string& out = p.output();
    const auto inserted = out.find("card-inserted: ");
    EXPECT_EQ(out.find("card-inserted: ", inserted + 1), std::string::npos) << out;
    EXPECT_EQ(out.find("card-removed: "), std::string::npos) << out;
}

TEST_F(MonitorPty, ServedReaderEventsComeFromCcidSimd) {
    // The reader lives in another process (ccid-simd); its control socket moves the card.
    using ccidkit::testing_ccidctl::CcidSimd;
    using ccidkit::testing_ccidctl::ccid_simd_path;
    if (::access(ccid_simd_path().c_str(), X_OK) != 0) GTEST_SKIP() << ccid_simd_path() << " not built";
    CcidSimd simd("tpdu:none");
    ASSERT_TRUE(simd.ready()) << "ccid-simd did not start";
    PtyProcess p({CCIDCTL_PATH, "monitor", "--timeout", "60"},
                 {"CCID_VIRTUAL_READERS=socket=" + simd.socket(), "CCIDKIT_USB=0"});
    ASSERT_TRUE(p.started());
    ASSERT_TRUE(p.wait_for("card-absent: ccidkit simulated reader")) << p.output();
    ASSERT_TRUE(p.wait_for(", slot 0\n", p.output().find("card-absent: "))) << p.output();

    std::size_t mark = p.output().size();
    ASSERT_TRUE(simd.ctl("insert t1"));
    ASSERT_TRUE(p.wait_for("card-inserted: ccidkit simulated reader", mark)) << p.output();

    mark = p.output().size();
    ASSERT_TRUE(simd.ctl("remove"));
    ASSERT_TRUE(p.wait_for("card-removed: ccidkit simulated reader", mark)) << p.output();

    ASSERT_TRUE(p.type("\x03"));
    const auto status = p.wait_exit();
    ASSERT_TRUE(status) << p.output();
    ASSERT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 0) << p.output();
}

}  // namespace

// Test-side helpers for the tests that run inside the USB test VM (tests/vm/run-in-vm.sh):
// starting tools/ccid-gadget as a child process, sending it commands through its control
// FIFO, and waiting for the kernel's USB host side to see the device come and go.
//
// Outside the VM (no CCIDKIT_VM_GUEST in the environment) every test skips: these suites are
// built and listed by the normal `make test` but only do something under `make vm-smoke` /
// `make test-usb`.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ccid/usb/usb_enumerate.h"

namespace ccidkit::vmtest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline bool in_vm() { return std::getenv("CCIDKIT_VM_GUEST") != nullptr; }

#define CCIDKIT_VM_ONLY()                                                                         \
    do {                                                                                          \
        if (!::ccidkit::vmtest::in_vm())                                                          \
            GTEST_SKIP() << "runs only inside the USB test VM (make vm-smoke / make test-usb)"; \
    } while (0)

// Multiplies every wait in these tests: TCG (software CPU emulation) is 20-30 times slower
// than the host, and an ASan build inside it slower again. CCIDKIT_VM_SLOWDOWN overrides.
inline double slowdown() {
    if (const char* s = std::getenv("CCIDKIT_VM_SLOWDOWN")) {
        const double v = std::atof(s);
        if (v >= 1.0 && v <= 100.0) return v;
    }
    return 1.0;
}
inline Clock::duration scaled(std::chrono::milliseconds d) {
    return std::chrono::duration_cast<Clock::duration>(d * slowdown());
}

// The gadget executable: $CCIDKIT_GADGET, else ../tools/ccid-gadget next to this test binary
// (build/tests/t_vm_x -> build/tools/ccid-gadget).
inline std::string gadget_path() {
    if (const char* p = std::getenv("CCIDKIT_GADGET")) return p;
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return (self.parent_path().parent_path() / "tools" / "ccid-gadget").string();
}

inline std::vector<ccid::usb::UsbReaderCandidate> readers_with(std::uint16_t vid, std::uint16_t pid) {
    std::vector<ccid::usb::UsbReaderCandidate> out;
    auto all = ccid::usb::enumerate_readers();
    if (!all) return out;
    for (auto& c : *all) {
        if (c.vendor_id == vid && c.product_id == pid) out.push_back(std::move(c));
    }
    return out;
}

// Polls the bus (no udev daemon runs in the VM) until a reader with this VID:PID is there.
inline std::optional<ccid::usb::UsbReaderCandidate> wait_for_reader(std::uint16_t vid, std::uint16_t pid,
                                                                    std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + scaled(timeout);
    while (Clock::now() < deadline) {
        auto found = readers_with(vid, pid);
        if (!found.empty()) return found.front();
        std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
}

inline bool wait_reader_gone(std::uint16_t vid, std::uint16_t pid, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + scaled(timeout);
    while (Clock::now() < deadline) {
        if (readers_with(vid, pid).empty()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

// One running ccid-gadget. Stopped (SIGTERM, then SIGKILL after 10 s) by the destructor.
class GadgetProcess {
public:
    static std::unique_ptr<GadgetProcess> start(std::vector<std::string> args, std::string& error) {
        std::unique_ptr<GadgetProcess> g(new GadgetProcess);
        char dir[] = "/tmp/ccidkit-gadget-XXXXXX";
        if (::mkdtemp(dir) == nullptr) {
            error = "mkdtemp failed";
            return nullptr;
        }
        g->dir_ = dir;
        g->fifo_ = g->dir_ + "/control";
        g->ack_ = g->dir_ + "/ack";
        const std::string ready = g->dir_ + "/ready";
        ::mkfifo(g->fifo_.c_str(), 0600);
        static int instance = 0;
        args.insert(args.begin(), {gadget_path(), "--name", "t" + std::to_string(::getpid()) + "x" +
                                                                std::to_string(instance++),
                                   "--control", g->fifo_, "--ack", g->ack_, "--ready", ready});
        if (std::getenv("CCIDKIT_VM_GADGET_VERBOSE") != nullptr) args.push_back("--verbose");
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) {
            error = "fork failed";
            return nullptr;
        }
        if (pid == 0) {
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        g->pid_ = pid;
        const auto deadline = Clock::now() + scaled(10s);
        while (Clock::now() < deadline) {
            if (std::filesystem::exists(ready)) return g;
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                g->pid_ = -1;
                error = "ccid-gadget exited with status " + std::to_string(WEXITSTATUS(status)) + " (" + argv[0] + ")";
                return nullptr;
            }
            std::this_thread::sleep_for(20ms);
        }
        error = "ccid-gadget did not become ready";
        return nullptr;
    }

    ~GadgetProcess() {
        (void)stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    GadgetProcess(const GadgetProcess&) = delete;
    GadgetProcess& operator=(const GadgetProcess&) = delete;

    // Sends one command and waits for the gadget to acknowledge it; returns its answer
    // ("ok ..." or "error: ..."), or "timeout".
    std::string command(const std::string& line) {
        const auto deadline = Clock::now() + scaled(5s);
        int fd = -1;
        while (fd < 0 && Clock::now() < deadline) {
            fd = ::open(fifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) std::this_thread::sleep_for(10ms);
        }
        if (fd < 0) return "timeout";
        const std::string text = line + "\n";
        const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::close(fd);
        if (!written) return "write failed";
        ++sent_;
        while (Clock::now() < deadline) {
            std::ifstream in(ack_);
            std::string ack;
            std::size_t n = 0;
            while (std::getline(in, ack)) {
                if (++n == sent_) {
                    const auto arrow = ack.find(" -> ");
                    return arrow == std::string::npos ? ack : ack.substr(arrow + 4);
                }
            }
            std::this_thread::sleep_for(10ms);
        }
        return "timeout";
    }

    // SIGTERM, then waits; returns the exit status (or -1 when it had to be killed).
    int stop() {
        if (pid_ < 0) return status_;
        ::kill(pid_, SIGTERM);
        const auto deadline = Clock::now() + scaled(10s);
        int status = 0;
        while (Clock::now() < deadline) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return status_;
            }
            std::this_thread::sleep_for(20ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        status_ = -1;
        return status_;
    }

private:
    GadgetProcess() = default;
    pid_t pid_ = -1;
    int status_ = 0;
    std::string dir_, fifo_, ack_;
    std::size_t sent_ = 0;
};

inline constexpr std::uint16_t kGadgetVid = 0x1209;
inline constexpr std::uint16_t kGadgetPid = 0xCC1D;

}  // namespace ccidkit::vmtest

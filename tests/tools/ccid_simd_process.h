// A ccid-simd server (tools/ccid-simd) for the ccidctl tests: started on a fresh socket,
// awaited until it prints "ready", ended with SIGTERM. The binary is CCID_SIMD_PATH
// (cmake/tools.cmake), else the one next to ccidctl; tests skip visibly when it is not built.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace ccidkit::testing_ccidctl {

inline std::string ccid_simd_path() {
#ifdef CCID_SIMD_PATH
    return CCID_SIMD_PATH;
#else
    return (std::filesystem::path(CCIDCTL_PATH).parent_path() / "ccid-simd").string();
#endif
}

class CcidSimd {
public:
    // Serves `reader_spec` (e.g. "tpdu:t1") on a new socket in a new temporary directory.
    explicit CcidSimd(const std::string& reader_spec) {
        char dir_template[] = "/tmp/ccidctl-simd-XXXXXX";
        if (::mkdtemp(dir_template) == nullptr) return;
        dir_ = dir_template;
        socket_ = dir_ + "/reader.sock";
        int out[2];
        if (::pipe(out) != 0) return;
        const std::string binary = ccid_simd_path();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::close(out[0]);
            ::close(out[1]);
            ::execl(binary.c_str(), binary.c_str(), "serve", "--socket", socket_.c_str(), "--reader",
                    reader_spec.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        stdout_ = out[0];  // kept open: a write after "ready" must not kill the server (SIGPIPE)
        ready_ = pid_ > 0 && wait_ready(stdout_);
    }

    ~CcidSimd() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        if (stdout_ >= 0) ::close(stdout_);
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }
    CcidSimd(const CcidSimd&) = delete;
    CcidSimd& operator=(const CcidSimd&) = delete;

    bool ready() const { return ready_; }
    const std::string& socket() const { return socket_; }
    // The private temporary directory holding the socket (tests put lock files there too).
    const std::string& dir() const { return dir_; }

    // `ccid-simd ctl --socket S ARGS` (e.g. "insert t1", "remove"); true on exit status 0.
    bool ctl(const std::string& args) const {
        const std::string command = "'" + ccid_simd_path() + "' ctl --socket '" + socket_ + "' " + args + " >/dev/null";
        return std::system(command.c_str()) == 0;
    }

private:
    // Reads the server's stdout until "ready" (at most 10 s).
    static bool wait_ready(int fd) {
        std::string seen;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (seen.find("ready\n") == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                   std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
            char buf[256];
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) return false;
            seen.append(buf, static_cast<std::size_t>(n));
        }
        return true;
    }

    std::string dir_;
    std::string socket_;
    pid_t pid_ = -1;
    int stdout_ = -1;
    bool ready_ = false;
};

}  // namespace ccidkit::testing_ccidctl

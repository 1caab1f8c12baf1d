// A ccid-simd server run as a separate process for a test: started on a socket in a fresh
// temporary directory, ready once it printed "ready", stopped with SIGTERM (or killed) at the
// end. The binary comes from CCID_SIMD_PATH (cmake/tools.cmake).
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace ccidkit::testing {

class SimdProcess {
public:
    // reader: one CCID_VIRTUAL_READERS item, e.g. "tpdu:t1".
    explicit SimdProcess(const std::string& reader, const std::string& binary = CCID_SIMD_PATH) {
        char tmpl[] = "/tmp/ccidkit-simd-XXXXXX";
        if (!::mkdtemp(tmpl)) return;
        dir_ = tmpl;
        socket_ = dir_ + "/reader.sock";
        int out[2];
        if (::pipe(out) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::close(out[0]);
            ::close(out[1]);
            ::execl(binary.c_str(), binary.c_str(), "serve", "--socket", socket_.c_str(), "--reader", reader.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        ready_ = wait_for_ready(out[0]);
        ::close(out[0]);
    }
    ~SimdProcess() {
        stop();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    SimdProcess(const SimdProcess&) = delete;
    SimdProcess& operator=(const SimdProcess&) = delete;

    bool ready() const { return ready_; }
    const std::string& socket() const { return socket_; }
    const std::string& dir() const { return dir_; }
    pid_t pid() const { return pid_; }

    // SIGTERM and wait; returns the exit status (-1: not running or not a normal exit).
    int stop() {
        if (pid_ <= 0) return -1;
        ::kill(pid_, SIGTERM);
        return reap();
    }
    // Waits for the server to exit on its own (e.g. after an unplug request).
    int reap() {
        if (pid_ <= 0) return -1;
        int status = 0;
        const pid_t p = ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return p > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

private:
    // "ready\n" within 10 s.
    static bool wait_for_ready(int fd) {
        std::string got;
        while (got.find("ready\n") == std::string::npos) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 10000) != 1) return false;
            char buf[64];
            const ssize_t n = ::read(fd, buf, sizeof(buf));
            if (n <= 0) return false;
            got.append(buf, static_cast<std::size_t>(n));
        }
        return true;
    }

    std::string dir_;
    std::string socket_;
    pid_t pid_ = -1;
    bool ready_ = false;
};

}  // namespace ccidkit::testing

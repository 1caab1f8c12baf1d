// Latencies across processes, through a reader served by ccid-simd (CCID_VIRTUAL_READERS=
// socket=PATH) and shared by separate programs (bench/workers/xproc_worker.cpp):
//  - transaction hand-off: process A's SCardEndTransaction -> process B's waiting
//    SCardBeginTransaction returns;
//  - card event: the server inserts or removes the card -> a client process's
//    SCardGetStatusChange returns, with the client alone on the reader or with a second
//    process on it (then card presence travels through the shared-device polling);
//  - the same card event on an in-process virtual reader, for comparison.
// Times are CLOCK_MONOTONIC stamps taken in the processes concerned.
#include <benchmark/benchmark.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../tests/api/simd_process.h"
#include "sim/socket/sim_control_client.h"

namespace {

using ccidkit::testing::SimdProcess;

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// A worker process with its stdin and stdout on pipes.
class Worker {
public:
    Worker(const std::vector<std::string>& args, const SimdProcess* server) {
        int in[2], out[2];
        if (::pipe(in) != 0 || ::pipe(out) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(in[0], STDIN_FILENO);
            ::dup2(out[1], STDOUT_FILENO);
            for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
            ::setenv("CCIDKIT_USB", "0", 1);
            if (server) {
                ::setenv("CCID_VIRTUAL_READERS", ("socket=" + server->socket()).c_str(), 1);
                ::setenv("CCIDKIT_LOCK_DIR", server->dir().c_str(), 1);
            }
            std::vector<char*> argv{const_cast<char*>(CCIDKIT_BENCH_WORKER)};
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(CCIDKIT_BENCH_WORKER, argv.data());
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        to_ = in[1];
        from_ = out[0];
    }
    ~Worker() {
        if (to_ >= 0) ::close(to_);
        if (from_ >= 0) ::close(from_);
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    void send(char c) { (void)!::write(to_, &c, 1); }
    // The next byte; nullopt after 10 s or at the end.
    std::optional<char> byte() {
        char c = 0;
        return read_exact(&c, 1) ? std::optional<char>(c) : std::nullopt;
    }
    std::optional<std::int64_t> time() {
        std::int64_t t = 0;
        return read_exact(&t, sizeof(t)) ? std::optional<std::int64_t>(t) : std::nullopt;
    }

private:
    bool read_exact(void* p, std::size_t n) {
        auto* b = static_cast<char*>(p);
        while (n > 0) {
            pollfd f{from_, POLLIN, 0};
            if (::poll(&f, 1, 10000) != 1) return false;
            const ssize_t r = ::read(from_, b, n);
            if (r <= 0) return false;
            b += r;
            n -= static_cast<std::size_t>(r);
        }
        return true;
    }
    pid_t pid_ = -1;
    int to_ = -1;
    int from_ = -1;
};

void report_percentiles(benchmark::State& state, std::vector<double>& us) {
    if (us.empty()) return;
    std::sort(us.begin(), us.end());
    auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * us.size()))]; };
    state.counters["p50_us"] = at(0.50);
    state.counters["p90_us"] = at(0.90);
    state.counters["p99_us"] = at(0.99);
    state.counters["max_us"] = us.back();
}

void BM_TransactionHandoff_Processes(benchmark::State& state) {
    SimdProcess server("tpdu:t1", CCID_SIMD_PATH);
    if (!server.ready()) return state.SkipWithError("ccid-simd did not start");
    Worker a({"holder"}, &server);
    Worker b({"waiter"}, &server);
    if (a.byte() != 'r' || b.byte() != 'r') return state.SkipWithError("workers did not connect");
    std::vector<double> samples;
    for (auto _ : state) {
        a.send('b');  // A first: B must find the transaction taken
        if (a.byte() != 'T') return state.SkipWithError("holder failed");
        b.send('g');
        if (b.byte() != 'w') return state.SkipWithError("waiter failed");
        // B is about to block in SCardBeginTransaction: give it the time to get there.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        a.send('e');
        const auto released = a.time();
        const auto acquired = b.time();
        if (!released || !acquired) return state.SkipWithError("worker failed");
        const double us = static_cast<double>(*acquired - *released) / 1000.0;
        samples.push_back(us);
        state.SetIterationTime(us / 1e6);
    }
    report_percentiles(state, samples);
}
BENCHMARK(BM_TransactionHandoff_Processes)->UseManualTime()->Iterations(200);

// range(0): other processes on the reader besides the one watching (0: it is alone).
void BM_CardEvent_Processes(benchmark::State& state) {
    SimdProcess server("tpdu:t1", CCID_SIMD_PATH);
    if (!server.ready()) return state.SkipWithError("ccid-simd did not start");
    Worker watcher({"events"}, &server);
    if (watcher.byte() != 'r') return state.SkipWithError("watcher did not start");
    std::vector<std::unique_ptr<Worker>> others;
    for (std::int64_t i = 0; i < state.range(0); ++i) {
        others.push_back(std::make_unique<Worker>(std::vector<std::string>{"idle"}, &server));
        if (others.back()->byte() != 'r') return state.SkipWithError("idle worker did not start");
    }
    bool present = true;
    std::vector<double> samples;
    unsigned step = 0;
    for (auto _ : state) {
        // Let the watcher get back into SCardGetStatusChange, then wait a varying time so that
        // the change does not fall at the same phase of a polling period every time.
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + (step++ * 37) % 200));
        const std::int64_t t0 = now_ns();
        const auto op = present ? ccidkit::ccid::socket::Op::Remove : ccidkit::ccid::socket::Op::Insert;
        const ccidkit::Bytes card{'t', '1'};
        if (!ccidkit::sim::send_sim_control(server.socket(), op, present ? ccidkit::ByteView{} : card))
            return state.SkipWithError("control failed");
        present = !present;
        const auto seen = watcher.time();
        if (!seen) return state.SkipWithError("the watcher saw nothing within 10 s");
        const double us = static_cast<double>(*seen - t0) / 1000.0;
        samples.push_back(us);
        state.SetIterationTime(us / 1e6);
    }
    report_percentiles(state, samples);
}
BENCHMARK(BM_CardEvent_Processes)->Arg(0)->Arg(1)->UseManualTime()->Iterations(40);

void BM_CardEvent_InProcess(benchmark::State& state) {
    constexpr int kSamples = 200;
    Worker w({"inproc-events", std::to_string(kSamples)}, nullptr);
    std::vector<double> samples;
    for (auto _ : state) {
        const auto latency = w.time();
        if (!latency) return state.SkipWithError("in-process watcher failed");
        const double us = static_cast<double>(*latency) / 1000.0;
        samples.push_back(us);
        state.SetIterationTime(us / 1e6);
    }
    report_percentiles(state, samples);
}
BENCHMARK(BM_CardEvent_InProcess)->UseManualTime()->Iterations(200);

}  // namespace

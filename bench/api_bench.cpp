// SCard API benchmarks on a virtual reader (CCID_VIRTUAL_READERS=1: the CCID reader simulator
// with a T=1 card, driven through the host driver inside the library): SCardTransmit latency
// percentiles, and the transaction hand-off latency between two threads (one handle's
// SCardEndTransaction to the other's waiting SCardBeginTransaction returning).
#include <benchmark/benchmark.h>

#include <PCSC/winscard.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct VirtualReader {
    SCARDCONTEXT ctx = 0;
    std::string name;
    bool ok = false;
    VirtualReader() {
        setenv("CCID_VIRTUAL_READERS", "1", 0);
        setenv("CCIDKIT_USB", "0", 0);
        setenv("CCIDKIT_LOCK_DIR", "/tmp/ccidkit-bench-locks", 0);
        if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx) != SCARD_S_SUCCESS) return;
        char buf[1024];
        DWORD len = sizeof buf;
        if (SCardListReaders(ctx, nullptr, buf, &len) != SCARD_S_SUCCESS) return;
        name = buf;
        ok = true;
    }
    ~VirtualReader() {
        if (ctx) SCardReleaseContext(ctx);
    }
    SCARDHANDLE connect() const {
        SCARDHANDLE h = 0;
        DWORD proto = 0;
        if (SCardConnect(ctx, name.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &proto) != SCARD_S_SUCCESS)
            return 0;
        return h;
    }
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

void BM_SCardTransmit_Echo(benchmark::State& state) {
    static VirtualReader reader;
    if (!reader.ok) {
        state.SkipWithError("no virtual reader");
        return;
    }
    SCARDHANDLE card = reader.connect();
    if (!card) {
        state.SkipWithError("connect failed");
        return;
    }
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<BYTE> apdu{0x80, 0x10, 0x00, 0x00, static_cast<BYTE>(n)};
    for (std::size_t i = 0; i < n; ++i) apdu.push_back(static_cast<BYTE>(i));
    apdu.push_back(static_cast<BYTE>(n));
    std::vector<double> samples;
    BYTE response[300];
    for (auto _ : state) {
        DWORD len = sizeof response;
        const auto t0 = Clock::now();
        const LONG rv = SCardTransmit(card, SCARD_PCI_T1, apdu.data(), static_cast<DWORD>(apdu.size()), nullptr,
                                      response, &len);
        samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (rv != SCARD_S_SUCCESS || len < 2 || response[len - 2] != 0x90) {
            state.SkipWithError("transmit failed");
            break;
        }
    }
    report_percentiles(state, samples);
    state.counters["apdu_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    SCardDisconnect(card, SCARD_LEAVE_CARD);
}
BENCHMARK(BM_SCardTransmit_Echo)->Arg(5)->Arg(250)->UseRealTime();

// Thread A ends its transaction; thread B, already blocked in SCardBeginTransaction on another
// handle, returns: the time between the two is the hand-off latency (pcsc-lite polls every 100 ms).
void BM_TransactionHandoff_Threads(benchmark::State& state) {
    static VirtualReader reader;
    if (!reader.ok) {
        state.SkipWithError("no virtual reader");
        return;
    }
    SCARDHANDLE a = reader.connect();
    SCARDHANDLE b = reader.connect();
    if (!a || !b) {
        state.SkipWithError("connect failed");
        return;
    }
    std::vector<double> samples;
    for (auto _ : state) {
        if (SCardBeginTransaction(a) != SCARD_S_SUCCESS) {
            state.SkipWithError("begin A failed");
            break;
        }
        std::atomic<bool> waiting{false};
        std::atomic<Clock::rep> acquired{0};
        std::thread waiter([&] {
            waiting = true;
            if (SCardBeginTransaction(b) == SCARD_S_SUCCESS) {
                acquired = Clock::now().time_since_epoch().count();
                SCardEndTransaction(b, SCARD_LEAVE_CARD);
            }
        });
        while (!waiting) std::this_thread::yield();
        // Give B time to block inside SCardBeginTransaction before releasing.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        const auto released = Clock::now();
        SCardEndTransaction(a, SCARD_LEAVE_CARD);
        waiter.join();
        if (acquired == 0) {
            state.SkipWithError("B never acquired");
            break;
        }
        const auto handoff = Clock::time_point(Clock::duration(acquired.load())) - released;
        samples.push_back(std::chrono::duration<double, std::micro>(handoff).count());
        state.SetIterationTime(std::chrono::duration<double>(handoff).count());
    }
    report_percentiles(state, samples);
    SCardDisconnect(a, SCARD_LEAVE_CARD);
    SCardDisconnect(b, SCARD_LEAVE_CARD);
}
BENCHMARK(BM_TransactionHandoff_Threads)->UseManualTime()->Iterations(200);

}  // namespace

// CCID + protocol benchmarks on the simulator: whole APDU round trips through the host driver
// (ccid::Reader/Slot: codec, bSeq matching, exchange level, T=0/T=1 engine) and the device-side
// reader simulator holding a simulated card. No USB: this is the host stack's own cost per APDU
// plus the simulator's, an upper bound on the CPU the stack adds to a real reader's latency.
#include <benchmark/benchmark.h>

#include <memory>

#include "ccid/descriptor.h"
#include "ccid/reader.h"
#include "sim/card/echo_app.h"
#include "sim/card/sim_card.h"
#include "sim/reader/reader_config.h"
#include "sim/reader/reader_sim.h"

using namespace ccidkit;

namespace {

Bytes echo_apdu(std::size_t n) {
    Bytes apdu{sim::kEchoCla, sim::kInsEcho, 0x00, 0x00};
    if (n <= 255) {
        apdu.push_back(static_cast<std::uint8_t>(n));
        for (std::size_t i = 0; i < n; ++i) apdu.push_back(static_cast<std::uint8_t>(i));
        apdu.push_back(static_cast<std::uint8_t>(n));
    } else {
        apdu.insert(apdu.end(), {0x00, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
        for (std::size_t i = 0; i < n; ++i) apdu.push_back(static_cast<std::uint8_t>(i));
        apdu.insert(apdu.end(), {static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    }
    return apdu;
}

// args: exchange level, card protocol (0/1), APDU data bytes.
void BM_ReaderTransmit(benchmark::State& state) {
    const auto level = static_cast<ccid::ExchangeLevel>(state.range(0));
    const bool t1 = state.range(1) == 1;
    const auto size = static_cast<std::size_t>(state.range(2));
    auto config = sim::make_reader_config(level, 1);
    auto device = std::make_unique<sim::ReaderSim>(config);
    device->insert_card(0, t1 ? sim::SimCard::t1_default() : sim::SimCard::t0_default());
    auto reader = ccid::Reader::open(std::move(device), config.descriptor);
    if (!reader) {
        state.SkipWithError("open failed");
        return;
    }
    ccid::Slot& slot = *(*reader)->slot(0);
    if (!slot.power_on()) {
        state.SkipWithError("power on failed");
        return;
    }
    const Bytes apdu = echo_apdu(size);
    for (auto _ : state) {
        auto response = slot.transmit(apdu);
        if (!response || response->size() < 2) {
            state.SkipWithError("transmit failed");
            break;
        }
        benchmark::DoNotOptimize(response);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["apdu_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

constexpr auto kTpdu = static_cast<std::int64_t>(ccid::ExchangeLevel::Tpdu);
constexpr auto kShort = static_cast<std::int64_t>(ccid::ExchangeLevel::ShortApdu);
constexpr auto kExtended = static_cast<std::int64_t>(ccid::ExchangeLevel::ExtendedApdu);

BENCHMARK(BM_ReaderTransmit)
    ->ArgNames({"level", "T", "bytes"})
    ->Args({kTpdu, 1, 5})
    ->Args({kTpdu, 0, 5})
    ->Args({kShort, 1, 5})
    ->Args({kExtended, 1, 5})
    ->Args({kTpdu, 1, 4096})
    ->Args({kExtended, 1, 4096})
    ->Args({kTpdu, 1, 65535})
    ->Args({kExtended, 1, 65535})
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

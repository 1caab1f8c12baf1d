// Protocol-core benchmarks: ATR parsing and whole T=1 APDU exchanges through the host engine
// and the card simulator (no USB, no reader: the pure cost of the protocol layer).
#include <benchmark/benchmark.h>

#include "protocol/atr.h"
#include "protocol/t1_engine.h"
#include "sim/card/echo_app.h"
#include "sim/card/t1_card.h"

using namespace ccidkit;

namespace {

const Bytes kT1Atr{0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x73,
                   0xC8, 0x21, 0x13, 0x66, 0x05, 0x03, 0x63, 0x51, 0x00, 0x02, 0x50};

void BM_ParseAtr(benchmark::State& state) {
    for (auto _ : state) {
        auto parsed = proto::parse_atr(kT1Atr);
        benchmark::DoNotOptimize(parsed);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseAtr);

// ECHO (CLA 80 INS 10) with `n` data bytes and Le asking for all of them back.
Bytes echo_apdu(std::size_t n) {
    Bytes apdu{sim::kEchoCla, sim::kInsEcho, 0x00, 0x00};
    if (n <= 255) {
        apdu.push_back(static_cast<std::uint8_t>(n));
        for (std::size_t i = 0; i < n; ++i) apdu.push_back(static_cast<std::uint8_t>(i));
        apdu.push_back(static_cast<std::uint8_t>(n == 256 ? 0 : n));
    } else {
        apdu.insert(apdu.end(), {0x00, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
        for (std::size_t i = 0; i < n; ++i) apdu.push_back(static_cast<std::uint8_t>(i));
        apdu.insert(apdu.end(), {static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    }
    return apdu;
}

// Moves blocks between engine and card until the exchange ends; returns blocks sent.
std::size_t drive(proto::T1Engine& engine, sim::T1Card& card) {
    std::size_t blocks = 0;
    while (engine.state() == proto::T1State::Busy) {
        auto block = engine.poll_transmit();
        if (!block) break;
        ++blocks;
        if (auto reply = card.handle_block(*block)) {
            engine.handle_block(*reply);
        } else {
            engine.handle_timeout();
        }
    }
    return blocks;
}

void run_t1_exchange(benchmark::State& state, std::size_t data_size, std::uint8_t ifs) {
    sim::EchoApp app;
    sim::T1CardConfig card_config;
    card_config.ifsc = ifs;
    sim::T1Card card(app, card_config);
    proto::T1Config host_config;
    host_config.ifsc = ifs;
    host_config.ifsd = ifs;
    proto::T1Engine engine(host_config);
    const Bytes apdu = echo_apdu(data_size);
    // As a reader without automatic IFSD would: announce our IFSD once (clause 11.4.2).
    if (!engine.negotiate_ifsd(ifs)) state.SkipWithError("S(IFS) refused");
    drive(engine, card);
    engine.take_response();
    std::size_t blocks = 0;
    for (auto _ : state) {
        if (!engine.start(apdu)) state.SkipWithError("start failed");
        blocks += drive(engine, card);
        if (engine.state() != proto::T1State::Done) {
            state.SkipWithError("exchange failed");
            break;
        }
        auto response = engine.take_response();
        benchmark::DoNotOptimize(response);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data_size * 2));
    state.counters["blocks_per_apdu"] =
        benchmark::Counter(static_cast<double>(blocks) / static_cast<double>(state.iterations()));
}

void BM_T1Exchange_5B(benchmark::State& state) { run_t1_exchange(state, 5, 254); }
void BM_T1Exchange_4KiB(benchmark::State& state) { run_t1_exchange(state, 4096, 254); }
void BM_T1Exchange_4KiB_Ifs32(benchmark::State& state) { run_t1_exchange(state, 4096, 32); }
BENCHMARK(BM_T1Exchange_5B);
BENCHMARK(BM_T1Exchange_4KiB);
BENCHMARK(BM_T1Exchange_4KiB_Ifs32);

}  // namespace

// The host T=1 engine (ISO/IEC 7816-3:2006 clause 11) against an adversarial card. The input
// is a configuration followed by a script of card events:
//   u8 flags: bit 0 CRC, bit 1 S(IFS) first, bit 2 NAD 0x12 instead of 0, bit 3 stand-alone
//             S(IFS) exchange instead of an APDU, bit 4 small max_response (from the next u16)
//   u8 IFSC (1..254), u8 IFSD (1..254), u8 retries (0..4), u8 resyncs (0..4),
//   u16 max_response (used with flag bit 4), u16 APDU length (1..4096, content generated)
//   then events, each a tag byte (tag % 8):
//     0 timeout, 1 parity error,
//     2 raw block: u8 n, n bytes exactly as received,
//     3..6 well-formed block: u8 PCB, u8 INF length, INF bytes; NAD, LEN and EDC are filled in
//          correctly so that the fuzzer explores the protocol rules rather than the checksum,
//     7 host action: take the response and start the next APDU when done, reset() after a
//          fatal failure, abort() while busy.
// Invariants: every block the engine sends is well-formed, addressed with our NAD, I-blocks
// carry at most IFSC bytes; blocks per exchange stay within block_budget(); the response
// stays within max_response; and once the card goes silent the exchange ends within a
// bounded number of timeouts (termination).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "protocol/t1_block.h"
#include "protocol/t1_edc.h"
#include "protocol/t1_engine.h"

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

Bytes make_apdu(std::size_t n, std::uint8_t seed) {
    Bytes apdu(n);
    for (std::size_t i = 0; i < n; ++i) apdu[i] = static_cast<std::uint8_t>(seed + 7 * i);
    return apdu;
}

class Harness {
public:
    explicit Harness(const T1Config& config) : engine_(config), config_(config) {}

    T1Engine& engine() { return engine_; }

    // Takes every block the engine wants to send and checks it.
    void drain() {
        // poll_transmit hands out one block at a time; a well-behaved engine never queues more
        // than one at once, so two polls in a row must not both yield a block.
        if (auto block = engine_.poll_transmit()) {
            check_sent(*block);
            FUZZ_CHECK(!engine_.poll_transmit().has_value());
        }
        check_state();
    }

    void check_state() {
        const T1State s = engine_.state();
        FUZZ_CHECK(s == T1State::Idle || s == T1State::Busy || s == T1State::Done || s == T1State::Failed);
        FUZZ_CHECK(engine_.error().has_value() == (s == T1State::Failed));
        if (engine_.block_budget() != 0) FUZZ_CHECK(engine_.stats().blocks_sent <= engine_.block_budget());
        FUZZ_CHECK(engine_.wtx_multiplier() >= 1 && engine_.wtx_multiplier() <= 255);
        FUZZ_CHECK(engine_.ifsc() >= 1 && engine_.ifsc() <= 254);
        FUZZ_CHECK(engine_.ifsd() >= 1 && engine_.ifsd() <= 254);
        FUZZ_CHECK(engine_.stats().wtx_requests <= config_.max_wtx + 1);
        FUZZ_CHECK(engine_.stats().resyncs <= config_.max_resyncs);
        if (s == T1State::Done) {
            const Bytes response = engine_.take_response();
            FUZZ_CHECK(response.size() <= config_.max_response);
            FUZZ_CHECK(engine_.state() == T1State::Idle);
        }
    }

    // The card stops answering: the engine must give up within a bounded number of waits.
    void finish_with_silence() {
        drain();
        // Per exchange: (retries + 1) waits per step, (resyncs + 1) steps, plus the steps
        // of an S(IFS) exchange; 1000 is far above that.
        for (int i = 0; i < 1000 && engine_.state() == T1State::Busy; ++i) {
            engine_.handle_timeout();
            drain();
        }
        FUZZ_CHECK(engine_.state() != T1State::Busy);
    }

private:
    void check_sent(const Bytes& raw) {
        FUZZ_CHECK(raw.size() >= kT1PrologueSize + edc_size(config_.edc));
        FUZZ_CHECK(raw.size() <= kT1PrologueSize + kT1MaxInf + edc_size(config_.edc));
        const auto block = decode(raw, config_.edc);
        FUZZ_CHECK(block.has_value());
        FUZZ_CHECK(block->nad == config_.nad);
        if (block->type() == T1BlockType::I) FUZZ_CHECK(!block->inf.empty() && block->inf.size() <= engine_.ifsc());
    }

    T1Engine engine_;
    T1Config config_;
};

Bytes card_block(const T1Config& config, std::uint8_t pcb, ByteView inf_from_input, std::size_t inf_size) {
    Bytes block{swap_nad(config.nad), pcb, static_cast<std::uint8_t>(inf_size)};
    block.insert(block.end(), inf_from_input.begin(), inf_from_input.end());
    block.resize(kT1PrologueSize + inf_size, 0x00);  // input ran short: pad
    append_edc(block, config.edc);
    return block;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const std::uint8_t flags = in.u8();
    T1Config config;
    config.edc = (flags & 1) ? T1Edc::Crc : T1Edc::Lrc;
    config.negotiate_ifsd_first = (flags & 2) != 0;
    config.nad = (flags & 4) ? 0x12 : 0x00;
    config.ifsc = static_cast<std::uint8_t>(1 + in.u8() % 254);
    config.ifsd = static_cast<std::uint8_t>(1 + in.u8() % 254);
    config.max_retries = in.u8() % 5;
    config.max_resyncs = in.u8() % 5;
    const std::uint16_t small_response = in.u16();
    if (flags & 16) config.max_response = small_response;
    const std::size_t apdu_size = 1 + in.u16() % 4096;

    Harness h(config);
    T1Engine& engine = h.engine();
    std::uint8_t seed = 0;
    const auto start_next = [&] {
        if (flags & 8) {
            (void)engine.negotiate_ifsd(config.ifsd);
        } else {
            (void)engine.start(make_apdu(apdu_size, seed++));
        }
    };
    start_next();
    h.drain();

    for (int events = 0; !in.empty() && events < 4096; ++events) {
        const std::uint8_t tag = in.u8() % 8;
        switch (tag) {
            case 0: engine.handle_timeout(); break;
            case 1: engine.handle_parity_error(); break;
            case 2: engine.handle_block(in.chunk8()); break;
            case 7:
                if (engine.state() == T1State::Busy) {
                    (void)engine.abort();
                } else {
                    if (engine.error() == T1Error::NeedsReset || engine.error() == T1Error::ProtocolFailure)
                        engine.reset();
                    start_next();
                }
                break;
            default: {
                const std::uint8_t pcb = in.u8();
                const std::size_t inf_size = in.u8() % (kT1MaxInf + 1);
                engine.handle_block(card_block(config, pcb, in.bytes(inf_size), inf_size));
                break;
            }
        }
        h.drain();
    }
    h.finish_with_silence();
    return 0;
}

// Host engine against the simulated card: APDU size sweeps over IFSC/IFSD/EDC/NAD
// combinations, large extended APDUs, and every injected fault. Recovery must succeed where
// the standard allows it; otherwise the exchange must fail with a clear error. Every run is
// bounded by a step limit, so "always terminates" is checked too.
#include "protocol/t1_engine.h"
#include "sim/card/t1_card.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

using namespace ccidkit;
using namespace ccidkit::proto;
using namespace ccidkit::sim;

namespace {

// Ne of a command APDU (ISO/IEC 7816-4 5.1, cases 1-4, short and extended); nullopt if the
// encoding is inconsistent.
std::optional<std::size_t> parse_ne(ByteView c) {
    if (c.size() < 4) return std::nullopt;
    if (c.size() == 4) return 0;
    const std::size_t b = c[4];
    if (c.size() == 5) return b == 0 ? 256 : b;
    if (b != 0) {
        if (c.size() == 5 + b) return 0;
        if (c.size() == 6 + b) return c.back() == 0 ? 256 : c.back();
        return std::nullopt;
    }
    if (c.size() < 7) return std::nullopt;
    const std::size_t v = (std::size_t{c[5]} << 8) | c[6];
    if (c.size() == 7) return v == 0 ? 65536 : v;
    if (v == 0) return std::nullopt;
    if (c.size() == 7 + v) return 0;
    if (c.size() == 9 + v) {
        const std::size_t le = (std::size_t{c[7 + v]} << 8) | c[8 + v];
        return le == 0 ? 65536 : le;
    }
    return std::nullopt;
}

std::uint8_t checksum(ByteView c) {
    unsigned sum = 0;
    for (auto b : c) sum += b;
    return static_cast<std::uint8_t>(sum);
}

// Answers Ne bytes derived from the whole command, then 90 00.
Bytes expected_response(ByteView command) {
    const auto ne = parse_ne(command);
    if (!ne) return {0x67, 0x00};
    Bytes r(*ne);
    const std::uint8_t seed = checksum(command);
    for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<std::uint8_t>(seed + i * 131);
    r.push_back(0x90);
    r.push_back(0x00);
    return r;
}

class SizedApp : public CardApplication {
public:
    Bytes process(ByteView command) override { return expected_response(command); }
};

Bytes make_apdu(std::size_t nc, std::size_t ne, std::uint8_t seed = 0) {
    Bytes a{0x80, 0x10, seed, 0x00};
    Bytes data(nc);
    for (std::size_t i = 0; i < nc; ++i) data[i] = static_cast<std::uint8_t>(i * 7 + seed);
    const bool extended = nc > 255 || ne > 256;
    if (!extended) {
        if (nc > 0) a.push_back(static_cast<std::uint8_t>(nc));
        a.insert(a.end(), data.begin(), data.end());
        if (ne > 0) a.push_back(static_cast<std::uint8_t>(ne == 256 ? 0 : ne));
        return a;
    }
    a.push_back(0x00);
    if (nc > 0) {
        a.push_back(static_cast<std::uint8_t>(nc >> 8));
        a.push_back(static_cast<std::uint8_t>(nc));
        a.insert(a.end(), data.begin(), data.end());
    }
    if (ne > 0) {
        const std::size_t le = ne == 65536 ? 0 : ne;
        a.push_back(static_cast<std::uint8_t>(le >> 8));
        a.push_back(static_cast<std::uint8_t>(le));
    }
    return a;
}

struct Outcome {
    T1State state = T1State::Idle;
    std::optional<T1Error> error;
    Bytes response;
    std::size_t steps = 0;
    unsigned max_wait_multiplier = 1;
};

constexpr std::size_t kStepLimit = 1'000'000;

// The transport's loop (see t1_engine.h), with the card in place of the reader.
Outcome exchange(T1Engine& host, T1Card& card, ByteView apdu) {
    Outcome out;
    if (auto started = host.start(apdu); !started) {
        out.state = T1State::Failed;
        out.error = started.error();
        return out;
    }
    while (host.state() == T1State::Busy && out.steps < kStepLimit) {
        ++out.steps;
        auto block = host.poll_transmit();
        if (!block) break;  // a Busy engine must always have a block ready here
        auto answer = card.handle_block(*block);
        if (host.state() != T1State::Busy) break;
        out.max_wait_multiplier = std::max(out.max_wait_multiplier, host.wtx_multiplier());
        if (answer) {
            host.handle_block(*answer);
        } else {
            host.handle_timeout();
        }
    }
    out.state = host.state();
    out.error = host.error();
    out.response = host.take_response();
    return out;
}

std::string describe(const Outcome& o) {
    return std::string(to_string(o.state)) + (o.error ? std::string(": ") + std::string(to_string(*o.error)) : "") +
           " after " + std::to_string(o.steps) + " steps";
}

struct LinkSetup {
    std::uint8_t ifsc;
    std::uint8_t ifsd;  // 0 = no S(IFS) negotiation: IFSD stays 32
    T1Edc edc;
    std::uint8_t nad;
};

T1Config host_config(const LinkSetup& s) {
    T1Config c;
    c.ifsc = s.ifsc;
    c.edc = s.edc;
    c.nad = s.nad;
    c.negotiate_ifsd_first = s.ifsd != 0;
    if (s.ifsd != 0) c.ifsd = s.ifsd;
    return c;
}

T1CardConfig card_config(const LinkSetup& s) {
    T1CardConfig c;
    c.ifsc = s.ifsc;
    c.edc = s.edc;
    c.nad = s.nad;
    return c;
}

std::string name(const LinkSetup& s) {
    return "IFSC " + std::to_string(s.ifsc) + " IFSD " + std::to_string(s.ifsd ? s.ifsd : 32) +
           " " + std::string(to_string(s.edc)) + " NAD " + std::to_string(s.nad);
}

void expect_ok(const Outcome& o, ByteView apdu, const std::string& what) {
    ASSERT_EQ(o.state, T1State::Done) << what << ": " << describe(o);
    ASSERT_EQ(o.response, expected_response(apdu)) << what;
}

}  // namespace

TEST(T1EndToEnd, SizeSweep0To300) {
    const LinkSetup setups[] = {
        {1, 1, T1Edc::Lrc, 0x00},   {16, 0, T1Edc::Crc, 0x00},  {32, 254, T1Edc::Lrc, 0x00},
        {254, 254, T1Edc::Crc, 0x00}, {254, 16, T1Edc::Lrc, 0x12}, {100, 7, T1Edc::Crc, 0x35},
    };
    for (const LinkSetup& s : setups) {
        SizedApp app;
        T1Card card(app, card_config(s));
        T1Engine host(host_config(s));
        for (std::size_t nc = 0; nc <= 300; ++nc) {
            const std::size_t ne = (nc * 37) % 301;  // a permutation of 0..300
            const Bytes apdu = make_apdu(nc, ne, static_cast<std::uint8_t>(nc));
            const Outcome o = exchange(host, card, apdu);
            expect_ok(o, apdu, name(s) + " Nc " + std::to_string(nc) + " Ne " + std::to_string(ne));
            ASSERT_EQ(card.last_command(), apdu);
            ASSERT_EQ(o.steps, host.stats().blocks_sent);
            ASSERT_EQ(host.stats().recoveries, 0u);
        }
        EXPECT_EQ(card.ifsd(), s.ifsd ? s.ifsd : 32);
        EXPECT_EQ(card.stats().commands, 301u);
    }
}

TEST(T1EndToEnd, LargeExtendedApdus) {
    struct Case {
        std::size_t nc, ne;
    };
    const Case cases[] = {{255, 256}, {256, 256}, {255, 257}, {4096, 4096},
                          {0, 65536}, {65535, 0}, {65535, 65536}};
    const LinkSetup setups[] = {{254, 254, T1Edc::Crc, 0}, {32, 0, T1Edc::Lrc, 0}};
    for (const LinkSetup& s : setups) {
        SizedApp app;
        T1Card card(app, card_config(s));
        T1Engine host(host_config(s));
        for (const Case& c : cases) {
            const Bytes apdu = make_apdu(c.nc, c.ne, 0x5A);
            const Outcome o = exchange(host, card, apdu);
            expect_ok(o, apdu, name(s) + " Nc " + std::to_string(c.nc) + " Ne " + std::to_string(c.ne));
            ASSERT_EQ(card.last_command(), apdu);
        }
    }
    // Smallest blocks in both directions for the largest APDU.
    SizedApp app;
    const LinkSetup tiny{1, 1, T1Edc::Lrc, 0};
    T1Card card(app, card_config(tiny));
    T1Engine host(host_config(tiny));
    const Bytes apdu = make_apdu(65535, 65536);
    expect_ok(exchange(host, card, apdu), apdu, "IFSC 1 / IFSD 1, 64 KiB both ways");
}

TEST(T1EndToEnd, EverySingleFaultIsRecovered) {
    const T1FaultKind sent_kinds[] = {T1FaultKind::CorruptEdc, T1FaultKind::Drop,
                                      T1FaultKind::Truncate, T1FaultKind::FlipSequence,
                                      T1FaultKind::UnexpectedSBlock};
    const T1FaultKind received_kinds[] = {T1FaultKind::CorruptEdc, T1FaultKind::Drop};
    const Bytes apdu = make_apdu(70, 100, 3);  // chained both ways at IFSC 32 / IFSD 40
    const Bytes next = make_apdu(5, 60, 4);
    std::size_t runs = 0;
    std::size_t runs_with_recovery = 0;
    for (const T1Edc edc : {T1Edc::Lrc, T1Edc::Crc}) {
        const LinkSetup s{32, 40, edc, 0};
        // Up to two losses in a row never need more than the 3 retries. Three lost host blocks
        // can: R, R, R, and the card's answer "send I(N(S)) again" is a fourth recovery step,
        // so a resynchronisation may be part of the (still successful) recovery.
        auto run = [&](const T1CardFault& fault, const std::string& what) {
            const unsigned max_resyncs = fault.count <= 2 ? 0 : 1;
            SizedApp app;
            T1CardConfig cc = card_config(s);
            cc.faults.push_back(fault);
            T1Card card(app, cc);
            T1Engine host(host_config(s));
            expect_ok(exchange(host, card, apdu), apdu, what);
            EXPECT_LE(host.stats().resyncs, max_resyncs) << what;
            std::size_t recoveries = host.stats().recoveries + host.stats().resyncs;
            expect_ok(exchange(host, card, next), next, what + " (next command)");
            EXPECT_LE(host.stats().resyncs, max_resyncs) << what;
            recoveries += host.stats().recoveries + host.stats().resyncs;
            ++runs;
            if (recoveries > 0) ++runs_with_recovery;
        };
        for (std::size_t index = 1; index <= 10; ++index) {
            for (const T1FaultKind kind : sent_kinds) {
                for (std::size_t count = 1; count <= 3; ++count) {
                    run({T1FaultWhere::Sent, index, kind, count},
                        std::string(to_string(edc)) + " sent fault " +
                            std::to_string(static_cast<int>(kind)) + " at " +
                            std::to_string(index) + " x" + std::to_string(count));
                }
            }
            for (const T1FaultKind kind : received_kinds) {
                for (std::size_t count = 1; count <= 3; ++count) {
                    run({T1FaultWhere::Received, index, kind, count},
                        std::string(to_string(edc)) + " received fault " +
                            std::to_string(static_cast<int>(kind)) + " at " +
                            std::to_string(index) + " x" + std::to_string(count));
                }
            }
        }
    }
    EXPECT_EQ(runs, 2u * 10 * (5 + 2) * 3);
    // The two exchanges use 8 blocks each way, so faults at index 9 and 10 never fire. Every
    // other fault needs host recovery, except two that leave the card's first block, its
    // S(IFS response), intact: it has no sequence bit to flip, and the "unexpected" S(IFS
    // response) substitute is identical to it.
    EXPECT_EQ(runs_with_recovery, 2u * (8 * (5 + 2) * 3 - 2));
}

TEST(T1EndToEnd, FaultsAroundTheCardsOwnRequests) {
    // The card asks for 2 WTX and a new IFSC before answering; faults hit those S-blocks and
    // the host's answers too (Rule 7.3 on the card's side, Rule 7.1/7.2 on ours).
    const T1FaultKind kinds[] = {T1FaultKind::CorruptEdc, T1FaultKind::Drop,
                                 T1FaultKind::Truncate, T1FaultKind::UnexpectedSBlock};
    const Bytes apdu = make_apdu(50, 80, 9);
    std::size_t runs = 0;
    for (const T1FaultWhere where : {T1FaultWhere::Sent, T1FaultWhere::Received}) {
        for (const T1FaultKind kind : kinds) {
            if (where == T1FaultWhere::Received && kind != T1FaultKind::CorruptEdc &&
                kind != T1FaultKind::Drop)
                continue;
            for (std::size_t index = 1; index <= 9; ++index) {
                for (std::size_t count = 1; count <= 2; ++count) {
                    const LinkSetup s{32, 0, T1Edc::Crc, 0};
                    SizedApp app;
                    T1CardConfig cc = card_config(s);
                    cc.wtx_requests = 2;
                    cc.wtx_multiplier = 3;
                    cc.request_ifsc = 20;
                    cc.faults.push_back({where, index, kind, count});
                    T1Card card(app, cc);
                    T1Engine host(host_config(s));
                    const std::string what = "fault " + std::to_string(static_cast<int>(kind)) +
                                             (where == T1FaultWhere::Sent ? " sent" : " received") +
                                             " at " + std::to_string(index) + " x" +
                                             std::to_string(count);
                    expect_ok(exchange(host, card, apdu), apdu, what);
                    EXPECT_EQ(host.stats().resyncs, 0u) << what;
                    EXPECT_GE(host.stats().wtx_requests, 2u) << what;
                    EXPECT_EQ(host.ifsc(), 20) << what;
                    expect_ok(exchange(host, card, apdu), apdu, what + " (again)");
                    ++runs;
                }
            }
        }
    }
    EXPECT_EQ(runs, (4u + 2) * 9 * 2);
}

TEST(T1EndToEnd, LongerFaultBurstsRecoverThroughResync) {
    // Four to six consecutive losses exceed the retries (the lost block and 3 recoveries);
    // S(RESYNCH) restarts the command. The first 3 resynchronisation attempts may be lost too;
    // a seventh loss means the third S(RESYNCH) goes unanswered: Rule 6.4, give up.
    const Bytes apdu = make_apdu(70, 100, 3);
    for (const T1FaultWhere where : {T1FaultWhere::Sent, T1FaultWhere::Received}) {
        for (std::size_t count = 4; count <= 7; ++count) {
            SizedApp app;
            const LinkSetup s{32, 0, T1Edc::Lrc, 0};
            T1CardConfig cc = card_config(s);
            cc.faults.push_back({where, 2, T1FaultKind::Drop, count});
            T1Card card(app, cc);
            T1Engine host(host_config(s));
            const Outcome o = exchange(host, card, apdu);
            if (count == 7) {
                ASSERT_EQ(o.state, T1State::Failed) << describe(o);
                EXPECT_EQ(o.error, T1Error::ProtocolFailure);
                continue;
            }
            expect_ok(o, apdu, "burst of " + std::to_string(count));
            EXPECT_EQ(host.stats().resyncs, count - 3);
        }
    }
}

TEST(T1EndToEnd, PermanentFaultsFailClearlyAndReset) {
    const Bytes apdu = make_apdu(70, 100, 3);
    const T1FaultKind kinds[] = {T1FaultKind::CorruptEdc, T1FaultKind::Drop,
                                 T1FaultKind::Truncate, T1FaultKind::UnexpectedSBlock};
    for (const T1FaultKind kind : kinds) {
        for (const T1FaultWhere where : {T1FaultWhere::Sent, T1FaultWhere::Received}) {
            if (where == T1FaultWhere::Received &&
                (kind == T1FaultKind::Truncate || kind == T1FaultKind::UnexpectedSBlock))
                continue;  // those only exist on the card's output
            SizedApp app;
            const LinkSetup s{32, 0, T1Edc::Crc, 0};
            T1CardConfig cc = card_config(s);
            cc.faults.push_back({where, 3, kind, kFaultForever});
            T1Card card(app, cc);
            T1Engine host(host_config(s));
            const Outcome o = exchange(host, card, apdu);
            ASSERT_EQ(o.state, T1State::Failed) << describe(o);
            EXPECT_EQ(o.error, T1Error::ProtocolFailure);
            EXPECT_EQ(o.steps, 3u + 3 + 3);  // 3 I-blocks, 3 recoveries, 3 S(RESYNCH)
            EXPECT_EQ(host.start(apdu).error(), T1Error::NeedsReset);
            // Rule 6.4: the card is reset (here: replaced by a healthy one), then the engine.
            host.reset();
            cc.faults.clear();
            T1Card healthy(app, cc);
            expect_ok(exchange(host, healthy, apdu), apdu, "after reset");
        }
    }
}

TEST(T1EndToEnd, WaitingTimeExtensions) {
    SizedApp app;
    const LinkSetup s{32, 254, T1Edc::Lrc, 0};
    T1CardConfig cc = card_config(s);
    cc.wtx_requests = 5;
    cc.wtx_multiplier = 7;
    T1Card card(app, cc);
    T1Engine host(host_config(s));
    const Bytes apdu = make_apdu(10, 20);
    const Outcome o = exchange(host, card, apdu);
    expect_ok(o, apdu, "5 WTX");
    EXPECT_EQ(host.stats().wtx_requests, 5u);
    EXPECT_EQ(o.max_wait_multiplier, 7u);

    T1Config hc = host_config(s);
    hc.max_wtx = 4;
    T1Engine strict(hc);
    T1Card fresh(app, cc);
    const Outcome f = exchange(strict, fresh, apdu);
    ASSERT_EQ(f.state, T1State::Failed);
    EXPECT_EQ(f.error, T1Error::WtxLimit);
}

TEST(T1EndToEnd, CardChangesIfsc) {
    SizedApp app;
    const LinkSetup s{254, 0, T1Edc::Crc, 0};
    T1CardConfig cc = card_config(s);
    cc.request_ifsc = 16;
    T1Card card(app, cc);
    T1Engine host(host_config(s));
    const Bytes apdu = make_apdu(200, 50);
    expect_ok(exchange(host, card, apdu), apdu, "IFS request 16");
    EXPECT_EQ(host.ifsc(), 16);
    EXPECT_EQ(card.ifsc(), 16);
    const Outcome o = exchange(host, card, apdu);  // 205 bytes in 16-byte blocks
    expect_ok(o, apdu, "after IFSC change");
    EXPECT_EQ(host.stats().blocks_sent, 13u + 1);  // 206 bytes in 13 I-blocks, 1 R-block
}

TEST(T1EndToEnd, CardIfsRequestOutOfRange) {
    for (const std::uint8_t bad : {std::uint8_t{0}, std::uint8_t{255}}) {
        SizedApp app;
        const LinkSetup s{32, 0, T1Edc::Lrc, 0};
        T1CardConfig cc = card_config(s);
        cc.request_ifsc = bad;
        T1Card once(app, cc);
        T1Engine host(host_config(s));
        const Bytes apdu = make_apdu(10, 10);
        // Rejected (R-blocks), the card insists (Rule 7.3), resync, then the card behaves.
        expect_ok(exchange(host, once, apdu), apdu, "one bad IFS request");
        EXPECT_EQ(host.stats().resyncs, 1u);
        EXPECT_EQ(host.ifsc(), 32);

        cc.request_ifsc_every_command = true;
        T1Card always(app, cc);
        T1Engine host2(host_config(s));
        const Outcome o = exchange(host2, always, apdu);
        ASSERT_EQ(o.state, T1State::Failed);
        EXPECT_EQ(o.error, T1Error::ProtocolFailure);
    }
}

TEST(T1EndToEnd, EndlessChainsAreCut) {
    const Bytes apdu = make_apdu(10, 10);
    {
        SizedApp app;
        const LinkSetup s{32, 254, T1Edc::Lrc, 0};
        T1CardConfig cc = card_config(s);
        cc.endless_chain_inf = 254;
        T1Card card(app, cc);
        T1Engine host(host_config(s));
        const Outcome o = exchange(host, card, apdu);
        ASSERT_EQ(o.state, T1State::Failed) << describe(o);
        EXPECT_EQ(o.error, T1Error::ResponseTooLong);
        EXPECT_LE(o.steps, kT1MaxResponseSize / 254 + 4);
    }
    {
        SizedApp app;
        const LinkSetup s{32, 0, T1Edc::Lrc, 0};
        T1CardConfig cc = card_config(s);
        cc.endless_chain_inf = 0;
        T1Card card(app, cc);
        T1Config hc = host_config(s);
        hc.max_blocks = 3000;
        T1Engine host(hc);
        const Outcome o = exchange(host, card, apdu);
        ASSERT_EQ(o.state, T1State::Failed) << describe(o);
        EXPECT_EQ(o.error, T1Error::BlockLimit);
        EXPECT_EQ(host.stats().blocks_sent, 3000u);
    }
}

TEST(T1EndToEnd, CardAbortThenNextCommandResyncs) {
    SizedApp app;
    const LinkSetup s{32, 0, T1Edc::Crc, 0};
    T1CardConfig cc = card_config(s);
    cc.abort_response_at = 2;
    T1Card card(app, cc);
    T1Engine host(host_config(s));
    const Outcome o = exchange(host, card, make_apdu(10, 100));
    ASSERT_EQ(o.state, T1State::Failed);
    EXPECT_EQ(o.error, T1Error::AbortedByCard);
    const Bytes small = make_apdu(10, 10);  // fits one block: nothing to abort
    expect_ok(exchange(host, card, small), small, "after card abort");
    EXPECT_EQ(host.stats().resyncs, 1u);
}

TEST(T1EndToEnd, HostAbortsItsChainThenContinues) {
    SizedApp app;
    const LinkSetup s{16, 0, T1Edc::Lrc, 0};
    T1Card card(app, card_config(s));
    T1Engine host(host_config(s));
    ASSERT_TRUE(host.start(make_apdu(200, 0)));
    for (int i = 0; i < 3; ++i) {
        auto block = host.poll_transmit();
        ASSERT_TRUE(block.has_value());
        auto answer = card.handle_block(*block);
        ASSERT_TRUE(answer.has_value());
        host.handle_block(*answer);
    }
    ASSERT_TRUE(host.abort());
    auto abort_request = host.poll_transmit();
    ASSERT_TRUE(abort_request.has_value());
    auto answer = card.handle_block(*abort_request);
    ASSERT_TRUE(answer.has_value());
    host.handle_block(*answer);
    ASSERT_EQ(host.state(), T1State::Failed);
    EXPECT_EQ(host.error(), T1Error::AbortedByHost);
    EXPECT_EQ(card.stats().aborts, 1u);
    EXPECT_EQ(card.stats().commands, 0u);
    const Bytes apdu = make_apdu(40, 40);
    expect_ok(exchange(host, card, apdu), apdu, "after host abort");
}

TEST(T1EndToEnd, CommandLongerThanTheCardAcceptsGets6700) {
    SizedApp app;
    const LinkSetup s{254, 0, T1Edc::Lrc, 0};
    T1CardConfig cc = card_config(s);
    cc.max_command = 1000;
    T1Card card(app, cc);
    T1Engine host(host_config(s));
    const Outcome o = exchange(host, card, make_apdu(2000, 0));
    ASSERT_EQ(o.state, T1State::Done);
    EXPECT_EQ(o.response, (Bytes{0x67, 0x00}));
}

// The host T=0 engine (proto::T0Exchange) against the simulated T=0 card (sim::T0Card with
// the demo application), through the TPDU-level interface a CCID reader offers.
#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include "protocol/apdu.h"
#include "protocol/t0_exchange.h"
#include "sim/card/apdu_app.h"
#include "sim/card/echo_app.h"
#include "sim/card/file_app.h"
#include "sim/card/t0_card.h"

namespace ccidkit::sim {
namespace {

using proto::LengthEncoding;
using proto::T0Exchange;
using proto::T0ExchangeError;
using proto::T0ExchangeOptions;
using proto::T0TransferError;

Bytes hex(std::string_view s) { return from_hex(s).value(); }

Bytes seq(std::size_t n, std::uint8_t start) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i * 7);
    return b;
}

Bytes with_sw(Bytes data, std::uint16_t sw) {
    data.push_back(static_cast<std::uint8_t>(sw >> 8));
    data.push_back(static_cast<std::uint8_t>(sw));
    return data;
}

// Under T=0 the card never sees the Le of a case-4 command: it holds the whole answer and the
// host fetches at most Ne bytes; whatever is left is announced by the final 61XX.
Bytes expected_case4(const Bytes& data, std::uint32_t ne) {
    const std::size_t n = std::min<std::size_t>(data.size(), ne);
    const std::size_t left = data.size() - n;
    const auto sw = static_cast<std::uint16_t>(left == 0 ? 0x9000 : 0x6100 | (left >= 256 ? 0 : left));
    return with_sw(Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n)), sw);
}

struct Outcome {
    std::optional<Bytes> response;
    std::optional<T0ExchangeError> error;
    std::optional<T0TransferError> link_error;
};

// Runs one APDU to completion. Every loop in the engine is bounded, so the guard is only a
// safety net that turns an engine bug into a test failure instead of a hang.
Outcome run(T0Exchange& x, T0Card& card, ByteView apdu) {
    Outcome o;
    if (auto started = x.start(apdu); !started) {
        o.error = started.error();
        return o;
    }
    int guard = 0;
    while (auto tpdu = x.poll_transmit()) {
        if (++guard > 5000) {
            ADD_FAILURE() << "exchange did not terminate";
            return o;
        }
        auto r = card.exchange_tpdu(*tpdu);
        if (!r) {
            o.link_error = r.error();
            x.abort();
            return o;
        }
        x.handle_response(*r);
    }
    if (x.state() == T0Exchange::State::Done) {
        o.response = x.take_response();
    } else {
        o.error = x.error();
    }
    return o;
}

class T0EndToEnd : public ::testing::Test {
protected:
    Bytes transmit(ByteView apdu, T0ExchangeOptions options = {}) {
        T0Exchange x(options);
        Outcome o = run(x, card_, apdu);
        last_stats_ = x.stats();
        EXPECT_TRUE(o.response) << "apdu " << to_hex(apdu).substr(0, 40) << " error "
                                << (o.error ? to_string(*o.error) : "")
                                << (o.link_error ? to_string(*o.link_error) : "");
        return o.response.value_or(Bytes{});
    }
    Outcome outcome(ByteView apdu, T0ExchangeOptions options = {}) {
        T0Exchange x(options);
        Outcome o = run(x, card_, apdu);
        last_stats_ = x.stats();
        return o;
    }
    void select(std::uint16_t fid) {
        const Bytes f{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)};
        ASSERT_EQ(transmit(proto::build_case3(0x00, 0xA4, 0x00, 0x0C, f).value()), hex("90 00"));
    }
    ByteView file(std::uint16_t fid) { return *app_.files().ef_content(fid); }

    static constexpr T0ExchangeOptions kManual{.auto_get_response = false};

    DemoCardApp app_;
    T0Card card_{app_};
    proto::T0ExchangeStats last_stats_;
};

// ---------------- short cases ----------------

TEST_F(T0EndToEnd, Case1) {
    for (auto options : {T0ExchangeOptions{}, kManual}) {
        EXPECT_EQ(transmit(hex("80 10 00 00"), options), hex("90 00"));
        EXPECT_EQ(transmit(hex("00 A4 00 0C"), options), hex("90 00"));  // SELECT MF
        EXPECT_EQ(last_stats_.tpdus, 1u);
    }
    // A case-1 SELECT asking for FCI: the T=0 card cannot know there is no Le and holds
    // the FCI behind 61XX, which a case-1 mapping returns unchanged (12.2.2).
    EXPECT_EQ(transmit(hex("00 A4 00 00")), hex("61 09"));
}

TEST_F(T0EndToEnd, Case2EveryNe) {
    for (auto options : {T0ExchangeOptions{}, kManual}) {
        for (std::uint32_t ne = 1; ne <= 256; ++ne) {
            const auto seed = static_cast<std::uint8_t>(ne * 3);
            const Bytes r = transmit(proto::build_case2(0x80, 0x12, 0x00, seed, ne).value(),
                                     options);
            ASSERT_EQ(r, with_sw(echo_pattern(ne, seed), 0x9000)) << ne;
            ASSERT_EQ(last_stats_.tpdus, 1u);
        }
    }
}

TEST_F(T0EndToEnd, Case3EveryDataSize) {
    select(kFidEfMedium);
    for (auto options : {T0ExchangeOptions{}, kManual}) {
        for (std::size_t nc = 1; nc <= 255; ++nc) {
            const Bytes data = seq(nc, static_cast<std::uint8_t>(nc));
            const Bytes update = proto::build_case3(0x00, 0xD6, 0x00, 0x10, data).value();
            ASSERT_EQ(transmit(update, options), hex("90 00")) << nc;
            ASSERT_EQ(Bytes(file(kFidEfMedium).begin() + 0x10,
                            file(kFidEfMedium).begin() + 0x10 + static_cast<std::ptrdiff_t>(nc)),
                      data);
            // Read it back through T=0 as well (case 2, P3 = nc).
            const Bytes read = proto::build_case2(0x00, 0xB0, 0x00, 0x10,
                                                  static_cast<std::uint32_t>(nc)).value();
            ASSERT_EQ(transmit(read, options), with_sw(data, 0x9000)) << nc;
        }
    }
}

TEST_F(T0EndToEnd, Case4EveryDataSize) {
    for (std::size_t nc = 1; nc <= 255; ++nc) {
        const Bytes data = seq(nc, static_cast<std::uint8_t>(nc));
        for (std::uint32_t ne : {static_cast<std::uint32_t>(nc), 256u, 1u}) {
            const Bytes r = transmit(proto::build_case4(0x80, 0x10, 0, 0, data, ne).value());
            ASSERT_EQ(r, expected_case4(data, ne)) << nc << " " << ne;
            ASSERT_EQ(last_stats_.get_responses, 1u);  // case-3 TPDU, 61XX, one GET RESPONSE
        }
    }
}

TEST_F(T0EndToEnd, Case4EveryNe) {
    for (std::size_t nc : {1u, 200u, 255u}) {
        const Bytes data = seq(nc, 0x5A);
        for (std::uint32_t ne = 1; ne <= 256; ++ne) {
            const Bytes r = transmit(proto::build_case4(0x80, 0x10, 0, 0, data, ne).value());
            ASSERT_EQ(r, expected_case4(data, ne)) << nc << " " << ne;
        }
    }
    // Response longer than one GET RESPONSE: PATTERN_LEN with L = 600 and Ne = 256.
    const Bytes r = transmit(proto::build_case4(0x80, 0x14, 0, 9, hex("00 02 58"), 256).value());
    EXPECT_EQ(r, with_sw(echo_pattern(256, 9), 0x6100));  // Ne reached, more is left
}

TEST_F(T0EndToEnd, Case4ManualModeNeedsAnExplicitGetResponse) {
    for (std::size_t nc = 1; nc <= 255; ++nc) {
        const Bytes data = seq(nc, 1);
        const Bytes first = transmit(proto::build_case4(0x80, 0x10, 0, 0, data, 256).value(),
                                     kManual);
        ASSERT_EQ(first, with_sw({}, static_cast<std::uint16_t>(0x6100 | nc)));
        // The caller sends GET RESPONSE itself, as with pcsc-lite.
        const Bytes get = proto::build_case2(0x80, 0xC0, 0, 0, static_cast<std::uint32_t>(nc))
                              .value();
        ASSERT_EQ(transmit(get, kManual), with_sw(data, 0x9000));
    }
}

TEST_F(T0EndToEnd, Case4WithACardExpectingGetResponseAfter9000) {
    card_.options().announce_with_61 = false;  // 12.2.5 case 4S.2 card
    for (std::size_t nc = 1; nc <= 255; nc += 7) {
        const Bytes data = seq(nc, 3);
        for (std::uint32_t ne : {1u, static_cast<std::uint32_t>(nc), 256u}) {
            const Bytes r = transmit(proto::build_case4(0x80, 0x10, 0, 0, data, ne).value());
            ASSERT_EQ(r, expected_case4(data, ne)) << nc << " " << ne;
        }
    }
    // Without 4S.2 handling (javax.smartcardio, pcsc-lite) the data is lost.
    T0ExchangeOptions no_4s2{.get_response_after_9000 = false};
    EXPECT_EQ(transmit(proto::build_case4(0x80, 0x10, 0, 0, hex("AA"), 1).value(), no_4s2),
              hex("90 00"));
}

TEST_F(T0EndToEnd, Case4WithoutResponseData) {
    // SELECT with P2 = 0C returns no data; Le present makes it case 4. The card answers
    // 9000, the 4S.2 GET RESPONSE finds nothing (6985) and the answer stays 9000.
    EXPECT_EQ(transmit(hex("00 A4 00 0C 02 01 01 00")), hex("90 00"));
    EXPECT_EQ(last_stats_.get_responses, 1u);
    EXPECT_EQ(last_stats_.tpdus, 2u);
    T0ExchangeOptions no_4s2{.get_response_after_9000 = false};
    EXPECT_EQ(transmit(hex("00 A4 00 0C 02 01 01 00"), no_4s2), hex("90 00"));
    EXPECT_EQ(last_stats_.tpdus, 1u);
}

TEST_F(T0EndToEnd, StatusWordsCarriedThrough) {
    // Warning with data (4S.4 after GET RESPONSE), error without data (4S.1).
    EXPECT_EQ(transmit(proto::build_case4(0x80, 0x16, 0x62, 0x82, hex("AA BB"), 256).value()),
              hex("AA BB 62 82"));
    EXPECT_EQ(transmit(proto::build_case4(0x80, 0x16, 0x6A, 0x80, hex("AA BB"), 256).value()),
              hex("6A 80"));
    EXPECT_EQ(transmit(hex("00 A4 00 0C 02 12 34")), hex("6A 82"));
    EXPECT_EQ(transmit(hex("80 20 00 00")), hex("6D 00"));
    EXPECT_EQ(transmit(hex("A0 A4 00 00")), hex("6E 00"));
}

TEST_F(T0EndToEnd, ReadBinaryPastTheEndUses6C) {
    select(kFidEfSmall);
    // 12.2.3 case 2S.3: 6C20, re-issued with P3 = 20.
    Bytes r = transmit(proto::build_case2(0x00, 0xB0, 0, 0, 100).value());
    EXPECT_EQ(r, with_sw(Bytes(file(kFidEfSmall).begin(), file(kFidEfSmall).end()), 0x9000));
    EXPECT_EQ(last_stats_.wrong_length_retries, 1u);
    EXPECT_EQ(transmit(proto::build_case2(0x00, 0xB0, 0, 0, 100).value(), kManual), hex("6C 20"));
    EXPECT_EQ(transmit(proto::build_case2(0x00, 0xB0, 0, 40, 1).value()), hex("6B 00"));
    card_.options().wrong_length_as_6700 = true;
    EXPECT_EQ(transmit(proto::build_case2(0x00, 0xB0, 0, 0, 100).value()), hex("67 00"));
}

TEST_F(T0EndToEnd, SelectByAidAndReadTheApplicationFile) {
    const Bytes fci = transmit(proto::build_case4(0x00, 0xA4, 0x04, 0x00, demo_application_aid(),
                                                  256).value());
    EXPECT_EQ(fci, hex("6F 12 82 01 38 83 02 7F 10 84 09 F0 43 43 49 44 4B 49 54 01 90 00"));
    const Bytes r = transmit(hex("00 B0 81 00 00"));  // SFI 1, Le = 00
    EXPECT_EQ(r, with_sw(Bytes(file(kFidEfApp).begin(), file(kFidEfApp).end()), 0x9000));
}

// ---------------- extended APDUs ----------------

constexpr std::size_t kSizes[] = {0, 1, 255, 256, 261, 4096, 65535};

TEST_F(T0EndToEnd, ExtendedCommandData) {
    for (std::size_t nc : kSizes) {
        const Bytes data = seq(nc, static_cast<std::uint8_t>(nc));
        const Bytes apdu =
            nc == 0 ? proto::build_case2(0x80, 0x10, 0, 0, 65536).value()
                    : proto::build_case4(0x80, 0x10, 0, 0, data, 65536, LengthEncoding::Extended)
                          .value();
        EXPECT_EQ(transmit(apdu), with_sw(data, 0x9000)) << nc;
        if (nc > 255 || nc == 0) {  // case 2E with Ne > 256 goes in ENVELOPE too
            EXPECT_EQ(last_stats_.envelopes, (apdu.size() + 254) / 255 + 1) << nc;
        } else {
            EXPECT_EQ(last_stats_.envelopes, 0u) << nc;  // 12.2.8 case 4E.1: short TPDU
        }
    }
}

TEST_F(T0EndToEnd, ExtendedUpdateAndReadBinary) {
    select(kFidEfLarge);
    for (std::size_t n : kSizes) {
        if (n == 0) continue;  // UPDATE BINARY needs data, READ BINARY needs Le
        const Bytes data = seq(n, static_cast<std::uint8_t>(n + 1));
        const Bytes update =
            proto::build_case3(0x00, 0xD6, 0, 0, data, LengthEncoding::Extended).value();
        ASSERT_EQ(transmit(update), hex("90 00")) << n;  // case 3E
        ASSERT_TRUE(std::equal(data.begin(), data.end(), file(kFidEfLarge).begin()));
        const Bytes read = proto::build_case2(0x00, 0xB0, 0, 0, static_cast<std::uint32_t>(n),
                                              LengthEncoding::Extended)
                               .value();
        ASSERT_EQ(transmit(read), with_sw(data, 0x9000)) << n;  // case 2E
    }
    // The whole 65536-byte file in one READ BINARY (Le = 0000).
    const Bytes all = transmit(proto::build_case2(0x00, 0xB0, 0, 0, 65536).value());
    EXPECT_EQ(all, with_sw(Bytes(file(kFidEfLarge).begin(), file(kFidEfLarge).end()), 0x9000));
}

TEST_F(T0EndToEnd, ExtendedResponseData) {
    for (std::size_t ne : {1u, 255u, 256u, 261u, 4096u, 65535u, 65536u}) {
        const auto n = static_cast<std::uint32_t>(ne);
        // Case 2E: Ne reaches the card (ENVELOPE when Ne > 256).
        Bytes r = transmit(proto::build_case2(0x80, 0x12, 0, 0x21, n, LengthEncoding::Extended)
                               .value());
        ASSERT_EQ(r, with_sw(echo_pattern(ne, 0x21), 0x9000)) << ne;
        // Case 4E with short data (12.2.8 case 4E.1): the length travels in the data.
        const Bytes len{static_cast<std::uint8_t>(ne >> 16), static_cast<std::uint8_t>(ne >> 8),
                        static_cast<std::uint8_t>(ne)};
        r = transmit(proto::build_case4(0x80, 0x14, 0, 0x22, len, 65536).value());
        ASSERT_EQ(r, with_sw(echo_pattern(ne, 0x22), 0x9000)) << ne;
        EXPECT_EQ(last_stats_.envelopes, 0u);
        EXPECT_EQ(last_stats_.get_responses, (ne + 255) / 256);
    }
}

TEST_F(T0EndToEnd, ExtendedInManualMode) {
    for (std::size_t nc : kSizes) {
        if (nc == 0) continue;
        const Bytes data = seq(nc, 9);
        const Bytes apdu =
            proto::build_case4(0x80, 0x10, 0, 0, data, 65536, LengthEncoding::Extended).value();
        // Segments still go out; the final 61XX is the caller's to follow.
        const auto announced = static_cast<std::uint16_t>(0x6100 | (nc >= 256 ? 0 : nc));
        EXPECT_EQ(transmit(apdu, kManual), with_sw({}, announced)) << nc;
        // Drain it by hand with GET RESPONSE, as a pcsc-lite application would.
        Bytes got;
        Bytes r;
        for (int round = 0; round < 300; ++round) {
            const std::size_t left = nc - got.size();
            const auto p3 = static_cast<std::uint32_t>(std::min<std::size_t>(left, 256));
            r = transmit(proto::build_case2(0x80, 0xC0, 0, 0, p3).value(), kManual);
            ASSERT_GE(r.size(), 2u);
            got.insert(got.end(), r.begin(), r.end() - 2);
            if (proto::sw1_of(r) != 0x61) break;
        }
        EXPECT_EQ(got, data) << nc;
        EXPECT_EQ(proto::sw_of(r), 0x9000);
    }
    // Case 2E that maps onto a short TPDU needs no GET RESPONSE at all.
    EXPECT_EQ(transmit(proto::build_case2(0x80, 0x12, 0, 1, 200, LengthEncoding::Extended).value(),
                       kManual),
              with_sw(echo_pattern(200, 1), 0x9000));
}

TEST_F(T0EndToEnd, CardWithoutEnvelope) {
    card_.options().envelope = false;
    const Bytes apdu = proto::build_case3(0x00, 0xD6, 0, 0, seq(300, 0)).value();
    EXPECT_EQ(transmit(apdu), hex("6D 00"));
    T0ExchangeOptions no_envelope{.envelope_for_extended = false};
    EXPECT_EQ(outcome(apdu, no_envelope).error, T0ExchangeError::ExtendedNeedsEnvelope);
}

// ---------------- transport variants and faults ----------------

// A mix of everything, used to show that a variant changes nothing visible.
void run_mix(const std::function<Bytes(ByteView)>& tx) {
    EXPECT_EQ(tx(hex("80 10 00 00")), hex("90 00"));
    EXPECT_EQ(tx(proto::build_case2(0x80, 0x12, 0, 5, 256).value()),
              with_sw(echo_pattern(256, 5), 0x9000));
    EXPECT_EQ(tx(proto::build_case4(0x80, 0x10, 0, 0, seq(255, 1), 256).value()),
              with_sw(seq(255, 1), 0x9000));
    EXPECT_EQ(tx(proto::build_case4(0x80, 0x10, 0, 0, seq(700, 2), 65536).value()),
              with_sw(seq(700, 2), 0x9000));
    EXPECT_EQ(tx(proto::build_case2(0x80, 0x12, 0, 6, 1000).value()),
              with_sw(echo_pattern(1000, 6), 0x9000));
}

TEST_F(T0EndToEnd, NullStormsAreTransparent) {
    card_.options().faults.null_bytes = 5;
    run_mix([this](ByteView a) { return transmit(a); });
    EXPECT_GT(card_.stats().null_bytes_sent, 0u);
}

TEST_F(T0EndToEnd, SingleByteAcksAreTransparent) {
    card_.options().single_byte_acks = true;
    card_.options().faults.null_bytes = 1;
    run_mix([this](ByteView a) { return transmit(a); });
}

TEST_F(T0EndToEnd, NullStormBeyondTheReaderBoundFails) {
    card_.options().faults.null_bytes = 200;
    card_.options().reader_limits.max_null_bytes = 300;  // 200 before the ACK, 200 before SW1
    Outcome o = outcome(proto::build_case2(0x80, 0x12, 0, 0, 4).value());
    EXPECT_EQ(o.link_error, T0TransferError::TooManyNullBytes);
    card_.options().faults.null_bytes = 0;
    EXPECT_EQ(transmit(proto::build_case2(0x80, 0x12, 0, 0, 4).value()),
              with_sw(echo_pattern(4, 0), 0x9000));
}

TEST_F(T0EndToEnd, Endless61WithoutDataHitsTheRoundLimit) {
    card_.options().faults.endless_61 = Endless61::WithoutData;
    for (const Bytes& apdu : {proto::build_case4(0x80, 0x10, 0, 0, seq(3, 0), 256).value(),
                              proto::build_case2(0x80, 0x12, 0, 0, 4096).value()}) {
        const std::size_t before = card_.stats().get_responses;
        Outcome o = outcome(apdu);
        EXPECT_EQ(o.error, T0ExchangeError::GetResponseLimit);
        EXPECT_EQ(card_.stats().get_responses - before, T0ExchangeOptions{}.max_get_response_rounds);
    }
}

TEST_F(T0EndToEnd, Endless61WithDataStopsAtNe) {
    card_.options().faults.endless_61 = Endless61::WithData;
    const Bytes apdu = proto::build_case4(0x80, 0x10, 0, 0, seq(3, 0), 65536).value();
    const Bytes r = transmit(apdu);
    EXPECT_EQ(r.size(), 65536u + 2);
    EXPECT_EQ(proto::sw_of(r), 0x6100);  // the card still claims more: reported, not followed
    T0ExchangeOptions tight{.max_get_response_rounds = 100};
    EXPECT_EQ(outcome(apdu, tight).error, T0ExchangeError::GetResponseLimit);
}

TEST_F(T0EndToEnd, Endless6CHitsTheRetryLimit) {
    card_.options().faults.endless_6c = true;
    Outcome o = outcome(proto::build_case2(0x80, 0x12, 0, 0, 10).value());
    EXPECT_EQ(o.error, T0ExchangeError::WrongLengthLoop);
    EXPECT_EQ(last_stats_.tpdus, 1u + T0ExchangeOptions{}.max_wrong_length_retries);
    // In manual mode the first 6CXX is simply the answer.
    EXPECT_EQ(transmit(proto::build_case2(0x80, 0x12, 0, 0, 10).value(), kManual), hex("6C 0B"));
}

TEST_F(T0EndToEnd, WrongProcedureByteIsALinkError) {
    card_.options().faults.wrong_procedure_byte = true;
    EXPECT_EQ(outcome(hex("80 10 00 00")).link_error, T0TransferError::ProcedureByteConflict);
    EXPECT_EQ(outcome(proto::build_case4(0x80, 0x10, 0, 0, seq(300, 0), 65536).value())
                  .link_error,
              T0TransferError::ProcedureByteConflict);
    card_.options().faults.wrong_procedure_byte = false;
    EXPECT_EQ(transmit(hex("80 10 00 00")), hex("90 00"));
}

TEST_F(T0EndToEnd, InvalidApdusNeverReachTheCard) {
    EXPECT_EQ(outcome(hex("80 10 00")).error, T0ExchangeError::InvalidApdu);
    EXPECT_EQ(outcome(hex("FF 10 00 00")).error, T0ExchangeError::InvalidClass);
    EXPECT_EQ(outcome(hex("80 60 00 00")).error, T0ExchangeError::InvalidInstruction);
    EXPECT_EQ(card_.stats().commands, 0u);
}

}  // namespace
}  // namespace ccidkit::sim

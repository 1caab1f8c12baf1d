// T=0 host engine (APDU -> TPDUs, clause 12.2) and reader-side procedure-byte handling
// (clause 10.3.3), driven by scripted card answers.
#include <gtest/gtest.h>

#include <random>

#include "protocol/apdu.h"
#include "protocol/t0_exchange.h"
#include "protocol/t0_tpdu_transfer.h"

namespace ccidkit::proto {
namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

Bytes seq(std::size_t n, std::uint8_t start = 0) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
    return b;
}

Bytes cat(Bytes a, ByteView b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Takes the next TPDU, checks it, and answers it.
void expect_tpdu(T0Exchange& x, const Bytes& want, const Bytes& answer) {
    ASSERT_EQ(x.state(), T0Exchange::State::Transmit);
    auto t = x.poll_transmit();
    ASSERT_TRUE(t);
    EXPECT_EQ(to_hex(*t), to_hex(want));
    EXPECT_FALSE(x.poll_transmit());  // handed out once
    x.handle_response(answer);
}

void expect_done(T0Exchange& x, const Bytes& response) {
    ASSERT_EQ(x.state(), T0Exchange::State::Done) << (x.error() ? to_string(*x.error()) : "");
    EXPECT_EQ(to_hex(x.take_response()), to_hex(response));
    EXPECT_EQ(x.state(), T0Exchange::State::Idle);
}

void expect_failed(T0Exchange& x, T0ExchangeError e) {
    ASSERT_EQ(x.state(), T0Exchange::State::Failed);
    EXPECT_EQ(x.error(), e) << to_string(*x.error());
    EXPECT_FALSE(x.poll_transmit());
}

// ---------------- mapping of the short cases ----------------

TEST(T0Exchange, Case1SendsP3Zero) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("00 A4 00 0C")));
    expect_tpdu(x, hex("00 A4 00 0C 00"), hex("90 00"));
    expect_done(x, hex("90 00"));
}

TEST(T0Exchange, Case1KeepsA61Unchanged) {
    T0Exchange x;  // Ne = 0: nothing is fetched even with auto GET RESPONSE (12.2.2)
    ASSERT_TRUE(x.start(hex("00 A4 00 00")));
    expect_tpdu(x, hex("00 A4 00 00 00"), hex("61 10"));
    expect_done(x, hex("61 10"));
}

TEST(T0Exchange, Case2SendsLeAsP3) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("00 B0 00 00 04")));
    expect_tpdu(x, hex("00 B0 00 00 04"), hex("01 02 03 04 90 00"));
    expect_done(x, hex("01 02 03 04 90 00"));
}

TEST(T0Exchange, Case2Ne256IsP3Zero) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("00 B0 00 00 00")));
    const Bytes data = seq(256);
    expect_tpdu(x, hex("00 B0 00 00 00"), cat(data, hex("90 00")));
    expect_done(x, cat(data, hex("90 00")));
}

TEST(T0Exchange, Case2WrongLengthReissuesWithIndicatedP3) {
    T0Exchange x;  // 12.2.3 case 2S.3
    ASSERT_TRUE(x.start(hex("00 B0 00 00 10")));
    expect_tpdu(x, hex("00 B0 00 00 10"), hex("6C 03"));
    expect_tpdu(x, hex("00 B0 00 00 03"), hex("AA BB CC 90 00"));
    expect_done(x, hex("AA BB CC 90 00"));
    EXPECT_EQ(x.stats().wrong_length_retries, 1u);
    EXPECT_EQ(x.stats().tpdus, 2u);
}

TEST(T0Exchange, Case2WrongLengthLargerThanNeIsCutToNe) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("00 B0 00 00 02")));
    expect_tpdu(x, hex("00 B0 00 00 02"), hex("6C 04"));
    expect_tpdu(x, hex("00 B0 00 00 04"), hex("AA BB CC DD 90 00"));
    expect_done(x, hex("AA BB 90 00"));
}

TEST(T0Exchange, Case2Definitely67IsUnchanged) {
    T0Exchange x;  // 12.2.3 case 2S.2
    ASSERT_TRUE(x.start(hex("00 B0 00 00 10")));
    expect_tpdu(x, hex("00 B0 00 00 10"), hex("67 00"));
    expect_done(x, hex("67 00"));
}

TEST(T0Exchange, Case2With61FetchesTheRestUpToNe) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("00 CA 00 00 06")));
    expect_tpdu(x, hex("00 CA 00 00 06"), hex("01 02 61 08"));
    expect_tpdu(x, hex("00 C0 00 00 04"), hex("03 04 05 06 61 04"));
    expect_done(x, hex("01 02 03 04 05 06 61 04"));  // Ne reached: more is left on the card
}

TEST(T0Exchange, Case3SendsLcAndData) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("00 D6 00 00 02 AA BB")));
    expect_tpdu(x, hex("00 D6 00 00 02 AA BB"), hex("90 00"));
    expect_done(x, hex("90 00"));
}

TEST(T0Exchange, Case3KeepsA61Unchanged) {
    T0Exchange x;  // 12.2.4: the R-TPDU is the R-APDU
    ASSERT_TRUE(x.start(hex("80 10 00 00 01 AA")));
    expect_tpdu(x, hex("80 10 00 00 01 AA"), hex("61 01"));
    expect_done(x, hex("61 01"));
}

TEST(T0Exchange, Case4With61UsesGetResponse) {
    T0Exchange x;  // 12.2.5 case 4S.3, GET RESPONSE with the command's CLA
    ASSERT_TRUE(x.start(hex("80 10 00 00 02 AA BB 00")));
    expect_tpdu(x, hex("80 10 00 00 02 AA BB"), hex("61 02"));
    expect_tpdu(x, hex("80 C0 00 00 02"), hex("AA BB 90 00"));
    expect_done(x, hex("AA BB 90 00"));
    EXPECT_EQ(x.stats().get_responses, 1u);
}

TEST(T0Exchange, Case4GetResponseAsksForAtMostNe) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("80 10 00 00 01 AA 03")));
    expect_tpdu(x, hex("80 10 00 00 01 AA"), hex("61 00"));
    expect_tpdu(x, hex("80 C0 00 00 03"), hex("01 02 03 61 FD"));
    expect_done(x, hex("01 02 03 61 FD"));
}

TEST(T0Exchange, Case4ChainsUntilFinalStatus) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("80 10 00 00 01 AA 00")));
    expect_tpdu(x, hex("80 10 00 00 01 AA"), hex("61 03"));
    expect_tpdu(x, hex("80 C0 00 00 03"), hex("01 02 03 61 02"));
    expect_tpdu(x, hex("80 C0 00 00 02"), hex("04 05 62 82"));
    expect_done(x, hex("01 02 03 04 05 62 82"));
}

TEST(T0Exchange, Case4GetResponse6CIsReissued) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("80 10 00 00 01 AA 00")));
    expect_tpdu(x, hex("80 10 00 00 01 AA"), hex("61 10"));
    expect_tpdu(x, hex("80 C0 00 00 10"), hex("6C 04"));
    expect_tpdu(x, hex("80 C0 00 00 04"), hex("01 02 03 04 90 00"));
    expect_done(x, hex("01 02 03 04 90 00"));
}

TEST(T0Exchange, Case4Aborted) {
    T0Exchange x;  // 12.2.5 case 4S.1
    ASSERT_TRUE(x.start(hex("00 A4 04 00 02 A0 00 00")));
    expect_tpdu(x, hex("00 A4 04 00 02 A0 00"), hex("6A 82"));
    expect_done(x, hex("6A 82"));
}

TEST(T0Exchange, Case4WarningIsUnchanged) {
    T0Exchange x;  // 12.2.5 case 4S.4
    ASSERT_TRUE(x.start(hex("00 A4 04 00 02 A0 00 00")));
    expect_tpdu(x, hex("00 A4 04 00 02 A0 00"), hex("62 83"));
    expect_done(x, hex("62 83"));
}

TEST(T0Exchange, Case4After9000SendsGetResponseWithNe) {
    T0Exchange x;  // 12.2.5 case 4S.2
    ASSERT_TRUE(x.start(hex("80 10 00 00 01 AA 05")));
    expect_tpdu(x, hex("80 10 00 00 01 AA"), hex("90 00"));
    expect_tpdu(x, hex("80 C0 00 00 05"), hex("6C 01"));
    expect_tpdu(x, hex("80 C0 00 00 01"), hex("AA 90 00"));
    expect_done(x, hex("AA 90 00"));
}

TEST(T0Exchange, Case4After9000WithNothingToFetchIs9000) {
    T0Exchange x;
    ASSERT_TRUE(x.start(hex("00 A4 00 0C 02 3F 00 00")));
    expect_tpdu(x, hex("00 A4 00 0C 02 3F 00"), hex("90 00"));
    expect_tpdu(x, hex("00 C0 00 00 00"), hex("69 85"));
    expect_done(x, hex("90 00"));
}

TEST(T0Exchange, Case4After9000CanBeSwitchedOff) {
    T0Exchange x(T0ExchangeOptions{.get_response_after_9000 = false});
    ASSERT_TRUE(x.start(hex("80 10 00 00 01 AA 05")));
    expect_tpdu(x, hex("80 10 00 00 01 AA"), hex("90 00"));
    expect_done(x, hex("90 00"));
}

// ---------------- automatic handling off ----------------

TEST(T0Exchange, ManualModeReturns61And6CAsIs) {
    T0Exchange x(T0ExchangeOptions{.auto_get_response = false});
    ASSERT_TRUE(x.start(hex("80 10 00 00 02 AA BB 00")));
    expect_tpdu(x, hex("80 10 00 00 02 AA BB"), hex("61 02"));
    expect_done(x, hex("61 02"));

    ASSERT_TRUE(x.start(hex("00 B0 00 00 10")));
    expect_tpdu(x, hex("00 B0 00 00 10"), hex("6C 03"));
    expect_done(x, hex("6C 03"));

    ASSERT_TRUE(x.start(hex("80 10 00 00 01 AA 05")));
    expect_tpdu(x, hex("80 10 00 00 01 AA"), hex("90 00"));
    expect_done(x, hex("90 00"));

    ASSERT_TRUE(x.start(hex("00 B0 00 00 04")));  // case 2 data + 61XX: not followed
    expect_tpdu(x, hex("00 B0 00 00 04"), hex("01 02 03 04 61 10"));
    expect_done(x, hex("01 02 03 04 61 10"));
}

// ---------------- extended APDUs ----------------

TEST(T0Exchange, ExtendedThatFitsShortIsMappedShort) {
    T0Exchange x;  // 12.2.6 case 2E.1
    ASSERT_TRUE(x.start(hex("00 B0 00 00 00 00 10")));
    expect_tpdu(x, hex("00 B0 00 00 10"), hex("01 90 00"));
    expect_done(x, hex("01 90 00"));

    ASSERT_TRUE(x.start(hex("00 B0 00 00 00 01 00")));
    expect_tpdu(x, hex("00 B0 00 00 00"), hex("90 00"));
    expect_done(x, hex("90 00"));

    ASSERT_TRUE(x.start(hex("00 D6 00 00 00 00 01 AA")));  // 12.2.7 case 3E.1
    expect_tpdu(x, hex("00 D6 00 00 01 AA"), hex("90 00"));
    expect_done(x, hex("90 00"));
}

TEST(T0Exchange, Case4ExtendedShortDataCollectsLargeNe) {
    T0Exchange x;  // 12.2.8 case 4E.1: case-3 TPDU, then GET RESPONSE up to Ne = 600
    ASSERT_TRUE(x.start(hex("80 14 00 00 00 00 01 AA 02 58")));
    expect_tpdu(x, hex("80 14 00 00 01 AA"), hex("61 00"));
    const Bytes chunk = seq(256);
    expect_tpdu(x, hex("80 C0 00 00 00"), cat(chunk, hex("61 00")));
    expect_tpdu(x, hex("80 C0 00 00 00"), cat(chunk, hex("61 58")));
    expect_tpdu(x, hex("80 C0 00 00 58"), cat(seq(0x58), hex("90 00")));
    ASSERT_EQ(x.state(), T0Exchange::State::Done);
    const Bytes r = x.take_response();
    EXPECT_EQ(r.size(), 600u + 2);
    EXPECT_EQ(x.stats().get_responses, 3u);
}

TEST(T0Exchange, ExtendedDataTravelsInEnvelopes) {
    T0Exchange x;
    Bytes apdu = hex("80 10 00 00 00 01 2C");  // case 4E, Nc = 300, Ne = 0x0200
    apdu = cat(apdu, seq(300));
    apdu = cat(apdu, hex("02 00"));
    ASSERT_TRUE(x.start(apdu));
    // 309 bytes: 255 + 54, then the empty ENVELOPE.
    expect_tpdu(x, cat(hex("80 C2 00 00 FF"), ByteView(apdu).first(255)), hex("90 00"));
    expect_tpdu(x, cat(hex("80 C2 00 00 36"), ByteView(apdu).subspan(255)), hex("90 00"));
    expect_tpdu(x, hex("80 C2 00 00 00"), hex("61 00"));
    expect_tpdu(x, hex("80 C0 00 00 00"), cat(seq(256), hex("61 00")));
    expect_tpdu(x, hex("80 C0 00 00 00"), cat(seq(256), hex("61 2C")));
    ASSERT_EQ(x.state(), T0Exchange::State::Done);
    EXPECT_EQ(x.take_response().size(), 512u + 2);  // Ne = 512 reached; 61 2C says more left
    EXPECT_EQ(x.stats().envelopes, 3u);
}

TEST(T0Exchange, Case2ExtendedLargeNeUsesEnvelope) {
    T0Exchange x;
    const Bytes apdu = hex("80 12 00 00 00 01 01");
    ASSERT_TRUE(x.start(apdu));
    expect_tpdu(x, cat(hex("80 C2 00 00 07"), apdu), hex("90 00"));
    expect_tpdu(x, hex("80 C2 00 00 00"), hex("61 00"));
    expect_tpdu(x, hex("80 C0 00 00 00"), cat(seq(256), hex("61 01")));
    expect_tpdu(x, hex("80 C0 00 00 01"), hex("FF 90 00"));
    ASSERT_EQ(x.state(), T0Exchange::State::Done);
    EXPECT_EQ(x.take_response().size(), 257u + 2);
}

TEST(T0Exchange, EnvelopeSegmentAndGetResponseCanBeCapped) {
    T0ExchangeOptions options;
    options.max_envelope_segment = 100;
    options.max_get_response = 60;
    T0Exchange x(options);
    Bytes apdu = cat(hex("80 10 00 00 00 01 2C"), seq(300));  // case 4E, Nc = 300, Ne = 0x0050
    apdu = cat(apdu, hex("00 50"));
    ASSERT_TRUE(x.start(apdu));
    // 309 bytes: 3 x 100 + 9, then the empty ENVELOPE.
    expect_tpdu(x, cat(hex("80 C2 00 00 64"), ByteView(apdu).first(100)), hex("90 00"));
    expect_tpdu(x, cat(hex("80 C2 00 00 64"), ByteView(apdu).subspan(100, 100)), hex("90 00"));
    expect_tpdu(x, cat(hex("80 C2 00 00 64"), ByteView(apdu).subspan(200, 100)), hex("90 00"));
    expect_tpdu(x, cat(hex("80 C2 00 00 09"), ByteView(apdu).subspan(300)), hex("90 00"));
    expect_tpdu(x, hex("80 C2 00 00 00"), hex("61 00"));
    expect_tpdu(x, hex("80 C0 00 00 3C"), cat(seq(60), hex("61 14")));  // 60, not 80 (Ne)
    expect_tpdu(x, hex("80 C0 00 00 14"), cat(seq(20, 60), hex("90 00")));
    expect_done(x, cat(seq(80), hex("90 00")));
}

TEST(T0Exchange, RefusedEnvelopeSegmentEndsTheExchange) {
    T0Exchange x;
    Bytes apdu = cat(hex("00 D6 00 00 00 01 00"), seq(256));
    ASSERT_TRUE(x.start(apdu));
    expect_tpdu(x, cat(hex("00 C2 00 00 FF"), ByteView(apdu).first(255)), hex("6D 00"));
    expect_done(x, hex("6D 00"));
}

TEST(T0Exchange, EnvelopeCanBeDisabled) {
    T0Exchange x(T0ExchangeOptions{.envelope_for_extended = false});
    EXPECT_EQ(x.start(cat(hex("00 D6 00 00 00 01 00"), seq(256))).error(),
              T0ExchangeError::ExtendedNeedsEnvelope);
    EXPECT_EQ(x.state(), T0Exchange::State::Failed);
    // Extended encodings that map onto short TPDUs still work.
    ASSERT_TRUE(x.start(hex("00 B0 00 00 00 00 10")));
    expect_tpdu(x, hex("00 B0 00 00 10"), hex("90 00"));
    expect_done(x, hex("90 00"));
}

TEST(T0Exchange, ManualModeStillSegmentsButReturnsTheFinal61) {
    T0Exchange x(T0ExchangeOptions{.auto_get_response = false});
    const Bytes apdu = hex("80 12 00 00 00 01 01");
    ASSERT_TRUE(x.start(apdu));
    expect_tpdu(x, cat(hex("80 C2 00 00 07"), apdu), hex("90 00"));
    expect_tpdu(x, hex("80 C2 00 00 00"), hex("61 00"));
    expect_done(x, hex("61 00"));
}

// ---------------- errors ----------------

TEST(T0Exchange, StartErrors) {
    T0Exchange x;
    EXPECT_EQ(x.start(hex("00 A4 00")).error(), T0ExchangeError::InvalidApdu);
    EXPECT_EQ(x.apdu_error(), ApduError::TooShort);
    EXPECT_EQ(x.start(hex("00 D6 00 00 03 AA")).error(), T0ExchangeError::InvalidApdu);
    EXPECT_EQ(x.apdu_error(), ApduError::ShortLcMismatch);
    EXPECT_EQ(x.start(hex("FF A4 00 00")).error(), T0ExchangeError::InvalidClass);
    EXPECT_EQ(x.start(hex("00 61 00 00")).error(), T0ExchangeError::InvalidInstruction);
    EXPECT_EQ(x.start(hex("00 9F 00 00")).error(), T0ExchangeError::InvalidInstruction);

    ASSERT_TRUE(x.start(hex("00 A4 00 00")));
    EXPECT_EQ(x.apdu_error(), std::nullopt);
    EXPECT_EQ(x.start(hex("00 A4 00 00")).error(), T0ExchangeError::Busy);
    EXPECT_EQ(x.state(), T0Exchange::State::Transmit);  // the running exchange is untouched
    x.abort();
    EXPECT_EQ(x.state(), T0Exchange::State::Idle);
    EXPECT_TRUE(x.start(hex("00 A4 00 00")));
}

TEST(T0Exchange, ResponseErrors) {
    auto run = [](T0ExchangeOptions o, const Bytes& apdu, const Bytes& answer) {
        T0Exchange x(o);
        EXPECT_TRUE(x.start(apdu));
        EXPECT_TRUE(x.poll_transmit());
        x.handle_response(answer);
        return x.error();
    };
    EXPECT_EQ(run({}, hex("00 A4 00 00"), hex("90")), T0ExchangeError::ResponseTooShort);
    EXPECT_EQ(run({}, hex("00 A4 00 00"), {}), T0ExchangeError::ResponseTooShort);
    EXPECT_EQ(run({}, hex("00 B0 00 00 02"), hex("01 02 03 90 00")),
              T0ExchangeError::ResponseTooLong);
    EXPECT_EQ(run({}, hex("00 B0 00 00 00"), cat(seq(257), hex("90 00"))),
              T0ExchangeError::ResponseTooLong);
    EXPECT_EQ(run({}, hex("00 D6 00 00 01 AA"), hex("01 90 00")),
              T0ExchangeError::UnexpectedResponseData);
    EXPECT_EQ(run({}, hex("00 A4 00 00"), hex("01 90 00")),
              T0ExchangeError::UnexpectedResponseData);
    EXPECT_EQ(run({}, hex("00 A4 00 00"), hex("60 00")), T0ExchangeError::InvalidStatusWord);
    EXPECT_EQ(run({}, hex("00 A4 00 00"), hex("80 00")), T0ExchangeError::InvalidStatusWord);
    EXPECT_EQ(run({}, hex("00 A4 00 00"), hex("00 00")), T0ExchangeError::InvalidStatusWord);

    T0Exchange x;
    x.handle_response(hex("90 00"));
    EXPECT_EQ(x.error(), T0ExchangeError::NotAwaitingResponse);
    ASSERT_TRUE(x.start(hex("00 A4 00 00")));
    x.handle_response(hex("90 00"));  // before poll_transmit()
    EXPECT_EQ(x.error(), T0ExchangeError::NotAwaitingResponse);
}

TEST(T0Exchange, EndlessGetResponseIsBounded) {
    T0Exchange x(T0ExchangeOptions{.max_get_response_rounds = 10});
    ASSERT_TRUE(x.start(hex("80 10 00 00 01 AA 00")));
    expect_tpdu(x, hex("80 10 00 00 01 AA"), hex("61 10"));
    for (int i = 0; i < 10; ++i) expect_tpdu(x, hex("80 C0 00 00 10"), hex("61 10"));
    expect_failed(x, T0ExchangeError::GetResponseLimit);
    EXPECT_EQ(x.stats().get_responses, 10u);
}

TEST(T0Exchange, EndlessWrongLengthIsBounded) {
    T0Exchange x(T0ExchangeOptions{.max_wrong_length_retries = 2});
    ASSERT_TRUE(x.start(hex("00 B0 00 00 05")));
    expect_tpdu(x, hex("00 B0 00 00 05"), hex("6C 06"));
    expect_tpdu(x, hex("00 B0 00 00 06"), hex("6C 07"));
    expect_tpdu(x, hex("00 B0 00 00 07"), hex("6C 08"));
    expect_failed(x, T0ExchangeError::WrongLengthLoop);
}

TEST(T0Exchange, EveryErrorHasAMessage) {
    for (int i = 0; i <= static_cast<int>(T0ExchangeError::WrongLengthLoop); ++i) {
        const auto s = to_string(static_cast<T0ExchangeError>(i));
        EXPECT_FALSE(s.empty());
        EXPECT_NE(s, "unknown T=0 exchange error");
    }
    for (int i = 0; i <= static_cast<int>(T0TransferError::NotStarted); ++i) {
        const auto s = to_string(static_cast<T0TransferError>(i));
        EXPECT_NE(s, "unknown T=0 transfer error");
    }
}

// Whatever the card answers, an exchange ends (Done or Failed) after a bounded number of
// TPDUs: at most 259 ENVELOPEs, max_get_response_rounds GET RESPONSEs and a few 6CXX retries.
TEST(T0Exchange, HostileAnswersAlwaysTerminate) {
    std::mt19937 rng(1203);
    const Bytes apdus[] = {
        hex("00 A4 00 00"),
        hex("00 B0 00 00 20"),
        hex("00 B0 00 00 00"),
        hex("80 10 00 00 02 AA BB 00"),
        cat(cat(hex("80 10 00 00 00 01 2C"), seq(300)), hex("00 00")),
        hex("80 12 00 00 00 00 00"),
        hex("80 14 00 00 00 00 03 01 00 00 00 00"),
    };
    const std::uint8_t sw1s[] = {0x61, 0x61, 0x6C, 0x90, 0x62, 0x6A, 0x67, 0x00};
    std::size_t done = 0;
    for (int i = 0; i < 1500; ++i) {
        T0Exchange x(T0ExchangeOptions{.auto_get_response = rng() % 4 != 0,
                                       .get_response_after_9000 = rng() % 2 == 0});
        ASSERT_TRUE(x.start(apdus[rng() % std::size(apdus)]));
        std::size_t tpdus = 0;
        while (auto t = x.poll_transmit()) {
            ASSERT_LT(++tpdus, 600u);
            Bytes answer;
            const unsigned shape = rng() % 10;
            if (shape == 0) {
                answer.resize(rng() % 2);  // too short
            } else {
                const std::size_t n = shape < 4 ? rng() % 300 : 0;
                answer.resize(n);
                for (auto& b : answer) b = static_cast<std::uint8_t>(rng());
                answer.push_back(sw1s[rng() % std::size(sw1s)]);
                answer.push_back(static_cast<std::uint8_t>(rng() % 3 == 0 ? 0 : rng()));
            }
            x.handle_response(answer);
        }
        ASSERT_TRUE(x.state() == T0Exchange::State::Done ||
                    x.state() == T0Exchange::State::Failed);
        if (x.state() == T0Exchange::State::Done) {
            ++done;
            EXPECT_GE(x.take_response().size(), 2u);
        }
    }
    EXPECT_GT(done, 100u);
}

TEST(T0TpduTransfer, RandomCardCharactersEndOrWait) {
    std::mt19937 rng(99);
    for (int i = 0; i < 3000; ++i) {
        T0TpduTransfer t(T0TransferLimits{.max_null_bytes = 50});
        const bool incoming = rng() % 2;
        ASSERT_TRUE(t.start(incoming ? hex("00 D6 00 00 03 01 02 03") : hex("00 B0 00 00 03")));
        t.take_output();
        Bytes card(rng() % 64);
        for (auto& b : card) {
            const unsigned k = rng() % 6;
            b = k == 0 ? 0x60 : k == 1 ? 0xB0 : k == 2 ? 0x4F : k == 3 ? 0xD6 : k == 4 ? 0x29
                                                                              : static_cast<std::uint8_t>(rng());
        }
        const std::size_t used = t.on_card_bytes(card);
        ASSERT_LE(used, card.size());
        if (t.state() == T0TpduTransfer::State::Done) {
            ASSERT_GE(t.result().size(), 2u);
            ASSERT_LE(t.result().size(), incoming ? 2u : 5u);
        } else if (t.state() == T0TpduTransfer::State::Running) {
            ASSERT_EQ(used, card.size());  // still listening: everything was taken
            t.on_card_silent();
            ASSERT_EQ(t.error(), T0TransferError::CardMute);
        }
    }
}

// ---------------- reader side of the procedure bytes ----------------

struct Fed {
    std::size_t used;
    Bytes output;
};

Fed feed(T0TpduTransfer& t, const Bytes& card) {
    const std::size_t used = t.on_card_bytes(card);
    return {used, t.take_output()};
}

TEST(T0TpduTransfer, OutgoingWithAckAll) {
    T0TpduTransfer t;
    ASSERT_TRUE(t.start(hex("00 B0 00 00 03")));
    EXPECT_EQ(t.take_output(), hex("00 B0 00 00 03"));
    EXPECT_TRUE(t.take_output().empty());
    auto f = feed(t, hex("B0 01 60 02 90 00"));  // 60 inside data is data, not NULL
    EXPECT_EQ(f.used, 6u);
    EXPECT_EQ(t.state(), T0TpduTransfer::State::Done);
    EXPECT_EQ(t.result(), hex("01 60 02 90 00"));
    EXPECT_EQ(t.null_bytes_seen(), 0u);
}

TEST(T0TpduTransfer, OutgoingByteByByteWithNulls) {
    T0TpduTransfer t;
    ASSERT_TRUE(t.start(hex("00 B0 00 00 02")));
    t.take_output();
    feed(t, hex("60 60 4F AA 60 4F BB 60 90 00"));
    EXPECT_EQ(t.state(), T0TpduTransfer::State::Done);
    EXPECT_EQ(t.result(), hex("AA BB 90 00"));
    EXPECT_EQ(t.null_bytes_seen(), 4u);
}

TEST(T0TpduTransfer, P3ZeroOutgoingMeans256) {
    T0TpduTransfer t;
    ASSERT_TRUE(t.start(hex("00 B0 00 00 00")));
    t.take_output();
    feed(t, cat(cat(hex("B0"), seq(256)), hex("90 00")));
    EXPECT_EQ(t.result(), cat(seq(256), hex("90 00")));
}

TEST(T0TpduTransfer, IncomingAllAtOnce) {
    T0TpduTransfer t;
    ASSERT_TRUE(t.start(hex("00 D6 00 00 03 AA BB CC")));
    EXPECT_EQ(t.take_output(), hex("00 D6 00 00 03"));
    EXPECT_EQ(feed(t, hex("D6")).output, hex("AA BB CC"));
    feed(t, hex("90 00"));
    EXPECT_EQ(t.result(), hex("90 00"));
}

TEST(T0TpduTransfer, IncomingOneByteAtATime) {
    T0TpduTransfer t;
    ASSERT_TRUE(t.start(hex("00 D6 00 00 03 AA BB CC")));
    t.take_output();
    EXPECT_EQ(feed(t, hex("29")).output, hex("AA"));
    EXPECT_EQ(feed(t, hex("60 29")).output, hex("BB"));
    EXPECT_EQ(feed(t, hex("D6")).output, hex("CC"));  // then the rest in one go
    feed(t, hex("63 C1"));
    EXPECT_EQ(t.result(), hex("63 C1"));
}

TEST(T0TpduTransfer, StatusBeforeAnyData) {
    T0TpduTransfer t;
    ASSERT_TRUE(t.start(hex("00 B0 00 00 10")));
    t.take_output();
    auto f = feed(t, hex("6C 05 EE"));
    EXPECT_EQ(f.used, 2u);  // the stray character after SW2 is not consumed
    EXPECT_EQ(t.result(), hex("6C 05"));
}

TEST(T0TpduTransfer, Errors) {
    T0TpduTransfer t;
    EXPECT_EQ(t.start(hex("00 B0 00 00")).error(), T0TransferError::TpduTooShort);
    EXPECT_EQ(t.start(hex("00 D6 00 00 02 AA")).error(), T0TransferError::TpduLengthMismatch);
    EXPECT_EQ(t.start(hex("00 D6 00 00 00 AA")).error(), T0TransferError::TpduLengthMismatch);
    EXPECT_EQ(t.start(hex("FF B0 00 00 01")).error(), T0TransferError::InvalidClass);
    EXPECT_EQ(t.start(hex("00 6A 00 00 01")).error(), T0TransferError::InvalidInstruction);
    EXPECT_EQ(t.start(hex("00 95 00 00 01")).error(), T0TransferError::InvalidInstruction);
    EXPECT_EQ(t.state(), T0TpduTransfer::State::Failed);

    ASSERT_TRUE(t.start(hex("00 B0 00 00 01")));
    t.take_output();
    feed(t, hex("60 42 90 00"));
    EXPECT_EQ(t.error(), T0TransferError::ProcedureByteConflict);

    T0TpduTransfer fresh;
    fresh.on_card_bytes(hex("90 00"));
    EXPECT_EQ(fresh.error(), T0TransferError::NotStarted);
}

TEST(T0TpduTransfer, NullBytesAreBounded) {
    T0TpduTransfer t(T0TransferLimits{.max_null_bytes = 3});
    ASSERT_TRUE(t.start(hex("00 B0 00 00 01")));
    t.take_output();
    feed(t, hex("60 60 60"));
    EXPECT_EQ(t.state(), T0TpduTransfer::State::Running);
    auto f = feed(t, hex("60 60"));
    EXPECT_EQ(f.used, 1u);
    EXPECT_EQ(t.error(), T0TransferError::TooManyNullBytes);
}

TEST(T0TpduTransfer, IdleAcksAreBounded) {
    T0TpduTransfer t(T0TransferLimits{.max_idle_acks = 2});
    ASSERT_TRUE(t.start(hex("00 B0 00 00 01")));
    t.take_output();
    feed(t, hex("B0 01 B0 4F"));  // two ACKs after the only byte was sent: tolerated
    EXPECT_EQ(t.state(), T0TpduTransfer::State::Running);
    feed(t, hex("B0"));
    EXPECT_EQ(t.error(), T0TransferError::TooManyIdleAcks);
}

TEST(T0TpduTransfer, SilenceBeforeSw2IsCardMute) {
    T0TpduTransfer t;
    ASSERT_TRUE(t.start(hex("00 B0 00 00 02")));
    t.take_output();
    feed(t, hex("B0 01 02 90"));
    t.on_card_silent();
    EXPECT_EQ(t.error(), T0TransferError::CardMute);
}

}  // namespace
}  // namespace ccidkit::proto

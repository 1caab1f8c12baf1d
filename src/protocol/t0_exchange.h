// Host-side transport of one command-response pair over T=0 (ISO/IEC 7816-3:2006 clause 12.2),
// at the level a TPDU-level CCID reader offers: each C-TPDU is "CLA INS P1 P2 P3 [data]" and
// each R-TPDU is "[data] SW1 SW2" (the reader has already dealt with procedure bytes).
//
// Sans-I/O, in the quinn-proto style:
//     T0Exchange x(options);
//     x.start(apdu);
//     while (auto tpdu = x.poll_transmit()) x.handle_response(reader.xfr(*tpdu));
//     if (x.state() == T0Exchange::State::Done) use(x.take_response()); else x.error();
//
// Mapping (clause numbers of 7816-3:2006):
//   case 1  -> P3 = 00 (12.2.2)            case 2S -> P3 = Le (12.2.3)
//   case 3S -> P3 = Lc + data (12.2.4)     case 4S -> case-3 TPDU, then GET RESPONSE (12.2.5)
//   2E with Ne <= 256, 3E/4E with Nc <= 255: mapped like the short cases (12.2.6-12.2.8,
//   subcases .1), Ne up to 65536 collected through 61XX / GET RESPONSE.
//   2E with Ne > 256 and 3E/4E with Nc > 255: the whole C-APDU is cut into ENVELOPE (INS C2)
//   segments of at most 255 bytes, closed by an empty ENVELOPE (ISO/IEC 7816-4: an empty
//   ENVELOPE ends the data string under T=0); the answer to it is handled like case 4.
//
// auto_get_response = true (javax.smartcardio style): 61XX -> GET RESPONSE with
// P3 = min(XX, Ne still missing), repeated and concatenated until Ne bytes or a final status;
// 6CXX on an outgoing TPDU -> the same TPDU again with P3 = XX; 9000 after a case-4 TPDU ->
// GET RESPONSE with P3 = Ne (12.2.5 case 4S.2; a failing GET RESPONSE there means "no data",
// so the R-APDU is the 9000). Commands without Le (Ne = 0) get their R-TPDU unchanged.
// auto_get_response = false (pcsc-lite / Windows style): pure mapping, every 61XX / 6CXX goes
// back to the caller as is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "common/bytes.h"
#include "protocol/apdu.h"

namespace ccidkit::proto {

enum class T0ExchangeError {
    InvalidApdu,             // start(): malformed command APDU, see apdu_error()
    InvalidClass,            // CLA FF cannot be sent in T=0 (clause 10.3.2)
    InvalidInstruction,      // INS 6X / 9X cannot be sent in T=0 (clause 10.3.2)
    ExtendedNeedsEnvelope,   // extended APDU needs ENVELOPE but envelope_for_extended is off
    Busy,                    // start() while an exchange is in progress
    NotAwaitingResponse,     // handle_response() without an outstanding TPDU
    ResponseTooShort,        // R-TPDU without SW1 SW2
    ResponseTooLong,         // more data than the P3 of the outgoing TPDU
    UnexpectedResponseData,  // data in answer to an incoming TPDU (cases 1/3, ENVELOPE)
    InvalidStatusWord,       // SW1 neither 6X (except 60) nor 9X (clause 10.3.4)
    GetResponseLimit,        // 61XX kept coming beyond max_get_response_rounds
    WrongLengthLoop,         // 6CXX kept coming beyond max_wrong_length_retries
};

std::string_view to_string(T0ExchangeError e);

struct T0ExchangeOptions {
    bool auto_get_response = true;
    bool get_response_after_9000 = true;  // 12.2.5 case 4S.2; only with auto_get_response
    bool envelope_for_extended = true;
    // Size caps for a transport that carries fewer bytes per TPDU (a CCID reader with a small
    // dwMaxCCIDMessageLength): ENVELOPE data bytes per segment (1..255, the TPDU is 5 more) and
    // the Le of GET RESPONSE (1..256, the R-TPDU is 2 more). Smaller segments and Le values are
    // ordinary ISO/IEC 7816-4 usage: the card answers 61XX for what is left.
    std::size_t max_envelope_segment = 255;
    std::size_t max_get_response = 256;
    // 65536 bytes in 256-byte GET RESPONSE chunks take 256 rounds; the rest is slack. With a
    // smaller max_get_response, raise it to about 65536 / max_get_response plus slack.
    std::size_t max_get_response_rounds = 300;
    // Consecutive 6CXX answers accepted for one TPDU before giving up.
    unsigned max_wrong_length_retries = 3;
};

struct T0ExchangeStats {
    std::size_t tpdus = 0;
    std::size_t get_responses = 0;
    std::size_t envelopes = 0;
    std::size_t wrong_length_retries = 0;
};

class T0Exchange {
public:
    enum class State {
        Idle,             // nothing started
        Transmit,         // a TPDU waits in poll_transmit()
        AwaitResponse,    // the TPDU was taken; handle_response() expected
        Done,             // take_response() holds the R-APDU
        Failed,           // error() says why
    };

    explicit T0Exchange(T0ExchangeOptions options = {});

    std::expected<void, T0ExchangeError> start(ByteView command_apdu);
    std::optional<Bytes> poll_transmit();
    void handle_response(ByteView response_tpdu);
    // Drops any exchange in progress (e.g. after a transport failure).
    void abort();

    State state() const { return state_; }
    Bytes take_response();
    std::optional<T0ExchangeError> error() const { return error_; }
    std::optional<ApduError> apdu_error() const { return apdu_error_; }
    const T0ExchangeStats& stats() const { return stats_; }
    const T0ExchangeOptions& options() const { return options_; }

private:
    enum class Phase { Command, EnvelopeSegment, EnvelopeEnd, GetResponse, GetResponseAfter9000 };

    void send(Bytes tpdu, bool outgoing, Phase phase);
    void send_get_response(std::size_t n, Phase phase);
    void send_next_envelope();
    void reissue_with_p3(std::uint8_t p3);
    void on_first_answer(ByteView data, std::uint8_t sw1, std::uint8_t sw2);
    void on_get_response_answer(ByteView data, std::uint8_t sw1, std::uint8_t sw2);
    bool wants_more() const;
    void continue_with_get_response(std::uint8_t sw2);
    void finish(std::uint8_t sw1, std::uint8_t sw2);
    void fail(T0ExchangeError e);

    T0ExchangeOptions options_;
    State state_ = State::Idle;
    std::optional<T0ExchangeError> error_;
    std::optional<ApduError> apdu_error_;
    T0ExchangeStats stats_;

    std::uint8_t cla_ = 0;
    std::uint32_t ne_ = 0;
    Bytes envelope_payload_;   // the whole C-APDU when it travels in ENVELOPE segments
    std::size_t envelope_offset_ = 0;

    Bytes tpdu_;               // the TPDU most recently handed out (for 6CXX re-issue)
    bool outgoing_ = false;    // that TPDU asks the card for P3 data bytes
    Phase phase_ = Phase::Command;
    std::size_t get_response_rounds_ = 0;
    unsigned wrong_length_in_a_row_ = 0;
    Bytes collected_;
    Bytes response_;
};

}  // namespace ccidkit::proto

#include "protocol/t0_exchange.h"

#include <algorithm>
#include <utility>

namespace ccidkit::proto {

namespace {

constexpr std::uint8_t kGetResponse = 0xC0;
constexpr std::uint8_t kEnvelope = 0xC2;
constexpr std::size_t kEnvelopeSegment = 255;

// P3 counts 1..256 for outgoing data, 256 being coded 00 (clause 10.3.2).
std::size_t outgoing_count(std::uint8_t p3) { return p3 == 0 ? 256 : p3; }

bool valid_sw1(std::uint8_t sw1) {
    const std::uint8_t hi = sw1 & 0xF0;
    return (hi == 0x60 && sw1 != 0x60) || hi == 0x90;
}

// Statuses that end a process without response data (7816-4 clause 5.1.3: 64XX-6FXX).
bool is_error_status(std::uint8_t sw1) { return sw1 >= 0x64 && sw1 <= 0x6F; }

}  // namespace

std::string_view to_string(T0ExchangeError e) {
    switch (e) {
        case T0ExchangeError::InvalidApdu: return "malformed command APDU";
        case T0ExchangeError::InvalidClass: return "CLA FF cannot be sent with T=0";
        case T0ExchangeError::InvalidInstruction: return "INS 6X/9X cannot be sent with T=0";
        case T0ExchangeError::ExtendedNeedsEnvelope:
            return "extended APDU needs ENVELOPE, which is disabled";
        case T0ExchangeError::Busy: return "a T=0 exchange is already in progress";
        case T0ExchangeError::NotAwaitingResponse: return "no T=0 TPDU is awaiting a response";
        case T0ExchangeError::ResponseTooShort: return "R-TPDU shorter than SW1 SW2";
        case T0ExchangeError::ResponseTooLong: return "R-TPDU carries more data than P3 asked for";
        case T0ExchangeError::UnexpectedResponseData:
            return "R-TPDU carries data in answer to an incoming TPDU";
        case T0ExchangeError::InvalidStatusWord: return "R-TPDU SW1 is neither 6X nor 9X";
        case T0ExchangeError::GetResponseLimit:
            return "card kept answering 61XX beyond the GET RESPONSE round limit";
        case T0ExchangeError::WrongLengthLoop:
            return "card kept answering 6CXX beyond the retry limit";
    }
    return "unknown T=0 exchange error";
}

T0Exchange::T0Exchange(T0ExchangeOptions options) : options_(options) {}

void T0Exchange::abort() {
    state_ = State::Idle;
    error_.reset();
    apdu_error_.reset();
    collected_.clear();
    response_.clear();
    envelope_payload_.clear();
    tpdu_.clear();
}

std::expected<void, T0ExchangeError> T0Exchange::start(ByteView command_apdu) {
    if (state_ == State::Transmit || state_ == State::AwaitResponse) {
        return std::unexpected(T0ExchangeError::Busy);
    }
    abort();
    stats_ = {};
    get_response_rounds_ = 0;
    wrong_length_in_a_row_ = 0;
    envelope_offset_ = 0;

    auto reject = [this](T0ExchangeError e) {
        fail(e);
        return std::unexpected(e);
    };
    auto parsed = parse_command_apdu(command_apdu);
    if (!parsed) {
        apdu_error_ = parsed.error();
        return reject(T0ExchangeError::InvalidApdu);
    }
    const CommandApdu& c = *parsed;
    if (c.cla == 0xFF) return reject(T0ExchangeError::InvalidClass);
    const std::uint8_t ins_hi = c.ins & 0xF0;
    if (ins_hi == 0x60 || ins_hi == 0x90) return reject(T0ExchangeError::InvalidInstruction);

    cla_ = c.cla;
    ne_ = c.ne;
    const std::size_t nc = c.nc();
    Bytes header{c.cla, c.ins, c.p1, c.p2};

    if (nc == 0 && ne_ <= kMaxShortNe) {
        // Case 1 (P3 = 00, incoming nothing) or case 2 (P3 = Le, outgoing).
        header.push_back(static_cast<std::uint8_t>(ne_));  // 256 wraps to 00
        send(std::move(header), ne_ != 0, Phase::Command);
        return {};
    }
    if (nc > 0 && nc <= kMaxShortNc) {
        // Cases 3S/4S, 3E.1/4E.1: a case-3 TPDU; Ne is collected afterwards.
        header.push_back(static_cast<std::uint8_t>(nc));
        header.insert(header.end(), c.data.begin(), c.data.end());
        send(std::move(header), false, Phase::Command);
        return {};
    }
    if (!options_.envelope_for_extended) return reject(T0ExchangeError::ExtendedNeedsEnvelope);
    envelope_payload_.assign(command_apdu.begin(), command_apdu.end());
    send_next_envelope();
    return {};
}

std::optional<Bytes> T0Exchange::poll_transmit() {
    if (state_ != State::Transmit) return std::nullopt;
    state_ = State::AwaitResponse;
    ++stats_.tpdus;
    return tpdu_;
}

Bytes T0Exchange::take_response() {
    if (state_ != State::Done) return {};
    state_ = State::Idle;
    return std::exchange(response_, {});
}

void T0Exchange::send(Bytes tpdu, bool outgoing, Phase phase) {
    tpdu_ = std::move(tpdu);
    outgoing_ = outgoing;
    phase_ = phase;
    state_ = State::Transmit;
}

void T0Exchange::send_get_response(std::size_t n, Phase phase) {
    if (get_response_rounds_ >= options_.max_get_response_rounds) {
        fail(T0ExchangeError::GetResponseLimit);
        return;
    }
    ++get_response_rounds_;
    ++stats_.get_responses;
    // ISO/IEC 7816-4 GET RESPONSE: same CLA, INS C0, P1 P2 = 0000, Le = bytes wanted.
    n = std::min(n, std::clamp<std::size_t>(options_.max_get_response, 1, kMaxShortNe));
    send(Bytes{cla_, kGetResponse, 0x00, 0x00, static_cast<std::uint8_t>(n)}, true, phase);
}

void T0Exchange::send_next_envelope() {
    const std::size_t left = envelope_payload_.size() - envelope_offset_;
    const std::size_t n = std::min(left, std::clamp<std::size_t>(options_.max_envelope_segment, 1, kEnvelopeSegment));
    Bytes t{cla_, kEnvelope, 0x00, 0x00, static_cast<std::uint8_t>(n)};
    const auto first = envelope_payload_.begin() + static_cast<std::ptrdiff_t>(envelope_offset_);
    t.insert(t.end(), first, first + static_cast<std::ptrdiff_t>(n));
    envelope_offset_ += n;
    ++stats_.envelopes;
    // n == 0 is the empty ENVELOPE that closes the data string.
    send(std::move(t), false, n == 0 ? Phase::EnvelopeEnd : Phase::EnvelopeSegment);
}

void T0Exchange::reissue_with_p3(std::uint8_t p3) {
    ++stats_.wrong_length_retries;
    if (++wrong_length_in_a_row_ > options_.max_wrong_length_retries) {
        fail(T0ExchangeError::WrongLengthLoop);
        return;
    }
    if (phase_ == Phase::GetResponse || phase_ == Phase::GetResponseAfter9000) {
        // A repeated GET RESPONSE is still one more round.
        if (get_response_rounds_ >= options_.max_get_response_rounds) {
            fail(T0ExchangeError::GetResponseLimit);
            return;
        }
        ++get_response_rounds_;
        ++stats_.get_responses;
    }
    tpdu_[4] = p3;
    state_ = State::Transmit;
}

void T0Exchange::handle_response(ByteView r) {
    if (state_ != State::AwaitResponse) {
        if (state_ != State::Failed) fail(T0ExchangeError::NotAwaitingResponse);
        return;
    }
    if (r.size() < 2) return fail(T0ExchangeError::ResponseTooShort);
    const std::uint8_t sw1 = sw1_of(r);
    const std::uint8_t sw2 = sw2_of(r);
    if (!valid_sw1(sw1)) return fail(T0ExchangeError::InvalidStatusWord);
    const ByteView data = response_data(r);
    if (outgoing_) {
        if (data.size() > outgoing_count(tpdu_[4])) return fail(T0ExchangeError::ResponseTooLong);
    } else if (!data.empty()) {
        return fail(T0ExchangeError::UnexpectedResponseData);
    }
    if (sw1 != 0x6C) wrong_length_in_a_row_ = 0;

    switch (phase_) {
        case Phase::EnvelopeSegment:
            if (sw1 == 0x90 && sw2 == 0x00) {
                send_next_envelope();
            } else {
                finish(sw1, sw2);  // the card refused a segment: its status is the answer
            }
            return;
        case Phase::Command:
        case Phase::EnvelopeEnd:
            on_first_answer(data, sw1, sw2);
            return;
        case Phase::GetResponse:
        case Phase::GetResponseAfter9000:
            on_get_response_answer(data, sw1, sw2);
            return;
    }
}

bool T0Exchange::wants_more() const { return collected_.size() < ne_; }

void T0Exchange::continue_with_get_response(std::uint8_t sw2) {
    const std::size_t offered = outgoing_count(sw2);
    send_get_response(std::min<std::size_t>(offered, ne_ - collected_.size()), Phase::GetResponse);
}

void T0Exchange::on_first_answer(ByteView data, std::uint8_t sw1, std::uint8_t sw2) {
    const bool automatic = options_.auto_get_response;
    if (outgoing_) {
        // Case 2 (12.2.3): 6CXX -> same TPDU with P3 = XX; 61XX -> GET RESPONSE.
        if (automatic && sw1 == 0x6C && data.empty()) return reissue_with_p3(sw2);
        collected_.insert(collected_.end(), data.begin(), data.end());
        if (automatic && sw1 == 0x61 && wants_more()) return continue_with_get_response(sw2);
        return finish(sw1, sw2);
    }
    // Incoming TPDU. Without Le the R-TPDU is the R-APDU (12.2.2, 12.2.4).
    if (!automatic || ne_ == 0) return finish(sw1, sw2);
    if (sw1 == 0x61) return continue_with_get_response(sw2);  // 12.2.5 case 4S.3
    if (sw1 == 0x90 && sw2 == 0x00 && options_.get_response_after_9000) {
        // 12.2.5 case 4S.2: "command accepted", the data is fetched with Le = Ne.
        return send_get_response(std::min<std::size_t>(ne_, 256), Phase::GetResponseAfter9000);
    }
    finish(sw1, sw2);  // case 4S.1 (aborted) and 4S.4 (62XY, 63XY, 9XYZ): unchanged
}

void T0Exchange::on_get_response_answer(ByteView data, std::uint8_t sw1, std::uint8_t sw2) {
    const bool after_9000 = phase_ == Phase::GetResponseAfter9000;
    if (sw1 == 0x6C && data.empty()) return reissue_with_p3(sw2);
    if (after_9000 && data.empty() && is_error_status(sw1)) {
        // The card had nothing to give: the command itself completed with 9000.
        return finish(0x90, 0x00);
    }
    collected_.insert(collected_.end(), data.begin(), data.end());
    if (sw1 == 0x61 && wants_more()) return continue_with_get_response(sw2);
    finish(sw1, sw2);
}

void T0Exchange::finish(std::uint8_t sw1, std::uint8_t sw2) {
    // A 6CXX re-issue may have fetched more than Ne (XX > Ne): the caller asked for Ne at most.
    if (ne_ != 0 && collected_.size() > ne_) collected_.resize(ne_);
    response_ = std::exchange(collected_, {});
    response_.push_back(sw1);
    response_.push_back(sw2);
    envelope_payload_.clear();
    state_ = State::Done;
}

void T0Exchange::fail(T0ExchangeError e) {
    state_ = State::Failed;
    error_ = e;
    collected_.clear();
    envelope_payload_.clear();
}

}  // namespace ccidkit::proto

#include "sim/card/t0_card.h"

#include <algorithm>
#include <utility>

#include "protocol/apdu.h"
#include "sim/card/echo_app.h"

namespace ccidkit::sim {

namespace sw = proto::sw;

namespace {

constexpr std::uint8_t kNull = 0x60;
constexpr std::uint8_t kGetResponse = 0xC0;
constexpr std::uint8_t kEnvelope = 0xC2;

bool invalid_t0_ins(std::uint8_t ins) {
    const std::uint8_t hi = ins & 0xF0;
    return hi == 0x60 || hi == 0x90;
}

}  // namespace

bool default_t0_outgoing(std::uint8_t cla, std::uint8_t ins) {
    switch (ins) {
        case 0xB0: case 0xB1:  // READ BINARY
        case 0xB2: case 0xB3:  // READ RECORD
        case 0xCA: case 0xCB:  // GET DATA
        case 0x84:             // GET CHALLENGE
        case kGetResponse:
            return true;
        default:
            return cla == kEchoCla && ins == kInsPattern;
    }
}

T0Card::T0Card(CardApplication& app, T0CardOptions options)
    : app_(app), options_(std::move(options)) {}

void T0Card::reset() {
    abort_transfer();
    pending_.reset();
    envelope_.clear();
    app_.reset();
}

void T0Card::abort_transfer() {
    header_.clear();
    receiving_ = false;
    expected_ = 0;
    incoming_.clear();
}

Bytes T0Card::on_reader_chars(ByteView chars) {
    for (std::uint8_t c : chars) {
        if (receiving_) {
            incoming_.push_back(c);
            --expected_;
            if (expected_ == 0) {
                on_data_complete();
            } else if (options_.single_byte_acks) {
                emit_procedure(static_cast<std::uint8_t>(header_[1] ^ 0xFF));
            }
            continue;
        }
        header_.push_back(c);
        if (header_.size() == 5) on_header();
    }
    return std::exchange(out_, {});
}

void T0Card::emit_procedure(std::uint8_t b) {
    out_.insert(out_.end(), options_.faults.null_bytes, kNull);
    stats_.null_bytes_sent += options_.faults.null_bytes;
    out_.push_back(b);
}

void T0Card::emit_sw(std::uint16_t status) {
    emit_procedure(static_cast<std::uint8_t>(status >> 8));
    out_.push_back(static_cast<std::uint8_t>(status));
}

void T0Card::send_data(ByteView data) {
    const std::uint8_t ins = header_[1];
    if (options_.single_byte_acks) {
        for (std::uint8_t b : data) {
            emit_procedure(static_cast<std::uint8_t>(ins ^ 0xFF));
            out_.push_back(b);
        }
        return;
    }
    emit_procedure(ins);
    out_.insert(out_.end(), data.begin(), data.end());
}

void T0Card::start_receiving() {
    receiving_ = true;
    expected_ = header_[4];
    incoming_.clear();
    const std::uint8_t ins = header_[1];
    emit_procedure(options_.single_byte_acks ? static_cast<std::uint8_t>(ins ^ 0xFF) : ins);
}

void T0Card::on_header() {
    ++stats_.commands;
    const std::uint8_t cla = header_[0];
    const std::uint8_t ins = header_[1];
    const std::uint8_t p3 = header_[4];

    if (options_.faults.wrong_procedure_byte) {
        // The smallest value that is none of 60, INS, ~INS, 6X, 9X (always one of 00..02).
        std::uint8_t bogus = 0;
        while (bogus == ins || bogus == static_cast<std::uint8_t>(ins ^ 0xFF)) ++bogus;
        out_.push_back(bogus);
        header_.clear();
        return;
    }
    if (invalid_t0_ins(ins)) {
        emit_sw(sw::kInsNotSupported);
        header_.clear();
        return;
    }
    if (ins == kGetResponse) {
        handle_get_response();
        header_.clear();
        return;
    }
    // ISO/IEC 7816-4: GET RESPONSE must directly follow the command it belongs to.
    pending_.reset();
    const bool envelope = ins == kEnvelope && options_.envelope;
    if (!envelope) envelope_.clear();

    if (envelope && (header_[2] != 0 || header_[3] != 0)) {
        emit_sw(sw::kIncorrectP1P2);
        header_.clear();
        return;
    }
    if (!envelope && options_.is_outgoing && options_.is_outgoing(cla, ins)) {
        handle_outgoing();
        header_.clear();
        return;
    }
    if (p3 == 0) {
        if (envelope) {
            finish_envelope();
        } else {
            handle_incoming({});
        }
        header_.clear();
        return;
    }
    start_receiving();  // header_ is kept until the data is complete
}

void T0Card::on_data_complete() {
    receiving_ = false;
    if (header_[1] == kEnvelope && options_.envelope) {
        ++stats_.envelopes;
        envelope_.insert(envelope_.end(), incoming_.begin(), incoming_.end());
        if (envelope_.size() > proto::kMaxCommandApduSize) {
            envelope_.clear();
            emit_sw(sw::kWrongLength);
        } else {
            emit_sw(sw::kOk);
        }
    } else {
        handle_incoming(incoming_);
    }
    incoming_.clear();
    header_.clear();
}

void T0Card::handle_outgoing() {
    const std::uint8_t p3 = header_[4];
    if (options_.faults.endless_6c) {
        emit_sw(static_cast<std::uint16_t>(0x6C00 | static_cast<std::uint8_t>(p3 + 1)));
        return;
    }
    const std::size_t ne = p3 == 0 ? 256 : p3;
    const Bytes apdu{header_[0], header_[1], header_[2], header_[3], p3};
    const Bytes response = app_.process(apdu);
    if (response.size() < 2) {
        emit_sw(sw::kNoPreciseDiagnosis);
        return;
    }
    const ByteView data = proto::response_data(response);
    const std::uint16_t status = proto::sw_of(response);
    const std::size_t n = std::min(data.size(), ne);
    if (n == ne) {
        send_data(data.first(n));
        emit_sw(status);
    } else if (n == 0) {
        emit_sw(status);
    } else if (options_.wrong_length_as_6700) {
        emit_sw(sw::kWrongLength);
    } else {
        emit_sw(static_cast<std::uint16_t>(0x6C00 | n));  // n < ne <= 256, so n fits
    }
}

void T0Card::handle_get_response() {
    ++stats_.get_responses;
    const std::uint8_t p3 = header_[4];
    const std::size_t want = p3 == 0 ? 256 : p3;
    switch (options_.faults.endless_61) {
        case Endless61::WithData:
            send_data(echo_pattern(want, static_cast<std::uint8_t>(stats_.get_responses)));
            emit_sw(0x6100);
            return;
        case Endless61::WithoutData:
            emit_sw(0x6100);
            return;
        case Endless61::Off:
            break;
    }
    if (options_.faults.endless_6c) {
        emit_sw(static_cast<std::uint16_t>(0x6C00 | static_cast<std::uint8_t>(p3 + 1)));
        return;
    }
    if (header_[2] != 0 || header_[3] != 0) {
        emit_sw(sw::kIncorrectP1P2);
        return;
    }
    if (!pending_) {
        emit_sw(sw::kConditionsNotSatisfied);
        return;
    }
    const std::size_t available = pending_->data.size() - pending_->offset;
    if (want > available) {
        // available < want <= 256, and a pending response is never empty.
        emit_sw(static_cast<std::uint16_t>(0x6C00 | available));
        return;
    }
    send_data(ByteView(pending_->data).subspan(pending_->offset, want));
    pending_->offset += want;
    const std::size_t left = available - want;
    if (left > 0) {
        emit_sw(static_cast<std::uint16_t>(0x6100 | (left >= 256 ? 0 : left)));
    } else {
        const std::uint16_t final_sw = pending_->sw;
        pending_.reset();
        emit_sw(final_sw);
    }
}

void T0Card::handle_incoming(ByteView data) {
    auto apdu = proto::make_command_apdu(header_[0], header_[1], header_[2], header_[3], data,
                                         options_.implicit_ne);
    if (!apdu) {
        emit_sw(sw::kWrongLength);  // only reachable with an out-of-range implicit_ne
        return;
    }
    auto encoded = proto::encode_command_apdu(*apdu);
    if (!encoded) {
        emit_sw(sw::kWrongLength);
        return;
    }
    deliver(app_.process(*encoded));
}

void T0Card::finish_envelope() {
    Bytes command = std::exchange(envelope_, {});
    if (command.empty() || !proto::parse_command_apdu(command)) {
        emit_sw(sw::kWrongLength);
        return;
    }
    deliver(app_.process(command));
}

void T0Card::deliver(const Bytes& response) {
    if (response.size() < 2) {
        emit_sw(sw::kNoPreciseDiagnosis);
        return;
    }
    const ByteView data = proto::response_data(response);
    const std::uint16_t status = proto::sw_of(response);
    if (data.empty()) {
        emit_sw(status);
        return;
    }
    pending_ = Pending{Bytes(data.begin(), data.end()), 0, status};
    if (!options_.announce_with_61) {
        emit_sw(sw::kOk);
        return;
    }
    emit_sw(static_cast<std::uint16_t>(0x6100 | (data.size() >= 256 ? 0 : data.size())));
}

std::expected<Bytes, proto::T0TransferError> T0Card::exchange_tpdu(ByteView tpdu) {
    proto::T0TpduTransfer reader(options_.reader_limits);
    last_nulls_ = 0;
    if (auto started = reader.start(tpdu); !started) return std::unexpected(started.error());
    // Every round moves at least one character each way, or ends; a TPDU has at most 261
    // characters out and 256 data + per-byte procedure bytes + SW back. The bound only
    // guards against a model bug.
    for (int round = 0; round < 4096 && !reader.finished(); ++round) {
        const Bytes to_card = reader.take_output();
        if (to_card.empty()) {
            reader.on_card_silent();
            break;
        }
        const Bytes from_card = on_reader_chars(to_card);
        reader.on_card_bytes(from_card);
    }
    if (!reader.finished()) reader.on_card_silent();
    last_nulls_ = reader.null_bytes_seen();
    if (reader.state() == proto::T0TpduTransfer::State::Failed) {
        // The reader gave up mid-command; like a reader that re-synchronises, start afresh
        // with the next header (the application state is kept).
        abort_transfer();
        return std::unexpected(*reader.error());
    }
    return reader.result();
}

}  // namespace ccidkit::sim

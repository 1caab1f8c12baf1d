#include "protocol/t0_tpdu_transfer.h"

#include <utility>

namespace ccidkit::proto {

std::string_view to_string(T0TransferError e) {
    switch (e) {
        case T0TransferError::TpduTooShort: return "T=0 TPDU shorter than its 5-byte header";
        case T0TransferError::TpduLengthMismatch:
            return "T=0 TPDU length is neither 5 nor 5 + P3";
        case T0TransferError::InvalidClass: return "CLA FF is invalid in T=0";
        case T0TransferError::InvalidInstruction: return "INS 6X and 9X are invalid in T=0";
        case T0TransferError::ProcedureByteConflict:
            return "card sent an invalid procedure byte (not 60, INS, ~INS, 6X or 9X)";
        case T0TransferError::TooManyNullBytes: return "card sent too many NULL (60) bytes";
        case T0TransferError::TooManyIdleAcks:
            return "card kept acknowledging with nothing left to transfer";
        case T0TransferError::CardMute: return "card stopped responding before SW2";
        case T0TransferError::NotStarted: return "T=0 transfer not started";
    }
    return "unknown T=0 transfer error";
}

T0TpduTransfer::T0TpduTransfer(T0TransferLimits limits) : limits_(limits) {}

std::expected<void, T0TransferError> T0TpduTransfer::start(ByteView tpdu) {
    *this = T0TpduTransfer(limits_);
    auto reject = [this](T0TransferError e) {
        fail(e);
        return std::unexpected(e);
    };
    if (tpdu.size() < 5) return reject(T0TransferError::TpduTooShort);
    const std::uint8_t p3 = tpdu[4];
    if (tpdu.size() == 5) {
        incoming_ = false;
        total_ = p3 == 0 ? 256 : p3;
    } else if (p3 != 0 && tpdu.size() == 5u + p3) {
        incoming_ = true;
        total_ = p3;
    } else {
        return reject(T0TransferError::TpduLengthMismatch);
    }
    if (tpdu[0] == 0xFF) return reject(T0TransferError::InvalidClass);
    const std::uint8_t hi = tpdu[1] & 0xF0;
    if (hi == 0x60 || hi == 0x90) return reject(T0TransferError::InvalidInstruction);

    tpdu_.assign(tpdu.begin(), tpdu.end());
    ins_ = tpdu[1];
    output_.assign(tpdu.begin(), tpdu.begin() + 5);
    state_ = State::Running;
    return {};
}

Bytes T0TpduTransfer::take_output() { return std::exchange(output_, {}); }

void T0TpduTransfer::fail(T0TransferError e) {
    state_ = State::Failed;
    error_ = e;
    output_.clear();
}

void T0TpduTransfer::on_card_silent() {
    if (state_ == State::Running) fail(T0TransferError::CardMute);
}

std::size_t T0TpduTransfer::on_card_bytes(ByteView chars) {
    if (state_ == State::Idle) {
        fail(T0TransferError::NotStarted);
        return 0;
    }
    std::size_t used = 0;
    while (used < chars.size() && state_ == State::Running) {
        const std::uint8_t b = chars[used++];
        if (receive_pending_ > 0) {
            // Data characters after an ACK are taken verbatim, whatever their value.
            result_.push_back(b);
            --receive_pending_;
            ++done_;
        } else if (await_sw2_) {
            result_.push_back(b);
            state_ = State::Done;
        } else {
            on_procedure_byte(b);
        }
    }
    return used;
}

void T0TpduTransfer::on_procedure_byte(std::uint8_t b) {
    const std::uint8_t hi = b & 0xF0;
    if (b == 0x60) {  // NULL: the card asks for more time (clause 10.3.3)
        if (++nulls_ > limits_.max_null_bytes) fail(T0TransferError::TooManyNullBytes);
        return;
    }
    if (hi == 0x60 || hi == 0x90) {  // SW1; SW2 follows
        result_.push_back(b);
        await_sw2_ = true;
        return;
    }
    const bool all = b == ins_;
    const bool one = b == static_cast<std::uint8_t>(ins_ ^ 0xFF);
    if (!all && !one) {
        fail(T0TransferError::ProcedureByteConflict);
        return;
    }
    const std::size_t left = total_ - done_;
    if (left == 0) {
        // Nothing left to move: the card should have sent SW1. Tolerated a few times only.
        if (++idle_acks_ > limits_.max_idle_acks) fail(T0TransferError::TooManyIdleAcks);
        return;
    }
    const std::size_t n = all ? left : 1;
    if (incoming_) {
        const auto first = tpdu_.begin() + 5 + static_cast<std::ptrdiff_t>(done_);
        output_.insert(output_.end(), first, first + static_cast<std::ptrdiff_t>(n));
        done_ += n;
    } else {
        receive_pending_ = n;
    }
}

}  // namespace ccidkit::proto

// The reader side of one T=0 TPDU at character level (ISO/IEC 7816-3:2006 clause 10.3): sends
// the 5-byte header, interprets the card's procedure bytes (clause 10.3.3) and turns the
// exchange into the TPDU result "[data] SW1 SW2" that a TPDU-level CCID reader reports.
// Sans-I/O: characters in, characters out; waiting times are the caller's business.
//
// Direction, as a TPDU-level reader decides it: a 5-byte TPDU is outgoing (the card sends P3
// bytes, P3 = 00 meaning 256), a TPDU of 5 + P3 bytes (P3 > 0) is incoming.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "common/bytes.h"

namespace ccidkit::proto {

enum class T0TransferError {
    TpduTooShort,           // fewer than 5 header bytes
    TpduLengthMismatch,     // neither 5 bytes nor 5 + P3 bytes with P3 > 0
    InvalidClass,           // CLA = FF (reserved for PPS, clause 10.3.2)
    InvalidInstruction,     // INS = 6X or 9X (clause 10.3.2)
    ProcedureByteConflict,  // a byte that is neither NULL, ACK, ~ACK, 6X nor 9X
    TooManyNullBytes,       // more NULL (60) bytes than the configured bound
    TooManyIdleAcks,        // ACKs with nothing left to transfer, beyond the bound
    CardMute,               // the card stopped sending before SW2 (a timeout on real hardware)
    NotStarted,             // characters fed before start()
};

std::string_view to_string(T0TransferError e);

struct T0TransferLimits {
    // Each NULL restarts the work waiting time (clause 10.2): a card may legitimately send
    // many, but a reader must not wait forever.
    std::size_t max_null_bytes = 10'000;
    std::size_t max_idle_acks = 16;
};

class T0TpduTransfer {
public:
    enum class State { Idle, Running, Done, Failed };

    explicit T0TpduTransfer(T0TransferLimits limits = {});

    // Validates the TPDU and queues its header for transmission. Resets any previous state.
    std::expected<void, T0TransferError> start(ByteView tpdu);

    // Characters to send to the card now (empty when the reader is only listening).
    Bytes take_output();

    // Feeds characters received from the card. Returns how many were consumed: characters
    // after SW2 or after a failure are left unconsumed.
    std::size_t on_card_bytes(ByteView chars);

    // The card went silent while the reader still expected characters.
    void on_card_silent();

    State state() const { return state_; }
    bool finished() const { return state_ == State::Done || state_ == State::Failed; }
    // Valid in Done: "[data] SW1 SW2".
    const Bytes& result() const { return result_; }
    std::optional<T0TransferError> error() const { return error_; }
    std::size_t null_bytes_seen() const { return nulls_; }

private:
    void fail(T0TransferError e);
    void on_procedure_byte(std::uint8_t b);

    T0TransferLimits limits_;
    State state_ = State::Idle;
    std::optional<T0TransferError> error_;
    Bytes tpdu_;
    bool incoming_ = false;
    std::size_t total_ = 0;     // data bytes to transfer in the announced direction
    std::size_t done_ = 0;      // data bytes transferred so far
    std::size_t receive_pending_ = 0;  // outgoing: data bytes the card is about to send
    bool await_sw2_ = false;
    std::uint8_t ins_ = 0;
    Bytes output_;
    Bytes result_;
    std::size_t nulls_ = 0;
    std::size_t idle_acks_ = 0;
};

}  // namespace ccidkit::proto

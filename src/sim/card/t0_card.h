// The card side of T=0 (ISO/IEC 7816-3:2006 clause 10) in front of a CardApplication.
//
// Two entry points over one model:
//  - on_reader_chars(): character level. The card takes header / data characters from the
//    reader and answers with procedure bytes (clause 10.3.3: INS = send all, ~INS = one byte,
//    60 = NULL, then SW1 SW2), data characters and status.
//  - exchange_tpdu(): TPDU level, what a TPDU-level CCID reader reports for one TPDU
//    ("[data] SW1 SW2"); built by running the reader side (proto::T0TpduTransfer) against the
//    character level, so both are always exercised together.
//
// What the card does (as a typical T=0 card / Java Card runtime would):
//  - Direction: T=0 cannot tell "P3 = Lc" from "P3 = Le"; the card knows it per instruction
//    (options.is_outgoing). Outgoing commands reach the application with Le = P3 (00 = 256).
//    Incoming commands reach it with Lc = P3 and an implicit Le (options.implicit_ne, default
//    65536), since a T=0 card never sees the Le of a case-4 APDU.
//  - Outgoing, application returns exactly Ne bytes: ACK + data + SW. No data: SW only.
//    Fewer bytes than P3: 6CXX with XX = available bytes (or 6700 if wrong_length_as_6700).
//  - Incoming with response data: the card keeps the response and answers 61XX
//    (XX = bytes left, 00 when 256 or more), or 9000 if announce_with_61 is false (cards
//    expecting 12.2.5 case 4S.2 behaviour). GET RESPONSE (INS C0, P1 P2 = 0000, any CLA):
//    P3 <= available -> P3 bytes + 61XX (more left) or the final SW; P3 > available -> 6CXX.
//    No pending response -> 6985; P1 P2 other than 0000 -> 6A86. Any other command discards
//    the pending response.
//  - ENVELOPE (INS C2, P1 P2 = 0000, if options.envelope): each segment is appended and
//    answered 9000; an empty ENVELOPE (P3 = 00) ends the string, which is processed as one
//    command APDU (short or extended) and answered like an incoming command. A string longer
//    than the largest command APDU (65544 bytes), an empty or malformed string: 6700. Any
//    other command discards a partial string.
//  - INS 6X / 9X: 6D00.
// Faults (all deterministic): NULL storms before every procedure byte, 61XX that never ends
// (with or without data), 6CXX that never converges, an invalid procedure byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>

#include "common/bytes.h"
#include "protocol/t0_tpdu_transfer.h"
#include "sim/card/card_application.h"

namespace ccidkit::sim {

// True when the card sends data for this command (P3 is Le): READ BINARY (B0/B1), READ RECORD
// (B2/B3), GET DATA (CA/CB), GET CHALLENGE (84), GET RESPONSE (C0), and EchoApp PATTERN (80 12).
bool default_t0_outgoing(std::uint8_t cla, std::uint8_t ins);

enum class Endless61 {
    Off,
    WithData,     // every GET RESPONSE: P3 pattern bytes + 61 00, forever
    WithoutData,  // every GET RESPONSE: 61 00 alone, data never comes
};

struct T0CardFaults {
    std::size_t null_bytes = 0;          // NULL (60) characters before every procedure byte
    Endless61 endless_61 = Endless61::Off;
    bool endless_6c = false;             // outgoing commands: always 6C(P3 + 1)
    bool wrong_procedure_byte = false;   // first procedure byte of every command is invalid
};

struct T0CardOptions {
    std::function<bool(std::uint8_t cla, std::uint8_t ins)> is_outgoing = default_t0_outgoing;
    bool wrong_length_as_6700 = false;
    bool announce_with_61 = true;
    bool single_byte_acks = false;       // transfer every data byte after its own ~INS
    bool envelope = true;
    std::uint32_t implicit_ne = 65536;   // 0: incoming commands reach the app without Le
    proto::T0TransferLimits reader_limits = {};  // the reader side used by exchange_tpdu()
    T0CardFaults faults = {};
};

struct T0CardStats {
    std::size_t commands = 0;       // headers received
    std::size_t get_responses = 0;
    std::size_t envelopes = 0;
    std::size_t null_bytes_sent = 0;
};

class T0Card {
public:
    explicit T0Card(CardApplication& app, T0CardOptions options = {});

    Bytes on_reader_chars(ByteView chars);
    std::expected<Bytes, proto::T0TransferError> exchange_tpdu(ByteView tpdu);

    // Cold or warm reset: transport state and the application's transient state.
    void reset();

    T0CardOptions& options() { return options_; }
    const T0CardStats& stats() const { return stats_; }
    std::size_t last_exchange_null_bytes() const { return last_nulls_; }

private:
    struct Pending {
        Bytes data;
        std::size_t offset = 0;
        std::uint16_t sw = 0;
    };

    void on_header();
    void on_data_complete();
    void handle_outgoing();
    void handle_get_response();
    void handle_incoming(ByteView data);
    void finish_envelope();
    void deliver(const Bytes& response);
    void start_receiving();
    void emit_procedure(std::uint8_t b);
    void emit_sw(std::uint16_t sw);
    void send_data(ByteView data);
    void abort_transfer();

    CardApplication& app_;
    T0CardOptions options_;
    T0CardStats stats_;
    std::size_t last_nulls_ = 0;

    Bytes header_;                 // 0..5 characters of the current header
    bool receiving_ = false;       // collecting P3 data characters
    std::size_t expected_ = 0;     // data characters still to come in this command
    Bytes incoming_;
    std::optional<Pending> pending_;
    Bytes envelope_;
    Bytes out_;
};

}  // namespace ccidkit::sim

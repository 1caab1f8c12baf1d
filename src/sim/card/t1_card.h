// Card side of the T=1 block protocol (ISO/IEC 7816-3:2006 clause 11) around a
// CardApplication, with deterministic fault injection for tests.
//
// The card is a pure responder: handle_block() takes one block from the interface device and
// returns the card's answer, or nullopt when the card stays silent (the caller then reports a
// BWT timeout to the host). It chains in both directions (its own IFSC for receiving, the
// host's IFSD for sending), answers S(IFS), S(RESYNCH) and S(ABORT), can itself request
// S(WTX) and S(IFS) and abort its response chain, and follows the error rules 7.1-7.3 so that
// it recovers with a conforming host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "protocol/t1_block.h"
#include "protocol/t1_edc.h"
#include "protocol/t1_engine.h"
#include "sim/card/card_application.h"

namespace ccidkit::sim {

enum class T1FaultWhere : std::uint8_t {
    Received,  // a block from the host, before the card looks at it
    Sent,      // a block from the card, after the card has recorded it as sent
};

enum class T1FaultKind : std::uint8_t {
    CorruptEdc,        // last EDC byte inverted
    Drop,              // Received: the card never sees it; Sent: it never arrives (host timeout)
    Truncate,          // Sent: only NAD and PCB arrive
    FlipSequence,      // Sent: N(S) of an I-block / N(R) of an R-block flipped, EDC recomputed
    UnexpectedSBlock,  // Sent: replaced by an S(IFS response) nobody asked for
};

inline constexpr std::size_t kFaultForever = std::numeric_limits<std::size_t>::max();

// Applies to `count` consecutive blocks starting with the `index`-th (1-based) block received
// or sent since construction or reset().
struct T1CardFault {
    T1FaultWhere where = T1FaultWhere::Sent;
    std::size_t index = 1;
    T1FaultKind kind = T1FaultKind::CorruptEdc;
    std::size_t count = 1;
};

struct T1CardConfig {
    proto::T1Edc edc = proto::T1Edc::Lrc;
    std::uint8_t nad = 0;                                 // NAD the host sends
    std::uint8_t ifsc = proto::kT1DefaultIfs;             // as announced in the ATR
    std::uint8_t initial_ifsd = proto::kT1DefaultIfs;
    std::size_t max_command = proto::kT1MaxCommandSize;  // longer chains are answered 67 00

    // Scripted behaviour.
    unsigned wtx_requests = 0;                  // S(WTX request)s before every response
    std::uint8_t wtx_multiplier = 2;
    std::optional<std::uint8_t> request_ifsc;   // S(IFS request, value) before a response
    bool request_ifsc_every_command = false;    // otherwise only before the first response
    std::optional<std::size_t> abort_response_at;     // n-th response block becomes S(ABORT)
    std::optional<std::size_t> endless_chain_inf;     // response never ends (INF of this size)

    std::vector<T1CardFault> faults;
};

struct T1CardStats {
    std::size_t blocks_received = 0;
    std::size_t blocks_sent = 0;
    std::size_t invalid_blocks = 0;
    std::size_t retransmissions = 0;  // I-blocks sent again on request
    std::size_t commands = 0;         // APDUs given to the application
    std::size_t resyncs = 0;
    std::size_t aborts = 0;           // S(ABORT request)s received
    std::size_t ifs_requests = 0;     // S(IFS request)s received
};

class T1Card {
public:
    T1Card(CardApplication& app, T1CardConfig config = {});

    std::optional<Bytes> handle_block(ByteView block);

    // Card reset (new ATR): numbering, IFSC/IFSD, chains and block counters start over; the
    // application is reset too.
    void reset();
    void add_fault(const T1CardFault& fault) { config_.faults.push_back(fault); }

    std::uint8_t ifsc() const { return ifsc_; }
    std::uint8_t ifsd() const { return ifsd_; }
    const T1CardStats& stats() const { return stats_; }
    const T1CardConfig& config() const { return config_; }
    // The last complete command APDU given to the application.
    const Bytes& last_command() const { return last_command_; }

private:
    enum class Phase : std::uint8_t {
        Idle,        // waiting for the first I-block of a command
        Receiving,   // the host is chaining; our last word was an R-block acknowledgement
        Responding,  // our response chain is in progress; waiting for R(N(S)+1)
        Responded,   // our last response block went out; waiting for the next command
        AwaitWtx,    // S(WTX request) outstanding
        AwaitIfs,    // S(IFS request) outstanding
        AwaitAbort,  // S(ABORT request) outstanding
    };

    const T1CardFault* fault_for(T1FaultWhere where, std::size_t index) const;
    std::optional<Bytes> emit(const proto::T1Block& block);
    std::optional<Bytes> emit_raw(const Bytes& block);
    std::optional<Bytes> on_invalid(proto::T1RCode code);
    std::optional<Bytes> on_i_block(const proto::T1Block& block);
    std::optional<Bytes> on_r_block(const proto::T1Block& block);
    std::optional<Bytes> on_s_block(const proto::T1Block& block);
    std::optional<Bytes> execute();
    std::optional<Bytes> next_response_step();
    std::optional<Bytes> send_response_block();
    void drop_exchange();
    bool awaiting_s_response() const;

    CardApplication& app_;
    T1CardConfig config_;
    Phase phase_ = Phase::Idle;
    std::uint8_t nr_ = 0;  // N(S) expected in the host's next I-block
    std::uint8_t ns_ = 0;  // N(S) of our next I-block
    std::uint8_t ifsc_;
    std::uint8_t ifsd_;

    Bytes command_;
    bool command_overflow_ = false;
    Bytes last_command_;
    Bytes response_;
    std::size_t response_offset_ = 0;
    std::size_t chunk_ = 0;
    std::size_t response_blocks_ = 0;
    unsigned wtx_left_ = 0;
    bool ifs_requested_once_ = false;
    std::uint8_t ifs_request_ = 0;

    Bytes last_sent_;       // exact, uncorrupted copy
    bool last_was_r_ = false;
    Bytes last_i_block_;    // for retransmission on R(N(S))
    std::uint8_t last_i_ns_ = 0;

    std::size_t received_count_ = 0;
    std::size_t sent_count_ = 0;
    T1CardStats stats_;
};

}  // namespace ccidkit::sim

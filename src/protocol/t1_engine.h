// Host (interface device) side of the T=1 block protocol, ISO/IEC 7816-3:2006 clause 11,
// without I/O: the caller moves bytes and reports timeouts, the engine decides what to send.
//
// Driving loop (the transport owns the clock; BWT/CWT come from the ATR, 11.4.3):
//
//   engine.start(apdu);
//   while (engine.state() == T1State::Busy) {
//       if (auto block = engine.poll_transmit()) send(*block);
//       if (engine.state() != T1State::Busy) break;   // e.g. S(ABORT response) was the last word
//       wait up to BWT * engine.wtx_multiplier() for one block:
//           got a block         -> engine.handle_block(bytes)
//           nothing / partial   -> engine.handle_timeout()
//           parity error report -> engine.handle_parity_error()
//   }
//   Done -> take_response(); Failed -> error().
//
// Every exchange is bounded: retries per step, resynchronisations, WTX requests, response size
// and the total number of blocks (see T1Config). After a failed resynchronisation (Rule 6.4)
// the engine refuses new work until reset() is called following a card reset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "common/bytes.h"
#include "protocol/t1_block.h"
#include "protocol/t1_edc.h"

namespace ccidkit::proto {

// Extended case 4 command APDU: header 4 + Lc 3 + 65535 data + Le 2 (ISO/IEC 7816-4 5.1).
inline constexpr std::size_t kT1MaxCommandSize = 65544;
// 65536 data bytes + SW1 SW2.
inline constexpr std::size_t kT1MaxResponseSize = 65538;

struct T1Config {
    std::uint8_t ifsc = kT1DefaultIfs;          // card's IFSC from the ATR (TA(i), i > 2, 11.4.2)
    std::uint8_t ifsd = 254;                    // IFSD we announce with S(IFS request)
    std::uint8_t initial_ifsd = kT1DefaultIfs;  // IFSD the card assumes before any S(IFS)
    bool negotiate_ifsd_first = false;          // S(IFS request, ifsd) before the first I-block
    T1Edc edc = T1Edc::Lrc;
    std::uint8_t nad = 0;                       // our NAD; the card answers with it swapped
    unsigned max_retries = 3;     // recovery transmissions per step before S(RESYNCH) (Rule 7.4)
    unsigned max_resyncs = 3;     // S(RESYNCH request)s per exchange (Rule 6.4)
    unsigned max_wtx = 1000;      // S(WTX request)s answered per exchange
    std::size_t max_response = kT1MaxResponseSize;
    std::size_t max_blocks = 0;   // blocks sent per exchange; 0 = derived (see block_budget())
};

enum class T1State : std::uint8_t { Idle, Busy, Done, Failed };

// What an idle engine carries from one exchange to the next: enough for another engine (in
// another process sharing the card) to continue the same session.
struct T1Continuity {
    std::uint8_t ns = 0;     // N(S) of our next I-block
    std::uint8_t nr = 0;     // N(S) expected in the card's next I-block
    std::uint8_t ifsc = kT1DefaultIfs;
    std::uint8_t ifsd = kT1DefaultIfs;
    bool ifsd_negotiated = false;
    bool needs_resync = false;
    bool dead = false;       // needs a card reset (Rule 6.4)
    bool operator==(const T1Continuity&) const = default;
};
std::string_view to_string(T1State state);

enum class T1Error : std::uint8_t {
    // Refusals of start() / negotiate_ifsd() / abort().
    Busy,             // an exchange is already running
    NotBusy,          // abort() with no exchange running
    NotAbortable,     // abort() while an S-block exchange is in progress
    EmptyCommand,     // zero-length APDU
    CommandTooLong,   // more than kT1MaxCommandSize bytes
    InvalidIfs,       // IFSD outside 1..254
    NeedsReset,       // protocol failed earlier; reset the card, then call reset()
    // Outcomes of an exchange.
    ProtocolFailure,  // card not responding: retries and resynchronisations exhausted
    AbortedByCard,    // the card sent S(ABORT request) (Rule 9)
    AbortedByHost,    // our S(ABORT request) was acknowledged
    WtxLimit,         // the card asked for more waiting time extensions than max_wtx
    ResponseTooLong,  // the card's chained response exceeds max_response
    BlockLimit,       // the exchange needed more blocks than the budget allows
    VppError,         // the card sent S(VPP error response)
    Internal,         // an internal invariant failed (a bug)
};
std::string_view to_string(T1Error error);

// Counters of the current (or last) exchange.
struct T1Stats {
    std::size_t blocks_sent = 0;
    std::size_t blocks_received = 0;    // including invalid ones and timeouts
    std::size_t invalid_blocks = 0;     // bad EDC/format, unexpected blocks, timeouts
    std::size_t recoveries = 0;         // R-blocks and retransmissions caused by errors
    std::size_t resyncs = 0;            // S(RESYNCH request)s sent
    std::size_t wtx_requests = 0;
    std::size_t ifs_requests = 0;       // S(IFS request)s from the card that were accepted
};

class T1Engine {
public:
    explicit T1Engine(const T1Config& config = {});

    // Starts sending a command APDU.
    std::expected<void, T1Error> start(ByteView apdu);
    // Runs a stand-alone S(IFS request, ifsd) exchange (Rule 4); Done with an empty response.
    std::expected<void, T1Error> negotiate_ifsd(std::uint8_t ifsd);
    // Sends S(ABORT request) to stop the current chain (Rule 9); the exchange then fails with
    // AbortedByHost.
    std::expected<void, T1Error> abort();

    // The next block to put on the wire, at most once each.
    std::optional<Bytes> poll_transmit();
    // Feed one received block (exact bytes: prologue, INF, EDC).
    void handle_block(ByteView received);
    // BWT (times wtx_multiplier()) or CWT expired with no block, or with only part of one.
    void handle_timeout();
    // The reader reported a parity error while receiving (answered with EDC error code 1).
    void handle_parity_error();

    T1State state() const;
    // The response APDU once Done (then the engine returns to Idle); empty otherwise.
    Bytes take_response();
    std::optional<T1Error> error() const { return error_; }
    // BWT multiplier for the block being waited for: the card's last S(WTX) value right after we
    // answered it, 1 otherwise (the extension applies to that one wait only, Rule 3).
    unsigned wtx_multiplier() const { return wait_multiplier_; }

    std::uint8_t ifsc() const { return ifsc_; }
    std::uint8_t ifsd() const { return ifsd_; }
    const T1Stats& stats() const { return stats_; }
    const T1Config& config() const { return config_; }
    // Block budget of the current exchange (config().max_blocks, or derived from the sizes).
    std::size_t block_budget() const { return budget_; }

    // Sharing a session (see T1Continuity). continuity() describes the engine between
    // exchanges; continue_from() makes an idle engine take over that state, refusing values
    // no engine could have (sequence numbers other than 0/1, IFS outside 1..254) or a
    // running exchange (Busy).
    T1Continuity continuity() const;
    std::expected<void, T1Error> continue_from(const T1Continuity& state);

    // After a card reset: sequence numbers 0, IFSC/IFSD back to the configured initial values.
    void reset();
    void reset(const T1Config& config);

private:
    enum class Operation : std::uint8_t { None, Apdu, Ifs };
    enum class Waiting : std::uint8_t { None, Apdu, IfsResponse, ResynchResponse, AbortResponse };
    enum class Sent : std::uint8_t { None, IBlock, RBlock, SRequest, SResponse };

    std::expected<void, T1Error> check_can_start() const;
    void begin(Operation op);
    void restart_operation();
    bool awaiting() const;

    void queue(const T1Block& block, Sent kind, unsigned multiplier = 1);
    void queue_raw(const Bytes& block, Sent kind);
    void send_current_i_block();
    void send_ifs_request();
    void begin_resync();
    void on_invalid(T1RCode code);
    void on_retransmit_request();
    void dispatch(const T1Block& block);
    void on_i_block(const T1Block& block);
    void on_r_block(const T1Block& block);
    void on_s_request(const T1Block& block);
    void finish_done();
    void fail(T1Error error);

    T1Config config_;
    T1State state_ = T1State::Idle;
    std::optional<T1Error> error_;
    bool dead_ = false;            // Rule 6.4 reached; needs reset()
    bool needs_resync_ = false;    // sequence numbers unreliable after an abort/failure
    bool ifsd_negotiated_ = false;
    bool aborting_ = false;        // abort() was called for this exchange

    std::uint8_t ns_ = 0;          // N(S) of our current/next I-block
    std::uint8_t nr_ = 0;          // N(S) we expect in the card's next I-block
    std::uint8_t ifsc_;
    std::uint8_t ifsd_;

    Operation op_ = Operation::None;
    bool ifs_first_ = false;       // an S(IFS) exchange precedes the first I-block
    std::uint8_t ifs_request_ = 0;

    Bytes command_;
    std::size_t acked_ = 0;        // command bytes the card has acknowledged
    std::size_t chunk_ = 0;        // INF size of the I-block in flight
    bool chunk_more_ = false;      // its M bit
    bool tx_done_ = false;         // the card started answering: our chain is complete
    Bytes response_;

    Waiting waiting_ = Waiting::None;
    std::optional<Bytes> pending_;
    Sent pending_kind_ = Sent::None;
    unsigned pending_multiplier_ = 1;
    unsigned wait_multiplier_ = 1;
    std::optional<T1Error> fail_after_send_;
    Bytes last_sent_;
    Sent last_kind_ = Sent::None;

    unsigned retries_ = 0;
    unsigned resyncs_ = 0;
    unsigned wtx_count_ = 0;
    std::size_t blocks_ = 0;
    std::size_t budget_ = 0;
    T1Stats stats_;
};

}  // namespace ccidkit::proto

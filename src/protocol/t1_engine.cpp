#include "protocol/t1_engine.h"

#include <algorithm>
#include <utility>

namespace ccidkit::proto {

std::string_view to_string(T1State state) {
    switch (state) {
        case T1State::Idle: return "idle";
        case T1State::Busy: return "busy";
        case T1State::Done: return "done";
        case T1State::Failed: return "failed";
    }
    return "unknown T=1 state";
}

std::string_view to_string(T1Error error) {
    switch (error) {
        case T1Error::Busy: return "a T=1 exchange is already in progress";
        case T1Error::NotBusy: return "no T=1 exchange in progress";
        case T1Error::NotAbortable: return "the T=1 exchange cannot be aborted at this point";
        case T1Error::EmptyCommand: return "empty command APDU";
        case T1Error::CommandTooLong: return "command APDU longer than 65544 bytes";
        case T1Error::InvalidIfs: return "IFSD outside 1..254";
        case T1Error::NeedsReset: return "T=1 protocol failed earlier: reset the card first";
        case T1Error::ProtocolFailure:
            return "card not responding: T=1 retries and resynchronisation exhausted";
        case T1Error::AbortedByCard: return "the card aborted the T=1 exchange (S(ABORT))";
        case T1Error::AbortedByHost: return "T=1 exchange aborted on request";
        case T1Error::WtxLimit: return "the card requested too many waiting time extensions";
        case T1Error::ResponseTooLong: return "the card's response exceeds the maximum size";
        case T1Error::BlockLimit: return "T=1 exchange exceeded its block budget";
        case T1Error::VppError: return "the card reported a VPP error";
        case T1Error::Internal: return "internal T=1 engine error";
    }
    return "unknown T=1 error";
}

T1Engine::T1Engine(const T1Config& config)
    : config_(config), ifsc_(config.ifsc), ifsd_(config.initial_ifsd) {}

void T1Engine::reset() { reset(config_); }

T1Continuity T1Engine::continuity() const {
    return T1Continuity{ns_, nr_, ifsc_, ifsd_, ifsd_negotiated_, needs_resync_, dead_};
}

std::expected<void, T1Error> T1Engine::continue_from(const T1Continuity& state) {
    if (state_ == T1State::Busy) return std::unexpected(T1Error::Busy);
    if (state.ns > 1 || state.nr > 1 || state.ifsc < 1 || state.ifsc > 254 || state.ifsd < 1 || state.ifsd > 254)
        return std::unexpected(T1Error::InvalidIfs);
    reset(config_);
    ns_ = state.ns;
    nr_ = state.nr;
    ifsc_ = state.ifsc;
    ifsd_ = state.ifsd;
    ifsd_negotiated_ = state.ifsd_negotiated;
    needs_resync_ = state.needs_resync;
    dead_ = state.dead;
    return {};
}

void T1Engine::reset(const T1Config& config) {
    config_ = config;
    state_ = T1State::Idle;
    error_.reset();
    dead_ = false;
    needs_resync_ = false;
    ifsd_negotiated_ = false;
    aborting_ = false;
    ns_ = 0;
    nr_ = 0;
    ifsc_ = config.ifsc;
    ifsd_ = config.initial_ifsd;
    op_ = Operation::None;
    ifs_first_ = false;
    ifs_request_ = 0;
    command_.clear();
    acked_ = 0;
    chunk_ = 0;
    chunk_more_ = false;
    tx_done_ = false;
    response_.clear();
    waiting_ = Waiting::None;
    pending_.reset();
    pending_kind_ = Sent::None;
    pending_multiplier_ = 1;
    wait_multiplier_ = 1;
    fail_after_send_.reset();
    last_sent_.clear();
    last_kind_ = Sent::None;
    retries_ = 0;
    resyncs_ = 0;
    wtx_count_ = 0;
    blocks_ = 0;
    budget_ = 0;
    stats_ = {};
}

T1State T1Engine::state() const { return state_; }

Bytes T1Engine::take_response() {
    if (state_ != T1State::Done) return {};
    state_ = T1State::Idle;
    return std::exchange(response_, {});
}

std::expected<void, T1Error> T1Engine::check_can_start() const {
    if (dead_) return std::unexpected(T1Error::NeedsReset);
    if (state_ == T1State::Busy) return std::unexpected(T1Error::Busy);
    return {};
}

std::expected<void, T1Error> T1Engine::start(ByteView apdu) {
    if (auto ok = check_can_start(); !ok) return ok;
    if (apdu.empty()) return std::unexpected(T1Error::EmptyCommand);
    if (apdu.size() > kT1MaxCommandSize) return std::unexpected(T1Error::CommandTooLong);
    command_.assign(apdu.begin(), apdu.end());
    ifs_first_ = config_.negotiate_ifsd_first && !ifsd_negotiated_;
    ifs_request_ = config_.ifsd;
    begin(Operation::Apdu);
    return {};
}

std::expected<void, T1Error> T1Engine::negotiate_ifsd(std::uint8_t ifsd) {
    if (auto ok = check_can_start(); !ok) return ok;
    if (ifsd == 0 || ifsd > kT1MaxInf) return std::unexpected(T1Error::InvalidIfs);
    command_.clear();
    ifs_first_ = false;
    ifs_request_ = ifsd;
    begin(Operation::Ifs);
    return {};
}

std::expected<void, T1Error> T1Engine::abort() {
    if (state_ != T1State::Busy) return std::unexpected(T1Error::NotBusy);
    if (waiting_ != Waiting::Apdu || fail_after_send_)
        return std::unexpected(T1Error::NotAbortable);
    pending_.reset();
    retries_ = 0;
    aborting_ = true;
    queue(T1Block::s_block(config_.nad, T1SKind::Abort, false), Sent::SRequest);
    waiting_ = Waiting::AbortResponse;
    return {};
}

void T1Engine::begin(Operation op) {
    op_ = op;
    state_ = T1State::Busy;
    error_.reset();
    response_.clear();
    pending_.reset();
    fail_after_send_.reset();
    aborting_ = false;
    wait_multiplier_ = 1;
    retries_ = 0;
    resyncs_ = 0;
    wtx_count_ = 0;
    blocks_ = 0;
    stats_ = {};
    // Legitimate worst case: one block per command byte (IFSC 1) plus one per response byte
    // (IFSD 1); doubled for recovery, once per attempt (each resynchronisation restarts).
    const std::size_t response = op == Operation::Apdu ? config_.max_response : 0;
    const std::size_t attempts = static_cast<std::size_t>(config_.max_resyncs) + 1;
    budget_ = config_.max_blocks != 0
                  ? config_.max_blocks
                  : 2 * (command_.size() + response + 16) * attempts + config_.max_wtx;
    if (needs_resync_) {
        begin_resync();
    } else {
        restart_operation();
    }
}

void T1Engine::restart_operation() {
    acked_ = 0;
    chunk_ = 0;
    chunk_more_ = false;
    tx_done_ = false;
    response_.clear();
    retries_ = 0;
    if (op_ == Operation::Ifs || ifs_first_) {
        send_ifs_request();
    } else {
        send_current_i_block();
    }
}

bool T1Engine::awaiting() const {
    return state_ == T1State::Busy && !pending_ && !fail_after_send_ && waiting_ != Waiting::None;
}

void T1Engine::queue(const T1Block& block, Sent kind, unsigned multiplier) {
    auto encoded = encode(block, config_.edc);
    if (!encoded) {
        fail(T1Error::Internal);
        return;
    }
    queue_raw(*encoded, kind);
    pending_multiplier_ = multiplier;
}

void T1Engine::queue_raw(const Bytes& block, Sent kind) {
    if (++blocks_ > budget_) {
        needs_resync_ = true;
        fail(T1Error::BlockLimit);
        return;
    }
    pending_ = block;
    pending_kind_ = kind;
    pending_multiplier_ = 1;
}

std::optional<Bytes> T1Engine::poll_transmit() {
    if (!pending_) return std::nullopt;
    Bytes out = std::move(*pending_);
    pending_.reset();
    last_sent_ = out;
    last_kind_ = pending_kind_;
    wait_multiplier_ = pending_multiplier_;
    pending_multiplier_ = 1;
    ++stats_.blocks_sent;
    if (fail_after_send_) {
        const T1Error e = *fail_after_send_;
        fail_after_send_.reset();
        fail(e);
    }
    return out;
}

void T1Engine::send_current_i_block() {
    // Chaining (Rule 5): blocks of at most IFSC bytes; the size is recomputed on every
    // (re)transmission because the card may have changed IFSC with S(IFS request).
    const std::size_t remaining = command_.size() - acked_;
    chunk_ = std::min<std::size_t>(remaining, ifsc_);
    chunk_more_ = remaining > chunk_;
    const ByteView data = ByteView(command_).subspan(acked_, chunk_);
    queue(T1Block::i_block(config_.nad, ns_, chunk_more_, data), Sent::IBlock);
    waiting_ = Waiting::Apdu;
}

void T1Engine::send_ifs_request() {
    queue(T1Block::s_block(config_.nad, T1SKind::Ifs, false, ifs_request_), Sent::SRequest);
    waiting_ = Waiting::IfsResponse;
}

void T1Engine::begin_resync() {
    // Rule 6.4: after three unsuccessful S(RESYNCH request)s the interface device gives up
    // (warm reset or deactivation is the caller's job).
    if (resyncs_ >= config_.max_resyncs) {
        dead_ = true;
        fail(T1Error::ProtocolFailure);
        return;
    }
    ++resyncs_;
    ++stats_.resyncs;
    retries_ = 0;
    queue(T1Block::s_block(config_.nad, T1SKind::Resynch, false), Sent::SRequest);
    waiting_ = Waiting::ResynchResponse;
}

void T1Engine::handle_block(ByteView received) {
    if (!awaiting()) return;
    ++stats_.blocks_received;
    auto block = decode(received, config_.edc);
    if (!block) {
        on_invalid(r_code_for(block.error()));
        return;
    }
    if (block->nad != swap_nad(config_.nad)) {
        on_invalid(T1RCode::OtherError);
        return;
    }
    dispatch(*block);
}

void T1Engine::handle_timeout() {
    if (!awaiting()) return;
    ++stats_.blocks_received;
    on_invalid(T1RCode::OtherError);  // Rule 7.6 / Annex A.3.1 scenario 9: code "other error"
}

void T1Engine::handle_parity_error() {
    if (!awaiting()) return;
    ++stats_.blocks_received;
    on_invalid(T1RCode::EdcError);
}

void T1Engine::on_invalid(T1RCode code) {
    ++stats_.invalid_blocks;
    if (waiting_ == Waiting::ResynchResponse) {
        begin_resync();  // each S(RESYNCH request) counts towards Rule 6.4
        return;
    }
    if (retries_ >= config_.max_retries) {
        begin_resync();  // Rule 7.4: recovery failed, resynchronise
        return;
    }
    ++retries_;
    ++stats_.recoveries;
    if (waiting_ == Waiting::IfsResponse || waiting_ == Waiting::AbortResponse ||
        last_kind_ == Sent::RBlock) {
        // Rule 7.3: an S(request) without a valid response is sent again.
        // Rule 7.2: after an R-block, an invalid block is answered with that same R-block.
        queue_raw(last_sent_, last_kind_);
        return;
    }
    // Rule 7.1 / 7.6: ask for the expected I-block, saying what went wrong.
    queue(T1Block::r_block(config_.nad, nr_, code), Sent::RBlock);
}

void T1Engine::on_retransmit_request() {
    if (retries_ >= config_.max_retries) {
        begin_resync();
        return;
    }
    ++retries_;
    ++stats_.recoveries;
    send_current_i_block();
}

void T1Engine::dispatch(const T1Block& block) {
    switch (waiting_) {
        case Waiting::ResynchResponse:
            if (!block.is_s(T1SKind::Resynch, true)) {
                on_invalid(T1RCode::OtherError);
                return;
            }
            // Rule 6.3: both sides restart numbering at 0. The card may also have returned to
            // the IFSC of its ATR; sending shorter blocks is safe either way.
            ns_ = 0;
            nr_ = 0;
            ifsc_ = config_.ifsc;
            needs_resync_ = false;
            if (aborting_) {
                fail(T1Error::AbortedByHost);  // the card has dropped the chain as well
            } else {
                restart_operation();
            }
            return;
        case Waiting::IfsResponse:
            if (!block.is_s(T1SKind::Ifs, true) || block.s_value() != ifs_request_) {
                on_invalid(T1RCode::OtherError);
                return;
            }
            ifsd_ = ifs_request_;
            ifsd_negotiated_ = true;
            ifs_first_ = false;
            retries_ = 0;
            if (op_ == Operation::Ifs) {
                finish_done();
            } else {
                send_current_i_block();
            }
            return;
        case Waiting::AbortResponse:
            if (!block.is_s(T1SKind::Abort, true)) {
                on_invalid(T1RCode::OtherError);
                return;
            }
            needs_resync_ = true;
            fail(T1Error::AbortedByHost);
            return;
        case Waiting::Apdu:
            break;
        case Waiting::None:
            return;
    }
    switch (block.type()) {
        case T1BlockType::I: on_i_block(block); return;
        case T1BlockType::R: on_r_block(block); return;
        case T1BlockType::S:
            if (!block.is_response()) {
                on_s_request(block);
            } else if (block.s_kind() == T1SKind::VppError) {
                needs_resync_ = true;
                fail(T1Error::VppError);
            } else {
                on_invalid(T1RCode::OtherError);  // a response to nothing we asked
            }
            return;
    }
}

void T1Engine::on_i_block(const T1Block& block) {
    // While we chain, the card must acknowledge with R-blocks (Rule 5); an I-block needs the
    // expected N(S) (Rule 2) and must respect our IFSD (11.4.2).
    if ((!tx_done_ && chunk_more_) || block.ns() != nr_ || block.inf.size() > ifsd_) {
        on_invalid(T1RCode::OtherError);
        return;
    }
    if (!tx_done_) {
        // The card's first I-block acknowledges our last one (Rule 2.1).
        tx_done_ = true;
        acked_ = command_.size();
        ns_ ^= 1u;
    }
    if (response_.size() + block.inf.size() > config_.max_response) {
        needs_resync_ = true;  // the card is still mid-chain
        fail(T1Error::ResponseTooLong);
        return;
    }
    response_.insert(response_.end(), block.inf.begin(), block.inf.end());
    nr_ ^= 1u;
    retries_ = 0;
    if (block.more()) {
        queue(T1Block::r_block(config_.nad, nr_, T1RCode::Ok), Sent::RBlock);  // Rule 5
    } else {
        finish_done();
    }
}

void T1Engine::on_r_block(const T1Block& block) {
    if (!tx_done_) {
        if (block.nr() == ns_) {
            // The card asks for our I-block again (Rule 7.1 on its side, Annex A.3.1 sc. 8/10).
            on_retransmit_request();
            return;
        }
        if (chunk_more_) {
            // R(N(S)+1) acknowledges a chained block: send the next one (Rule 5).
            acked_ += chunk_;
            ns_ ^= 1u;
            retries_ = 0;
            send_current_i_block();
            return;
        }
    }
    // Acknowledging a non-chained block, or any R-block while the card is answering.
    on_invalid(T1RCode::OtherError);
}

void T1Engine::on_s_request(const T1Block& block) {
    switch (block.s_kind()) {
        case T1SKind::Wtx: {
            const std::uint8_t multiplier = block.s_value();
            if (multiplier == 0) {
                on_invalid(T1RCode::OtherError);
                return;
            }
            if (++wtx_count_ > config_.max_wtx) {
                needs_resync_ = true;
                fail(T1Error::WtxLimit);
                return;
            }
            ++stats_.wtx_requests;
            // Rule 3: echo the value; BWT is multiplied for the next wait only.
            queue(T1Block::s_block(config_.nad, T1SKind::Wtx, true, multiplier), Sent::SResponse,
                  multiplier);
            return;
        }
        case T1SKind::Ifs: {
            const std::uint8_t ifsc = block.s_value();
            if (ifsc == 0 || ifsc > kT1MaxInf) {
                on_invalid(T1RCode::OtherError);  // 00 and FF are RFU (11.4.2)
                return;
            }
            ++stats_.ifs_requests;
            ifsc_ = ifsc;  // Rule 4
            queue(T1Block::s_block(config_.nad, T1SKind::Ifs, true, ifsc), Sent::SResponse);
            return;
        }
        case T1SKind::Abort:
            // Rule 9: acknowledge, then report. The block numbering after an abort is not
            // defined clearly enough to rely on, so the next exchange resynchronises first.
            queue(T1Block::s_block(config_.nad, T1SKind::Abort, true), Sent::SResponse);
            fail_after_send_ = T1Error::AbortedByCard;
            needs_resync_ = true;
            return;
        case T1SKind::Resynch:
        case T1SKind::VppError:
            // Only the interface device may request resynchronisation (Rule 6).
            on_invalid(T1RCode::OtherError);
            return;
    }
    on_invalid(T1RCode::OtherError);
}

void T1Engine::finish_done() {
    state_ = T1State::Done;
    waiting_ = Waiting::None;
    op_ = Operation::None;
}

void T1Engine::fail(T1Error error) {
    state_ = T1State::Failed;
    error_ = error;
    waiting_ = Waiting::None;
    op_ = Operation::None;
    pending_.reset();
    fail_after_send_.reset();
}

}  // namespace ccidkit::proto

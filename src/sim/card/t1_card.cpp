#include "sim/card/t1_card.h"

#include <algorithm>
#include <utility>

namespace ccidkit::sim {

using proto::T1Block;
using proto::T1BlockType;
using proto::T1RCode;
using proto::T1SKind;

T1Card::T1Card(CardApplication& app, T1CardConfig config)
    : app_(app), config_(std::move(config)), ifsc_(config_.ifsc), ifsd_(config_.initial_ifsd) {}

void T1Card::reset() {
    phase_ = Phase::Idle;
    nr_ = 0;
    ns_ = 0;
    ifsc_ = config_.ifsc;
    ifsd_ = config_.initial_ifsd;
    drop_exchange();
    ifs_requested_once_ = false;
    last_sent_.clear();
    last_was_r_ = false;
    last_i_block_.clear();
    last_i_ns_ = 0;
    received_count_ = 0;
    sent_count_ = 0;
    stats_ = {};
    app_.reset();
}

void T1Card::drop_exchange() {
    command_.clear();
    command_overflow_ = false;
    response_.clear();
    response_offset_ = 0;
    chunk_ = 0;
    response_blocks_ = 0;
    wtx_left_ = 0;
}

const T1CardFault* T1Card::fault_for(T1FaultWhere where, std::size_t index) const {
    for (const T1CardFault& f : config_.faults) {
        if (f.where != where || index < f.index) continue;
        if (f.count == kFaultForever || index - f.index < f.count) return &f;
    }
    return nullptr;
}

bool T1Card::awaiting_s_response() const {
    return phase_ == Phase::AwaitWtx || phase_ == Phase::AwaitIfs || phase_ == Phase::AwaitAbort;
}

std::optional<Bytes> T1Card::handle_block(ByteView raw) {
    ++received_count_;
    ++stats_.blocks_received;
    Bytes block(raw.begin(), raw.end());
    if (const T1CardFault* f = fault_for(T1FaultWhere::Received, received_count_)) {
        if (f->kind == T1FaultKind::Drop) return std::nullopt;
        if (f->kind == T1FaultKind::CorruptEdc && !block.empty()) block.back() ^= 0xFFu;
    }
    auto decoded = proto::decode(block, config_.edc);
    if (!decoded) return on_invalid(proto::r_code_for(decoded.error()));
    if (decoded->nad != config_.nad) return on_invalid(T1RCode::OtherError);
    switch (decoded->type()) {
        case T1BlockType::I: return on_i_block(*decoded);
        case T1BlockType::R: return on_r_block(*decoded);
        case T1BlockType::S: return on_s_block(*decoded);
    }
    return on_invalid(T1RCode::OtherError);
}

std::optional<Bytes> T1Card::emit(const T1Block& block) {
    auto encoded = proto::encode(block, config_.edc);
    if (!encoded) return std::nullopt;  // unreachable: INF is always cut to IFSD <= 254
    return emit_raw(*encoded);
}

std::optional<Bytes> T1Card::emit_raw(const Bytes& block) {
    last_sent_ = block;
    last_was_r_ = block.size() > 1 && (block[1] & 0xC0u) == 0x80u;
    ++sent_count_;
    ++stats_.blocks_sent;
    const T1CardFault* f = fault_for(T1FaultWhere::Sent, sent_count_);
    if (f == nullptr) return block;
    Bytes out = block;
    switch (f->kind) {
        case T1FaultKind::CorruptEdc:
            out.back() ^= 0xFFu;
            return out;
        case T1FaultKind::Drop:
            return std::nullopt;
        case T1FaultKind::Truncate:
            out.resize(2);
            return out;
        case T1FaultKind::FlipSequence: {
            auto b = proto::decode(block, config_.edc);
            if (!b) return out;
            if (b->type() == T1BlockType::I) b->pcb ^= 0x40u;
            if (b->type() == T1BlockType::R) b->pcb ^= 0x10u;
            auto re = proto::encode(*b, config_.edc);
            return re ? *re : out;
        }
        case T1FaultKind::UnexpectedSBlock: {
            auto re = proto::encode(
                T1Block::s_block(proto::swap_nad(config_.nad), T1SKind::Ifs, true, ifsd_),
                config_.edc);
            return re ? *re : out;
        }
    }
    return out;
}

std::optional<Bytes> T1Card::on_invalid(T1RCode code) {
    ++stats_.invalid_blocks;
    // Rule 7.3: an outstanding S(request) is repeated; Rule 7.2: after an R-block, the same
    // R-block again; otherwise Rule 7.1: R-block asking for the I-block we expect.
    if (awaiting_s_response() || last_was_r_) return emit_raw(Bytes(last_sent_));
    return emit(T1Block::r_block(proto::swap_nad(config_.nad), nr_, code));
}

std::optional<Bytes> T1Card::on_i_block(const T1Block& block) {
    if (phase_ == Phase::Responding || awaiting_s_response() || block.ns() != nr_ ||
        block.inf.size() > ifsc_) {
        return on_invalid(T1RCode::OtherError);
    }
    if (phase_ != Phase::Receiving) {
        command_.clear();
        command_overflow_ = false;
    }
    if (command_.size() + block.inf.size() > config_.max_command) {
        command_overflow_ = true;  // keep acknowledging; answer 67 00 at the end
    } else {
        command_.insert(command_.end(), block.inf.begin(), block.inf.end());
    }
    nr_ ^= 1u;
    if (block.more()) {
        phase_ = Phase::Receiving;
        return emit(T1Block::r_block(proto::swap_nad(config_.nad), nr_, T1RCode::Ok));
    }
    return execute();
}

std::optional<Bytes> T1Card::execute() {
    ++stats_.commands;
    last_command_ = command_;
    if (command_overflow_) {
        response_ = {0x67, 0x00};
    } else {
        response_ = app_.process(command_);
        if (response_.size() < 2 || response_.size() > proto::kT1MaxResponseSize)
            response_ = {0x6F, 0x00};
    }
    command_.clear();
    response_offset_ = 0;
    chunk_ = 0;
    response_blocks_ = 0;
    wtx_left_ = config_.wtx_requests;
    return next_response_step();
}

std::optional<Bytes> T1Card::next_response_step() {
    const std::uint8_t nad = proto::swap_nad(config_.nad);
    if (wtx_left_ > 0) {
        --wtx_left_;
        phase_ = Phase::AwaitWtx;
        return emit(T1Block::s_block(nad, T1SKind::Wtx, false, config_.wtx_multiplier));
    }
    if (config_.request_ifsc && (config_.request_ifsc_every_command || !ifs_requested_once_)) {
        ifs_requested_once_ = true;
        ifs_request_ = *config_.request_ifsc;
        phase_ = Phase::AwaitIfs;
        return emit(T1Block::s_block(nad, T1SKind::Ifs, false, ifs_request_));
    }
    return send_response_block();
}

std::optional<Bytes> T1Card::send_response_block() {
    const std::uint8_t nad = proto::swap_nad(config_.nad);
    ++response_blocks_;
    if (config_.abort_response_at && response_blocks_ == *config_.abort_response_at) {
        phase_ = Phase::AwaitAbort;
        return emit(T1Block::s_block(nad, T1SKind::Abort, false));
    }
    Bytes data;
    bool more = false;
    if (config_.endless_chain_inf) {
        data.assign(std::min<std::size_t>(*config_.endless_chain_inf, ifsd_), 0xA5);
        chunk_ = 0;
        more = true;
    } else {
        const std::size_t remaining = response_.size() - response_offset_;
        chunk_ = std::min<std::size_t>(remaining, ifsd_);
        more = remaining > chunk_;
        data.assign(response_.begin() + static_cast<std::ptrdiff_t>(response_offset_),
                    response_.begin() + static_cast<std::ptrdiff_t>(response_offset_ + chunk_));
    }
    auto encoded = proto::encode(T1Block::i_block(nad, ns_, more, data), config_.edc);
    if (!encoded) return std::nullopt;
    last_i_block_ = *encoded;
    last_i_ns_ = ns_;
    ns_ ^= 1u;
    phase_ = more ? Phase::Responding : Phase::Responded;
    return emit_raw(last_i_block_);
}

std::optional<Bytes> T1Card::on_r_block(const T1Block& block) {
    const bool have_i_block = phase_ == Phase::Responding || phase_ == Phase::Responded;
    if (have_i_block && block.nr() == last_i_ns_) {
        ++stats_.retransmissions;  // the host asks for our last I-block again
        return emit_raw(Bytes(last_i_block_));
    }
    if (phase_ == Phase::Responding && block.nr() == ns_) {
        response_offset_ += chunk_;  // acknowledged: next block of the chain (Rule 5)
        return send_response_block();
    }
    return on_invalid(T1RCode::OtherError);
}

std::optional<Bytes> T1Card::on_s_block(const T1Block& block) {
    const std::uint8_t nad = proto::swap_nad(config_.nad);
    if (!block.is_response()) {
        switch (block.s_kind()) {
            case T1SKind::Resynch:
                // Rule 6.3: numbering restarts, IFSC returns to the ATR value.
                ++stats_.resyncs;
                phase_ = Phase::Idle;
                nr_ = 0;
                ns_ = 0;
                ifsc_ = config_.ifsc;
                drop_exchange();
                last_i_block_.clear();
                return emit(T1Block::s_block(nad, T1SKind::Resynch, true));
            case T1SKind::Abort:
                ++stats_.aborts;  // Rule 9
                phase_ = Phase::Idle;
                drop_exchange();
                return emit(T1Block::s_block(nad, T1SKind::Abort, true));
            case T1SKind::Ifs: {
                const std::uint8_t ifsd = block.s_value();
                if (awaiting_s_response() || ifsd == 0 || ifsd > proto::kT1MaxInf)
                    return on_invalid(T1RCode::OtherError);
                ++stats_.ifs_requests;
                ifsd_ = ifsd;  // Rule 4
                return emit(T1Block::s_block(nad, T1SKind::Ifs, true, ifsd));
            }
            case T1SKind::Wtx:        // only the card asks for time
            case T1SKind::VppError:
                return on_invalid(T1RCode::OtherError);
        }
        return on_invalid(T1RCode::OtherError);
    }
    if (phase_ == Phase::AwaitWtx && block.s_kind() == T1SKind::Wtx &&
        block.s_value() == config_.wtx_multiplier) {
        return next_response_step();
    }
    if (phase_ == Phase::AwaitIfs && block.s_kind() == T1SKind::Ifs &&
        block.s_value() == ifs_request_) {
        if (ifs_request_ != 0 && ifs_request_ <= proto::kT1MaxInf) ifsc_ = ifs_request_;
        return next_response_step();
    }
    if (phase_ == Phase::AwaitAbort && block.s_kind() == T1SKind::Abort) {
        phase_ = Phase::Idle;
        drop_exchange();
        return std::nullopt;  // the host has the sending right again
    }
    return on_invalid(T1RCode::OtherError);
}

}  // namespace ccidkit::sim

#include "ccid/exchange.h"

#include <algorithm>
#include <chrono>
#include <variant>

#include <fmt/format.h>

#include "ccid/class_requests.h"
#include "ccid/logging.h"
#include "ccid/message_framing.h"
#include "ccid/message_trace.h"
#include "ccid/timeouts.h"

namespace ccidkit::ccid {

namespace {

using Clock = std::chrono::steady_clock;

void trace(std::string_view direction, ByteView message) {
    auto log = logger();
    if (log->should_log(spdlog::level::trace)) log->trace("{} {}", direction, trace_message(message));
}

// Stalls of the bulk-IN endpoint recovered with clear_halt() within one command.
constexpr unsigned kMaxStallRecoveries = 2;
// Reads that drain a command another user left running before a CMD_SLOT_BUSY retry.
constexpr Millis kBusyDrainRead{20};

Millis remaining_until(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    return std::max(left, Millis{0});
}

bool is_slot_busy(const Response& reply) {
    const auto error = status_of(reply).error();
    return error && error->kind == SlotErrorKind::CmdSlotBusy;
}

}  // namespace

MessageType reply_type_for(MessageType command) {
    switch (command) {
        case MessageType::PcToRdrIccPowerOn:
        case MessageType::PcToRdrXfrBlock:
        case MessageType::PcToRdrSecure: return MessageType::RdrToPcDataBlock;
        case MessageType::PcToRdrGetParameters:
        case MessageType::PcToRdrResetParameters:
        case MessageType::PcToRdrSetParameters: return MessageType::RdrToPcParameters;
        case MessageType::PcToRdrEscape: return MessageType::RdrToPcEscape;
        case MessageType::PcToRdrSetDataRateAndClockFrequency: return MessageType::RdrToPcDataRateAndClockFrequency;
        default: return MessageType::RdrToPcSlotStatus;  // PowerOff, GetSlotStatus, IccClock, T0Apdu, Mechanical, Abort
    }
}

Exchange::Exchange(Transport& transport, std::size_t max_message_length, ExchangeLimits limits)
    : transport_(transport), max_message_length_(max_message_length), limits_(limits) {
    // Whole packets (a partial last packet makes libusb report an overflow, CCID#161), plus one
    // more so that a reply longer than dwMaxCCIDMessageLength is seen as such, not truncated.
    const std::size_t packet = std::max<std::size_t>(transport_.bulk_in_max_packet(), 1);
    const std::size_t packets = (max_message_length_ + packet - 1) / packet + 1;
    buffer_.resize(packets * packet);
}

std::expected<void, ReaderError> Exchange::send(ByteView message, Millis timeout, std::string_view what) {
    trace("->", message);
    if (limits_.read_ahead) transport_.prepare_bulk_in(buffer_.size());
    auto sent = transport_.bulk_out(message, timeout);
    if (sent) return {};
    if (sent.error() == TransportError::Stall) (void)transport_.clear_halt();
    return std::unexpected(from_transport(sent.error(), fmt::format("sending {}", what)));
}

std::expected<Response, ReaderError> Exchange::transact(Command command, Millis timeout) {
    const std::uint8_t seq = seq_++;
    std::visit([seq](auto& m) { m.bSeq = seq; }, command);
    const MessageType type = message_type(command);
    const std::uint8_t slot = slot_of(command);
    ++stats_.commands;
    const Bytes message = encode(command);
    if (auto sent = send(message, timeout, message_type_name(type)); !sent) {
        if (sent.error().code == ReaderErrc::Timeout) after_timeout(slot);
        return std::unexpected(sent.error());
    }
    auto reply = receive(slot, seq, type, timeout);
    if (reply && is_slot_busy(*reply)) {
        // CMD_SLOT_BUSY (6.2.6): a command we no longer wait for (e.g. from before open, or
        // one whose abort failed) still runs. The reader did not execute ours: wait for the
        // old one to end, then send ours once more with a fresh bSeq.
        logger()->debug("ccid: {} got CMD_SLOT_BUSY; draining and retrying once", message_type_name(type));
        (void)drain_bulk_in(kBusyDrainRead, limits_.max_stale_replies);
        const std::uint8_t retry_seq = seq_++;
        std::visit([retry_seq](auto& m) { m.bSeq = retry_seq; }, command);
        ++stats_.commands;
        ++stats_.busy_retries;
        if (auto sent = send(encode(command), timeout, message_type_name(type)); !sent) {
            if (sent.error().code == ReaderErrc::Timeout) after_timeout(slot);
            return std::unexpected(sent.error());
        }
        return receive(slot, retry_seq, type, timeout);
    }
    return reply;
}

std::expected<Response, ReaderError> Exchange::receive(std::uint8_t slot, std::uint8_t seq, MessageType command,
                                                       Millis timeout) {
    const auto start = Clock::now();
    const auto hard_deadline = start + limits_.max_total_wait;
    auto deadline = std::min(start + timeout, hard_deadline);
    std::size_t stale = 0;
    unsigned extensions = 0;
    const std::string_view name = message_type_name(command);

    unsigned stalls = 0;
    for (;;) {
        auto got = transport_.bulk_in(buffer_, remaining_until(deadline));
        if (!got) {
            const TransportError te = got.error();
            // A halted bulk-IN endpoint: clear the halt and read again; the reply is still due.
            if (te == TransportError::Stall && ++stalls <= kMaxStallRecoveries && transport_.clear_halt()) {
                logger()->debug("ccid: bulk-IN stalled while waiting for {}; halt cleared", name);
                continue;
            }
            if (te == TransportError::Stall) (void)transport_.clear_halt();
            ReaderError err = from_transport(te, fmt::format("waiting for the reply to {}", name));
            if (te == TransportError::Timeout) {
                if (extensions > 0)
                    err.detail += fmt::format(" (after {} time extension(s))", extensions);
                after_timeout(slot);
            } else if (te == TransportError::Overflow) {
                ++stats_.malformed_replies;
                (void)drain_bulk_in(Millis{10}, limits_.max_stale_replies);
            }
            return std::unexpected(err);
        }
        const ByteView message{buffer_.data(), std::min(*got, buffer_.size())};
        trace("<-", message);

        auto header = decode_header(message);
        if (!header || header->bSeq != seq || header->bSlot != slot) {
            ++stats_.stale_replies;
            if (++stale > limits_.max_stale_replies)
                return std::unexpected(make_error(
                    ReaderErrc::TooManyStaleReplies,
                    fmt::format("{} replies to other commands while waiting for {}", stale, name)));
            logger()->debug("ccid: dropped a stale reply ({} bytes) while waiting for {} seq={}", message.size(), name,
                            seq);
            continue;
        }

        auto decoded = decode_response(message, max_message_length_);
        if (!decoded) {
            ++stats_.malformed_replies;
            // The reader's framing is broken: whatever follows is unreliable too.
            (void)drain_bulk_in(Millis{10}, limits_.max_stale_replies);
            return std::unexpected(make_error(
                ReaderErrc::MalformedReply,
                fmt::format("reply to {}: {} ({} bytes received, dwMaxCCIDMessageLength {})", name,
                            to_string(decoded.error()), message.size(), max_message_length_)));
        }

        const Status status = status_of(*decoded);
        if (auto multiplier = status.time_extension_multiplier()) {
            ++stats_.time_extensions;
            ++extensions;
            const auto now = Clock::now();
            if (extensions > limits_.max_time_extensions || now >= hard_deadline) {
                after_timeout(slot);
                return std::unexpected(make_error(
                    ReaderErrc::TimeExtensionLimit,
                    fmt::format("{} time extension(s) over {} ms for {} (limits {} / {} ms)", extensions,
                                std::chrono::duration_cast<Millis>(now - start).count(), name,
                                limits_.max_time_extensions, limits_.max_total_wait.count())));
            }
            // bError 0 would mean "no time at all": treat it as one more waiting time.
            deadline = std::min(now + stretched(timeout, std::max<unsigned>(*multiplier, 1)), hard_deadline);
            logger()->debug("ccid: {} time extension x{} ({} so far)", name, *multiplier, extensions);
            continue;
        }

        const MessageType got_type = message_type(*decoded);
        if (got_type != reply_type_for(command) && status.command() != CommandStatus::Failed) {
            return std::unexpected(make_error(ReaderErrc::UnexpectedReply,
                                              fmt::format("{} answered with {}", name, message_type_name(got_type))));
        }
        return std::move(*decoded);
    }
}

void Exchange::after_timeout(std::uint8_t slot) {
    if (!limits_.abort_on_timeout) return;
    auto aborted = abort(slot, limits_.abort_timeout);
    if (!aborted) logger()->warn("ccid: abort of slot {} failed: {}", slot, describe(aborted.error()));
}

std::expected<void, ReaderError> Exchange::abort(std::uint8_t slot, Millis timeout) {
    ++stats_.aborts;
    const std::uint8_t seq = seq_++;
    logger()->debug("ccid: ABORT slot={} seq={}", slot, seq);
    // 5.3.1: the class request first, then the bulk message with the same bSlot/bSeq. A reader
    // that stalls the request may still honour the message, so go on either way.
    if (auto r = transport_.control_out(abort_request(transport_.interface_number(), slot, seq), {}, timeout); !r) {
        if (r.error() == TransportError::NoDevice || r.error() == TransportError::Cancelled)
            return std::unexpected(from_transport(r.error(), "ABORT class request"));
        logger()->debug("ccid: ABORT class request failed: {}", to_string(r.error()));
    }
    const Bytes message = encode(pc_to_rdr::Abort{slot, seq});
    if (auto sent = send(message, timeout, "PC_to_RDR_Abort"); !sent) return std::unexpected(sent.error());
    const bool was = limits_.abort_on_timeout;
    limits_.abort_on_timeout = false;  // no abort of the abort
    auto reply = receive(slot, seq, MessageType::PcToRdrAbort, timeout);
    limits_.abort_on_timeout = was;
    if (!reply) return std::unexpected(reply.error());
    return {};
}

std::size_t Exchange::drain_bulk_in(Millis per_read, std::size_t max_messages) {
    std::size_t dropped = 0;
    while (dropped < max_messages) {
        auto got = transport_.bulk_in(buffer_, per_read);
        if (!got) break;
        trace("<- (drained)", ByteView{buffer_.data(), std::min(*got, buffer_.size())});
        ++dropped;
    }
    return dropped;
}

}  // namespace ccidkit::ccid

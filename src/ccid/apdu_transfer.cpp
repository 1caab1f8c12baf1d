#include "ccid/apdu_transfer.h"

#include <algorithm>

#include <fmt/format.h>

#include "ccid/message_types.h"
#include "protocol/apdu.h"

namespace ccidkit::ccid {

namespace {

// An engine loop that outlives this many XfrBlocks has a bug: the engines bound themselves
// (T1Config::max_blocks, T0ExchangeOptions rounds) far below it.
constexpr std::size_t kMaxXfrPerApdu = 200'000;
// Empty response parts tolerated in one chained response (each costs a round trip).
constexpr std::size_t kMaxEmptyChainParts = 16;

// CLA INS P1 P2 P3 (ISO/IEC 7816-3 12.2.1).
constexpr std::size_t kT0HeaderSize = 5;

// Bytes of abData one message to the reader can carry.
std::size_t payload_room(const TransferSetup& setup) {
    return setup.max_message_length > kHeaderSize ? setup.max_message_length - kHeaderSize : 0;
}

bool is_slot_error(const ReaderError& e, SlotErrorKind kind) { return e.slot_error && e.slot_error->kind == kind; }

ReaderError engine_failure(std::string_view protocol, std::string_view why) {
    return make_error(ReaderErrc::ProtocolError, fmt::format("{}: {}", protocol, why));
}

// Ends an exchange the engine still considers running (the reader failed, not the card): the
// engine goes back to Idle with its block sizes kept. Its sequence numbers restart at 0; if the
// card's differ, the next exchange resynchronises (ISO/IEC 7816-3 11.6.3, Rule 6).
void abandon(proto::T1Engine& engine) {
    if (engine.state() != proto::T1State::Busy) return;
    proto::T1Config config = engine.config();
    config.ifsc = engine.ifsc();
    config.initial_ifsd = engine.ifsd();
    engine.reset(config);
}

// `refuse_i_blocks`: the command went out inside a block the reader built (PC_to_RDR_Secure);
// resending it from here would send the PIN-less template, so a retransmission ends the exchange.
std::expected<void, ReaderError> run_t1(proto::T1Engine& engine, const TransferSetup& setup, const XfrFunction& xfr,
                                        bool refuse_i_blocks = false) {
    // The largest block the card may send: prologue, 254 INF bytes, CRC.
    constexpr std::size_t kMaxBlock = proto::kT1PrologueSize + proto::kT1MaxInf + 2;
    for (std::size_t round = 0; engine.state() == proto::T1State::Busy; ++round) {
        if (round >= kMaxXfrPerApdu) {
            abandon(engine);
            return std::unexpected(engine_failure("T=1", "block exchange did not end"));
        }
        auto block = engine.poll_transmit();
        if (!block) {
            if (engine.state() != proto::T1State::Busy) break;
            abandon(engine);
            return std::unexpected(engine_failure("T=1", "engine has nothing to send while busy"));
        }
        if (engine.state() != proto::T1State::Busy) break;  // e.g. the last word was S(ABORT response)
        if (refuse_i_blocks && block->size() >= 2 && ((*block)[1] & 0x80) == 0) {  // PCB bit 8 clear: I-block
            abandon(engine);
            return std::unexpected(engine_failure("T=1", "the card asked for the reader-built block again"));
        }
        const unsigned multiplier = std::max(1u, engine.wtx_multiplier());
        XfrRequest request;
        // 6.1.4: bBWI extends the reader's BWT for this block; ISO/IEC 7816-3 11.4.3 S(WTX).
        request.bBWI = multiplier > 1 ? static_cast<std::uint8_t>(std::min(multiplier, 255u)) : 0;
        request.data = *block;
        request.timeout = tpdu_timeout(setup.timing, block->size(), kMaxBlock, multiplier, setup.extra_timeout);
        auto reply = xfr(request);
        if (!reply) {
            const ReaderError& e = reply.error();
            if (e.code == ReaderErrc::CardMute) {
                engine.handle_timeout();  // BWT expired at the reader: Rule 7.4 recovery
            } else if (is_slot_error(e, SlotErrorKind::XfrParityError) ||
                       is_slot_error(e, SlotErrorKind::XfrOverrun)) {
                engine.handle_parity_error();
            } else {
                abandon(engine);  // otherwise every later APDU would find the engine busy
                return std::unexpected(e);
            }
            continue;
        }
        engine.handle_block(reply->data);
    }
    if (engine.state() == proto::T1State::Failed) {
        const auto err = engine.error();
        return std::unexpected(engine_failure("T=1", err ? proto::to_string(*err) : "failed"));
    }
    return {};
}

// Collects a response the reader chains with bChainParameter 01h/03h/02h (6.2.1).
std::expected<Bytes, ReaderError> collect_chained_response(XfrReply first, Millis timeout, const XfrFunction& xfr) {
    Bytes response = std::move(first.data);
    std::uint8_t chain_code = first.bChainParameter;
    if (chain_code == chain::kBeginsAndEnds) return response;
    if (chain_code != chain::kBegins)
        return std::unexpected(make_error(ReaderErrc::MalformedReply,
                                          fmt::format("response starts with bChainParameter {:02X}h", chain_code)));
    std::size_t empty_parts = 0;
    for (;;) {
        XfrRequest more;
        more.wLevelParameter = chain::kEmptyContinue;
        more.timeout = timeout;
        auto part = xfr(more);
        if (!part) return std::unexpected(part.error());
        if (part->data.empty() && ++empty_parts > kMaxEmptyChainParts)
            return std::unexpected(make_error(ReaderErrc::MalformedReply, "chained response parts keep coming empty"));
        if (response.size() + part->data.size() > kMaxResponseApdu)
            return std::unexpected(make_error(ReaderErrc::ResponseTooLong,
                                              fmt::format("chained response exceeds {} bytes", kMaxResponseApdu)));
        response.insert(response.end(), part->data.begin(), part->data.end());
        if (part->bChainParameter == chain::kEnds) return response;
        if (part->bChainParameter != chain::kContinues)
            return std::unexpected(make_error(
                ReaderErrc::MalformedReply,
                fmt::format("response part with bChainParameter {:02X}h inside a chain", part->bChainParameter)));
    }
}

}  // namespace

std::size_t expected_response_size(ByteView apdu, std::size_t fallback) {
    auto parsed = proto::parse_command_apdu(apdu);
    if (!parsed) return fallback;
    return std::size_t{parsed->ne} + 2;
}

proto::T0ExchangeOptions fit_t0_options(proto::T0ExchangeOptions base, const TransferSetup& setup) {
    const std::size_t room = payload_room(setup);
    if (room > kT0HeaderSize) base.max_envelope_segment = std::min(base.max_envelope_segment, room - kT0HeaderSize);
    if (room > 2) base.max_get_response = std::min(base.max_get_response, room - 2);  // data + SW1 SW2
    const std::size_t le = std::clamp<std::size_t>(base.max_get_response, 1, 256);
    // As many rounds per byte as the default budget allows for 256-byte chunks.
    base.max_get_response_rounds = std::max(base.max_get_response_rounds, (kMaxResponseApdu + le - 1) / le + 44);
    return base;
}

std::expected<Bytes, ReaderError> transfer_t0_tpdu(ByteView apdu, proto::T0Exchange& engine,
                                                   const TransferSetup& setup, const XfrFunction& xfr) {
    // A short command travels as one case-3 TPDU (ISO/IEC 7816-3 12.2.4), which cannot be cut;
    // longer ones go in ENVELOPE segments sized by fit_t0_options().
    if (auto parsed = proto::parse_command_apdu(apdu);
        parsed && parsed->nc() > 0 && parsed->nc() <= 255 && kT0HeaderSize + parsed->nc() > payload_room(setup))
        return std::unexpected(make_error(
            ReaderErrc::ApduTooLong,
            fmt::format("T=0: {}-byte command TPDU, the reader takes {} bytes per message", kT0HeaderSize + parsed->nc(),
                        payload_room(setup))));
    if (auto started = engine.start(apdu); !started) {
        const auto e = started.error();
        const ReaderErrc code = e == proto::T0ExchangeError::Busy ? ReaderErrc::ProtocolError : ReaderErrc::InvalidApdu;
        std::string detail(proto::to_string(e));
        if (auto ae = engine.apdu_error()) detail += fmt::format(" ({})", proto::to_string(*ae));
        engine.abort();
        return std::unexpected(make_error(code, fmt::format("T=0: {}", detail)));
    }
    for (std::size_t round = 0; engine.state() != proto::T0Exchange::State::Done; ++round) {
        if (engine.state() == proto::T0Exchange::State::Failed) {
            const auto err = engine.error();
            return std::unexpected(engine_failure("T=0", err ? proto::to_string(*err) : "failed"));
        }
        auto tpdu = engine.poll_transmit();
        if (!tpdu || round >= kMaxXfrPerApdu) {
            engine.abort();
            return std::unexpected(engine_failure("T=0", "TPDU exchange did not end"));
        }
        // 5-byte TPDUs are outgoing: the card sends P3 bytes (00 meaning 256).
        const std::size_t rx = tpdu->size() == 5 ? ((*tpdu)[4] == 0 ? 256 : (*tpdu)[4]) : 0;
        XfrRequest request;
        request.data = *tpdu;
        request.timeout = tpdu_timeout(setup.timing, tpdu->size(), rx, 1, setup.extra_timeout);
        auto reply = xfr(request);
        if (!reply) {
            engine.abort();
            return std::unexpected(reply.error());
        }
        engine.handle_response(reply->data);
    }
    return engine.take_response();
}

std::expected<Bytes, ReaderError> transfer_t1_tpdu(ByteView apdu, proto::T1Engine& engine,
                                                   const TransferSetup& setup, const XfrFunction& xfr) {
    if (auto started = engine.start(apdu); !started) {
        const auto e = started.error();
        const ReaderErrc code = (e == proto::T1Error::EmptyCommand || e == proto::T1Error::CommandTooLong)
                                    ? ReaderErrc::InvalidApdu
                                    : ReaderErrc::ProtocolError;
        return std::unexpected(make_error(code, fmt::format("T=1: {}", proto::to_string(e))));
    }
    if (auto ran = run_t1(engine, setup, xfr); !ran) return std::unexpected(ran.error());
    return engine.take_response();
}

std::expected<void, ReaderError> negotiate_t1_ifsd(std::uint8_t ifsd, proto::T1Engine& engine,
                                                   const TransferSetup& setup, const XfrFunction& xfr) {
    if (auto started = engine.negotiate_ifsd(ifsd); !started)
        return std::unexpected(engine_failure("T=1 S(IFS)", proto::to_string(started.error())));
    if (auto ran = run_t1(engine, setup, xfr); !ran) return std::unexpected(ran.error());
    (void)engine.take_response();
    return {};
}

std::expected<Bytes, ReaderError> continue_t1_after_reader_block(ByteView first_reply, proto::T1Engine& engine,
                                                                 const TransferSetup& setup, const XfrFunction& xfr) {
    engine.handle_block(first_reply);
    if (auto ran = run_t1(engine, setup, xfr, true); !ran) return std::unexpected(ran.error());
    return engine.take_response();
}

std::expected<Bytes, ReaderError> transfer_short_apdu(ByteView apdu, const TransferSetup& setup,
                                                      const XfrFunction& xfr) {
    if (apdu.size() < 4) return std::unexpected(make_error(ReaderErrc::InvalidApdu, "fewer than 4 bytes"));
    const std::size_t room = setup.max_message_length > kHeaderSize ? setup.max_message_length - kHeaderSize : 0;
    if (apdu.size() > kMaxShortApdu || apdu.size() > room)
        return std::unexpected(make_error(
            ReaderErrc::ApduTooLong,
            fmt::format("{}-byte APDU on a short-APDU reader (at most {} bytes; use command chaining or "
                        "an extended-APDU reader)",
                        apdu.size(), std::min(kMaxShortApdu, room))));
    // CCID 5.1: short APDU level means short length fields; the reader refuses extended ones.
    if (auto parsed = proto::parse_command_apdu(apdu); parsed && proto::is_extended(parsed->apdu_case))
        return std::unexpected(make_error(
            ReaderErrc::ApduTooLong,
            fmt::format("extended-length APDU ({}) on a short-APDU reader; use command chaining or an "
                        "extended-APDU reader",
                        proto::to_string(parsed->apdu_case))));
    XfrRequest request;
    request.data = apdu;
    request.timeout = apdu_timeout(setup.timing, apdu.size(), expected_response_size(apdu, 258), setup.extra_timeout);
    auto reply = xfr(request);
    if (!reply) return std::unexpected(reply.error());
    // Some short-APDU readers chain long responses like extended-APDU readers: follow them.
    return collect_chained_response(std::move(*reply), request.timeout, xfr);
}

std::expected<Bytes, ReaderError> transfer_extended_apdu(ByteView apdu, const TransferSetup& setup,
                                                         const XfrFunction& xfr) {
    if (apdu.size() < 4) return std::unexpected(make_error(ReaderErrc::InvalidApdu, "fewer than 4 bytes"));
    if (apdu.size() > proto::kMaxCommandApduSize)
        return std::unexpected(make_error(ReaderErrc::ApduTooLong,
                                          fmt::format("{}-byte APDU (at most {})", apdu.size(),
                                                      proto::kMaxCommandApduSize)));
    const std::size_t part_size =
        setup.max_message_length > kHeaderSize ? setup.max_message_length - kHeaderSize : std::size_t{1};
    const Millis timeout = apdu_timeout(setup.timing, apdu.size(), expected_response_size(apdu, kMaxResponseApdu),
                                        setup.extra_timeout);
    std::size_t offset = 0;
    for (;;) {
        const std::size_t n = std::min(part_size, apdu.size() - offset);
        const bool first = offset == 0;
        const bool last = offset + n == apdu.size();
        XfrRequest request;
        request.data = apdu.subspan(offset, n);
        request.timeout = timeout;
        request.wLevelParameter = first ? (last ? chain::kBeginsAndEnds : chain::kBegins)
                                        : (last ? chain::kEnds : chain::kContinues);
        auto reply = xfr(request);
        if (!reply) return std::unexpected(reply.error());
        offset += n;
        if (last) return collect_chained_response(std::move(*reply), timeout, xfr);
        // 6.2.1: the reader asks for the next part with an empty DataBlock, bChainParameter 10h.
        if (!reply->data.empty() || reply->bChainParameter != chain::kEmptyContinue)
            return std::unexpected(make_error(
                ReaderErrc::MalformedReply,
                fmt::format("reader answered part ending at byte {} with {} bytes, bChainParameter {:02X}h instead "
                            "of asking for the next part",
                            offset, reply->data.size(), reply->bChainParameter)));
    }
}

}  // namespace ccidkit::ccid

#include "ccid/slot.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "ccid/apdu_transfer.h"
#include "ccid/logging.h"
#include "ccid/reader.h"
#include "ccid/session_snapshot.h"
#include "ccid/slot_setup.h"
#include "protocol/pps.h"
#include "protocol/t1_block.h"
#include "protocol/t0_exchange.h"

namespace ccidkit::ccid {

namespace {

// Errors after which nothing more can be tried on this card: no fallback, no retry.
bool is_fatal(const ReaderError& e) {
    switch (e.code) {
        case ReaderErrc::CardRemoved:
        case ReaderErrc::ReaderGone:
        case ReaderErrc::Cancelled:
        case ReaderErrc::Timeout:
        case ReaderErrc::HardwareError: return true;
        default: return false;
    }
}

// Errors that end the card session: the card is gone or no longer active.
bool ends_session(const ReaderError& e) {
    switch (e.code) {
        case ReaderErrc::CardRemoved:
        case ReaderErrc::ReaderGone:
        case ReaderErrc::CardNotPowered:
        case ReaderErrc::CardChanged:
        case ReaderErrc::HardwareError: return true;
        default: return false;
    }
}

bool accepts(proto::ProtocolMask wanted, std::uint8_t protocol) {
    return wanted == 0 || (wanted & proto::protocol_bit(protocol)) != 0;
}

bool reader_supports(const ReaderCaps& caps, std::uint8_t protocol) {
    return (protocol == 0 && caps.t0) || (protocol == 1 && caps.t1);
}

ReaderError choice_error(proto::ChoiceError e) {
    const ReaderErrc code = e == proto::ChoiceError::NoCommonProtocol ? ReaderErrc::NoCommonProtocol
                                                                      : ReaderErrc::UnsupportedCard;
    return make_error(code, std::string(proto::to_string(e)));
}

// The card's parameters right after the ATR (ISO/IEC 7816-3 6.3.1): default protocol at Fd/Dd
// in negotiable mode, TA1's factors in specific mode.
std::pair<std::uint8_t, std::uint8_t> initial_factors(const proto::Atr& atr) {
    if (atr.specific_mode && atr.ta1 && atr.fi && atr.di) return {atr.fi_code, atr.di_code};
    return {1, 1};
}

std::uint8_t fidi_of(const ProtocolParameters& p) {
    return std::visit([](const auto& v) { return v.bmFindexDindex; }, p);
}

// Reader parameters under which characters reach the card intact: same protocol, same Fi/Di
// (ISO/IEC 7816-3 7.1: the etu), and for T=1 the same EDC (11.4.4), which the card checks.
bool same_link(const ProtocolParameters& reader, const ProtocolParameters& card) {
    if (protocol_num(reader) != protocol_num(card) || fidi_of(reader) != fidi_of(card)) return false;
    const auto* r1 = std::get_if<T1Parameters>(&reader);
    const auto* c1 = std::get_if<T1Parameters>(&card);
    return !r1 || !c1 || r1->uses_crc() == c1->uses_crc();
}

}  // namespace

std::string_view to_string(CardPresence p) {
    switch (p) {
        case CardPresence::Absent: return "absent";
        case CardPresence::PresentInactive: return "present, inactive";
        case CardPresence::PresentActive: return "present, active";
    }
    return "unknown";
}

Slot::Slot(Reader& reader, std::uint8_t index) : reader_(reader), index_(index) {}
Slot::~Slot() = default;

void Slot::invalidate(ReaderErrc reason) {
    invalidation_reason_.store(static_cast<int>(reason));
    epoch_.fetch_add(1);
}

std::optional<CardSession> Slot::session() const {
    std::lock_guard lock(mutex_);
    return session_;
}

bool Slot::active() const {
    std::lock_guard lock(mutex_);
    return session_.has_value() && epoch_.load() == session_epoch_;
}

Bytes Slot::export_session() const {
    std::lock_guard lock(mutex_);
    SessionSnapshot snapshot;
    if (session_ && epoch_.load() == session_epoch_) {
        snapshot.session = session_;
        if (t1_) snapshot.t1 = T1Snapshot{t1_->config(), t1_->continuity()};
    }
    return encode_session_snapshot(snapshot);
}

std::expected<void, ReaderError> Slot::adopt_session(ByteView encoded) {
    auto snapshot = decode_session_snapshot(encoded);
    if (!snapshot) return std::unexpected(make_error(ReaderErrc::InvalidArgument, snapshot.error()));
    std::lock_guard lock(mutex_);
    if (!snapshot->session) {
        session_.reset();
        t1_.reset();
        return {};
    }
    CardSession s = std::move(*snapshot->session);
    s.timing = timing_from(s.parameters, reader_.caps().default_clock_khz, s.ifsd);
    t1_.reset();
    if (snapshot->t1) {
        t1_.emplace(snapshot->t1->config);
        if (auto ok = t1_->continue_from(snapshot->t1->state); !ok) {
            t1_.reset();
            return std::unexpected(make_error(ReaderErrc::InvalidArgument, "unusable T=1 state"));
        }
    }
    session_ = std::move(s);
    session_epoch_ = epoch_.load();
    return {};
}

void Slot::end_session_on(const ReaderError& e) {
    if (ends_session(e)) {
        session_.reset();
        t1_.reset();
    }
}

std::expected<void, ReaderError> Slot::check_session() const {
    if (reader_.gone()) return std::unexpected(make_error(ReaderErrc::ReaderGone, "the device was disconnected"));
    if (!session_) return std::unexpected(make_error(ReaderErrc::CardNotPowered, "power the card on first"));
    if (epoch_.load() != session_epoch_) {
        const auto reason = static_cast<ReaderErrc>(invalidation_reason_.load());
        return std::unexpected(make_error(reason, "the card left the slot (or was deactivated) after power-on"));
    }
    return {};
}

TransferSetup Slot::transfer_setup(const CardTiming& timing) const {
    TransferSetup setup;
    setup.timing = timing;
    // What the host sends keeps to the reader's own limit (CCID 5.1), not the lenient one.
    setup.max_message_length = reader_.caps().max_send_length;
    setup.extra_timeout = reader_.options().quirks.extra_timeout;
    return setup;
}

std::expected<XfrReply, ReaderError> Slot::xfr(const XfrRequest& request) {
    pc_to_rdr::XfrBlock m;
    m.bSlot = index_;
    m.bBWI = request.bBWI;
    m.wLevelParameter = request.wLevelParameter;
    m.abData.assign(request.data.begin(), request.data.end());
    auto reply = reader_.command_ok(std::move(m), request.timeout);
    if (!reply) return std::unexpected(reply.error());
    auto* block = std::get_if<rdr_to_pc::DataBlock>(&*reply);
    if (!block) return std::unexpected(make_error(ReaderErrc::UnexpectedReply, "XfrBlock not answered by a DataBlock"));
    return XfrReply{block->bChainParameter, std::move(block->abData)};
}

std::expected<Bytes, ReaderError> Slot::icc_power_on(PowerSelect voltage, unsigned& attempts) {
    ++attempts;
    const auto& options = reader_.options();
    const Millis timeout = options.power_on_timeout.value_or(
        power_on_timeout(reader_.caps().default_clock_khz, options.quirks.extra_timeout));
    logger()->debug("ccid: slot {} IccPowerOn {}", index_, to_string(voltage));
    auto reply = reader_.command_ok(pc_to_rdr::IccPowerOn{index_, 0, voltage}, timeout);
    if (!reply) return std::unexpected(reply.error());
    auto* block = std::get_if<rdr_to_pc::DataBlock>(&*reply);
    if (!block) return std::unexpected(make_error(ReaderErrc::UnexpectedReply, "IccPowerOn not answered by a DataBlock"));
    return std::move(block->abData);
}

std::expected<void, ReaderError> Slot::icc_power_off() {
    auto reply = reader_.command(pc_to_rdr::IccPowerOff{index_, 0}, reader_.options().control_timeout);
    if (!reply) return std::unexpected(reply.error());
    const Status status = status_of(*reply);
    // Powering off an absent card "fails" on some readers: the card is off either way.
    if (status.command() == CommandStatus::Failed && status.icc() != IccStatus::Absent)
        return std::unexpected(from_failed_status(status, MessageType::PcToRdrIccPowerOff));
    return {};
}

std::expected<CardSession, ReaderError> Slot::power_on(const PowerOnOptions& options) {
    std::lock_guard lock(mutex_);
    return power_up(options, false);
}

std::expected<CardSession, ReaderError> Slot::warm_reset(const PowerOnOptions& options) {
    std::lock_guard lock(mutex_);
    return power_up(options, true);
}

std::expected<CardSession, ReaderError> Slot::power_up(const PowerOnOptions& options, bool warm) {
    if (reader_.gone()) return std::unexpected(make_error(ReaderErrc::ReaderGone, "the device was disconnected"));
    const auto& caps = reader_.caps();
    const auto& quirks = reader_.options().quirks;
    const bool warm_possible = warm && session_.has_value() && epoch_.load() == session_epoch_;
    const PowerSelect previous_voltage = session_ ? session_->voltage : PowerSelect::Automatic;
    session_.reset();
    t1_.reset();
    session_epoch_ = epoch_.load();

    if (!warm_possible && quirks.power_off_before_on) {
        if (auto off = icc_power_off(); !off) {
            if (is_fatal(off.error())) return std::unexpected(off.error());
            logger()->debug("ccid: slot {} IccPowerOff before power-on failed: {}", index_, describe(off.error()));
        }
    }

    const std::vector<PowerSelect> sequence = warm_possible
                                                  ? std::vector<PowerSelect>{previous_voltage}
                                                  : voltage_sequence(caps.has(Feature::AutoVoltage), caps.voltages);
    CardSession s;
    bool powered = false;
    for (std::size_t i = 0; i < sequence.size() && !powered; ++i) {
        auto atr = icc_power_on(sequence[i], s.power_on_attempts);
        if (!atr) {
            const bool more = i + 1 < sequence.size();
            if (more && retry_at_next_voltage(atr.error())) {
                logger()->debug("ccid: slot {} no ATR at {} ({}); trying {}", index_, to_string(sequence[i]),
                                describe(atr.error()), to_string(sequence[i + 1]));
                (void)icc_power_off();
                continue;
            }
            return std::unexpected(atr.error());
        }
        const proto::AtrParse parse = proto::parse_atr(*atr);
        if (auto usable = check_atr_usable(parse); !usable) {
            (void)icc_power_off();
            return std::unexpected(usable.error());
        }
        if (!parse.ok())
            logger()->warn("ccid: slot {} ATR {} used despite: {}", index_, to_hex(*atr), proto::to_string(parse.error));
        const auto remaining = std::span<const PowerSelect>(sequence).subspan(i + 1);
        if (auto next = class_indicator_fallback(parse.atr, sequence[i], remaining)) {
            logger()->debug("ccid: slot {} card class indicator {:02X}h excludes {}; trying {}", index_,
                            parse.atr.class_indicator, to_string(sequence[i]), to_string(*next));
            (void)icc_power_off();
            i = static_cast<std::size_t>(std::find(sequence.begin(), sequence.end(), *next) - sequence.begin()) - 1;
            continue;
        }
        s.atr = std::move(*atr);
        s.parsed_atr = parse.atr;
        s.voltage = sequence[i];
        powered = true;
    }
    if (!powered) return std::unexpected(make_error(ReaderErrc::VoltageNotSupported, "no voltage left to try"));

    if (options.negotiate) {
        if (auto ok = negotiate(s, options); !ok) {
            if (!is_fatal(ok.error())) (void)icc_power_off();
            return std::unexpected(ok.error());
        }
    } else {
        const auto [fi, di] = initial_factors(s.parsed_atr);
        s.protocol = s.parsed_atr.default_protocol == 1 ? 1 : 0;
        s.parameters = make_protocol_parameters(s.parsed_atr, s.protocol, fi, di, caps.has(Feature::ClockStop));
    }
    if (s.protocol == 1) {
        if (auto ok = set_up_t1(s, options.negotiate); !ok) {
            if (!is_fatal(ok.error())) (void)icc_power_off();
            return std::unexpected(ok.error());
        }
    }
    s.timing = timing_from(s.parameters, caps.default_clock_khz, s.ifsd);
    logger()->debug("ccid: slot {} card up: ATR {}, T={}, {}", index_, to_hex(s.atr), s.protocol,
                    s.pps_exchanged ? "PPS done" : "no PPS");
    session_ = s;
    return s;
}

std::expected<void, ReaderError> Slot::negotiate(CardSession& s, const PowerOnOptions& options) {
    const auto& caps = reader_.caps();
    const auto& quirks = reader_.options().quirks;
    const proto::Atr& atr = s.parsed_atr;
    const bool clock_stop = caps.has(Feature::ClockStop);

    auto choice = proto::choose_protocol_and_rate(atr, rate_caps(caps, options.protocols));
    if (!choice) return std::unexpected(choice_error(choice.error()));
    s.choice = *choice;

    if (caps.has(Feature::AutoParameterNegotiation)) {
        // 5.1 dwFeatures 40h: the reader negotiated by itself; the host must not change it.
        auto params = get_parameters_locked();
        if (params) {
            s.parameters = *params;
            s.parameters_from_reader = true;
        } else {
            if (is_fatal(params.error())) return std::unexpected(params.error());
            logger()->warn("ccid: slot {} GetParameters failed ({}); assuming the choice", index_,
                           describe(params.error()));
            s.parameters = make_protocol_parameters(atr, choice->protocol, choice->fi_code, choice->di_code, clock_stop);
        }
        s.protocol = protocol_num(s.parameters);
        if (!accepts(options.protocols, s.protocol))
            return std::unexpected(make_error(ReaderErrc::NoCommonProtocol,
                                              fmt::format("the reader negotiated T={}, which was not asked for", s.protocol)));
        s.negotiated = true;
        return {};
    }

    std::uint8_t protocol = choice->protocol;
    std::uint8_t fi = choice->fi_code;
    std::uint8_t di = choice->di_code;
    // pcsc-lite's answer to a failed PPS: reset the card and use its default protocol at the
    // ATR's factors (Fd/Dd in negotiable mode, ISO/IEC 7816-3 6.3.1).
    auto fall_back_to_defaults = [&](std::string_view what, const ReaderError& why) -> std::expected<void, ReaderError> {
        logger()->warn("ccid: slot {} {} ({}); cold reset and default protocol", index_, what, describe(why));
        (void)icc_power_off();
        auto atr_again = icc_power_on(s.voltage, s.power_on_attempts);
        if (!atr_again) return std::unexpected(atr_again.error());
        const proto::AtrParse parse = proto::parse_atr(*atr_again);
        if (auto usable = check_atr_usable(parse); !usable) return std::unexpected(usable.error());
        s.atr = std::move(*atr_again);
        s.parsed_atr = parse.atr;
        protocol = s.parsed_atr.default_protocol;
        std::tie(fi, di) = initial_factors(s.parsed_atr);
        s.pps_exchanged = false;  // the reset undid it
        s.negotiation_fallback = true;
        if (!accepts(options.protocols, protocol) || !reader_supports(caps, protocol))
            return std::unexpected(make_error(ReaderErrc::NegotiationFailed,
                                              fmt::format("{} ({}) and the default protocol T={} is not usable",
                                                          what, describe(why), protocol)));
        return {};
    };
    const bool pps_impossible = quirks.no_pps || (choice->host_sends_pps && caps.level != ExchangeLevel::Tpdu);
    if (choice->pps_needed && pps_impossible && !atr.specific_mode) {
        // Stay with what the card runs after its ATR.
        protocol = atr.default_protocol;
        std::tie(fi, di) = initial_factors(atr);
        if (!accepts(options.protocols, protocol) || !reader_supports(caps, protocol))
            return std::unexpected(make_error(
                ReaderErrc::NoCommonProtocol,
                fmt::format("no PPS possible and the card's default protocol T={} is not usable", protocol)));
    } else if (choice->pps_needed && choice->host_sends_pps && choice->pps_request) {
        const proto::PpsRequest& request = *choice->pps_request;
        auto pps_bytes = proto::build_pps_request(request);
        std::expected<proto::PpsResult, ReaderError> result = std::unexpected(make_error(ReaderErrc::NegotiationFailed));
        if (!pps_bytes) {
            result = std::unexpected(make_error(ReaderErrc::NegotiationFailed, std::string(proto::to_string(pps_bytes.error()))));
        } else {
            // ISO/IEC 7816-3 9.2: the exchange runs at Fd/Dd under the initial waiting time.
            CardTiming initial;
            initial.clock_khz = caps.default_clock_khz;
            XfrRequest request_block;
            request_block.data = *pps_bytes;
            request_block.timeout = tpdu_timeout(initial, pps_bytes->size(), proto::kMaxPpsLength, 1, quirks.extra_timeout);
            logger()->debug("ccid: slot {} PPS {}", index_, to_hex(*pps_bytes));
            auto reply = xfr(request_block);
            if (!reply) {
                result = std::unexpected(reply.error());
            } else if (auto checked = proto::check_pps_response(request, reply->data); !checked) {
                result = std::unexpected(make_error(ReaderErrc::NegotiationFailed,
                                                    fmt::format("PPS response {}: {}", to_hex(reply->data),
                                                                proto::to_string(checked.error()))));
            } else {
                result = *checked;
            }
        }
        if (result) {
            protocol = result->protocol;
            fi = result->fi_code;
            di = result->di_code;
            s.pps_exchanged = true;
        } else {
            if (is_fatal(result.error())) return std::unexpected(result.error());
            if (auto back = fall_back_to_defaults("PPS failed", result.error()); !back)
                return std::unexpected(back.error());
        }
    }

    // At most two rounds: the second after a cold reset undid the PPS (see below).
    for (unsigned round = 0;; ++round) {
        const ProtocolParameters wanted = make_protocol_parameters(s.parsed_atr, protocol, fi, di, clock_stop);
        auto set = set_parameters_locked(wanted);
        if (set) {
            s.parameters = *set;
            break;
        }
        if (is_fatal(set.error())) return std::unexpected(set.error());
        // Readers that configure themselves from the ATR (dwFeatures 02h) sometimes refuse
        // SetParameters yet run the right link: accept what they report if it matches the
        // card's, i.e. the PPS result, or the ATR's factors when an automatic-PPS reader
        // (dwFeatures 80h) refused and so never ran its PPS.
        auto current = get_parameters_locked();
        if (!current || protocol_num(*current) != protocol) return std::unexpected(set.error());
        const bool reader_skipped_pps = caps.has(Feature::AutoPps) && !s.pps_exchanged;
        const auto [card_fi, card_di] = reader_skipped_pps ? initial_factors(s.parsed_atr)
                                                           : std::pair<std::uint8_t, std::uint8_t>{fi, di};
        const ProtocolParameters card = make_protocol_parameters(s.parsed_atr, protocol, card_fi, card_di, clock_stop);
        if (same_link(*current, card)) {
            logger()->warn("ccid: slot {} SetParameters refused ({}); the reader already runs T={} at Fi/Di {:02X}h",
                           index_, describe(set.error()), protocol, fidi_of(*current));
            s.parameters = *current;
            s.parameters_from_reader = true;
            break;
        }
        const ReaderError mismatch = make_error(
            ReaderErrc::NegotiationFailed,
            fmt::format("SetParameters refused ({}); the reader runs T={} at Fi/Di {:02X}h, the card at {:02X}h{}",
                        describe(set.error()), protocol, fidi_of(*current), fidi_of(card),
                        protocol_num(card) == 1 && fidi_of(*current) == fidi_of(card) ? " with another EDC" : ""));
        // Only a PPS the host sent can be undone: a cold reset brings the card back to the
        // ATR's factors, which the reader is then asked for (or already runs).
        if (!s.pps_exchanged || round > 0) return std::unexpected(mismatch);
        if (auto back = fall_back_to_defaults("reader refused the PPS result", mismatch); !back)
            return std::unexpected(back.error());
    }
    if (caps.has(Feature::AutoPps)) {
        // 5.1 dwFeatures 80h: the reader ran the PPS itself; learn what it settled.
        if (auto current = get_parameters_locked()) {
            s.parameters = *current;
            s.parameters_from_reader = true;
        }
    }
    s.protocol = protocol_num(s.parameters);
    s.negotiated = true;
    return {};
}

std::expected<void, ReaderError> Slot::set_up_t1(CardSession& s, bool exchange_ifsd) {
    const auto& caps = reader_.caps();
    const auto& options = reader_.options();
    const auto* params = std::get_if<T1Parameters>(&s.parameters);
    if (!params) return std::unexpected(make_error(ReaderErrc::ProtocolError, "T=1 without T=1 parameters"));
    proto::T1Config config;
    config.edc = params->uses_crc() ? proto::T1Edc::Crc : proto::T1Edc::Lrc;
    // Sending blocks smaller than the card's IFSC is always allowed (ISO/IEC 7816-3 11.4.2);
    // a whole block (prologue, INF, EDC) must fit in one XfrBlock of the reader.
    const std::size_t room = caps.max_send_length > kHeaderSize ? caps.max_send_length - kHeaderSize : 0;
    const std::size_t block_overhead = proto::kT1PrologueSize + (config.edc == proto::T1Edc::Crc ? 2u : 1u);
    const std::size_t inf_room = room > block_overhead ? room - block_overhead : 1;
    config.ifsc = static_cast<std::uint8_t>(std::clamp<std::size_t>(std::min<std::size_t>(params->bIFSC, inf_room), 1, 254));
    config.nad = (options.t1_nad != 0 && caps.has(Feature::NadOtherThanZero) && !options.quirks.no_nad)
                     ? options.t1_nad
                     : std::uint8_t{0};
    config.ifsd = static_cast<std::uint8_t>(std::clamp<std::uint32_t>(caps.ifsd, 1, 254));
    // With automatic IFSD (dwFeatures 400h) the reader already told the card its IFSD;
    // skip_ifsd_exchange readers are treated the same way (a larger limit is harmless).
    const bool reader_does_ifsd = caps.has(Feature::AutoIfsd) || options.quirks.skip_ifsd_exchange;
    config.initial_ifsd = reader_does_ifsd ? config.ifsd : proto::kT1DefaultIfs;
    t1_.emplace(config);
    s.ifsd = config.initial_ifsd;
    if (!exchange_ifsd || caps.level != ExchangeLevel::Tpdu || reader_does_ifsd) return {};

    const auto setup = transfer_setup(timing_from(s.parameters, caps.default_clock_khz, s.ifsd));
    auto negotiated = negotiate_t1_ifsd(config.ifsd, *t1_, setup, [this](const XfrRequest& r) { return xfr(r); });
    if (!negotiated) return std::unexpected(negotiated.error());
    s.ifsd = t1_->ifsd();
    s.ifsd_exchanged = true;
    return {};
}

std::expected<void, ReaderError> Slot::power_off() {
    std::lock_guard lock(mutex_);
    session_.reset();
    t1_.reset();
    if (reader_.gone()) return std::unexpected(make_error(ReaderErrc::ReaderGone, "the device was disconnected"));
    return icc_power_off();
}

std::expected<SlotStatusInfo, ReaderError> Slot::status() {
    std::lock_guard lock(mutex_);
    auto reply = reader_.command(pc_to_rdr::GetSlotStatus{index_, 0}, reader_.options().control_timeout);
    if (!reply) return std::unexpected(reply.error());
    SlotStatusInfo info;
    const Status status = status_of(*reply);
    switch (status.icc()) {
        case IccStatus::PresentActive: info.presence = CardPresence::PresentActive; break;
        case IccStatus::PresentInactive: info.presence = CardPresence::PresentInactive; break;
        case IccStatus::Absent:
        case IccStatus::Rfu: info.presence = CardPresence::Absent; break;
    }
    if (const auto* slot_status = std::get_if<rdr_to_pc::SlotStatus>(&*reply)) info.clock = slot_status->clock_status();
    if (info.presence != CardPresence::PresentActive && session_) {
        session_.reset();  // the reader no longer powers the card
        t1_.reset();
    }
    return info;
}

std::expected<Bytes, ReaderError> Slot::transmit(ByteView apdu) {
    std::lock_guard lock(mutex_);
    if (auto ok = check_session(); !ok) {
        end_session_on(ok.error());
        return std::unexpected(ok.error());
    }
    if (apdu.size() < 4)
        return std::unexpected(make_error(ReaderErrc::InvalidApdu, fmt::format("{} bytes (at least 4)", apdu.size())));
    const TransferSetup setup = transfer_setup(session_->timing);
    const XfrFunction fn = [this](const XfrRequest& r) { return xfr(r); };
    std::expected<Bytes, ReaderError> result = std::unexpected(make_error(ReaderErrc::ProtocolError));
    switch (reader_.caps().level) {
        case ExchangeLevel::Character:
        case ExchangeLevel::Contradictory:
            return std::unexpected(make_error(ReaderErrc::CharacterLevelUnsupported,
                                              "the reader moves single characters; use a TPDU or APDU reader"));
        case ExchangeLevel::Tpdu:
            if (session_->protocol == 1) {
                if (!t1_) return std::unexpected(make_error(ReaderErrc::ProtocolError, "T=1 engine missing"));
                result = transfer_t1_tpdu(apdu, *t1_, setup, fn);
            } else {
                proto::T0ExchangeOptions t0_options;
                t0_options.auto_get_response = reader_.options().auto_get_response;
                proto::T0Exchange engine(fit_t0_options(t0_options, setup));
                result = transfer_t0_tpdu(apdu, engine, setup, fn);
            }
            break;
        case ExchangeLevel::ShortApdu: result = transfer_short_apdu(apdu, setup, fn); break;
        case ExchangeLevel::ExtendedApdu: result = transfer_extended_apdu(apdu, setup, fn); break;
    }
    if (!result) end_session_on(result.error());
    return result;
}

std::expected<Bytes, ReaderError> Slot::escape(ByteView data, std::optional<Millis> timeout) {
    std::lock_guard lock(mutex_);
    pc_to_rdr::Escape m;
    m.bSlot = index_;
    m.abData.assign(data.begin(), data.end());
    auto reply = reader_.command_ok(std::move(m), timeout.value_or(reader_.options().control_timeout));
    if (!reply) return std::unexpected(reply.error());
    auto* escape_reply = std::get_if<rdr_to_pc::Escape>(&*reply);
    if (!escape_reply) return std::unexpected(make_error(ReaderErrc::UnexpectedReply, "Escape not answered by an Escape"));
    return std::move(escape_reply->abData);
}

std::expected<std::optional<std::array<std::uint8_t, 3>>, ReaderError> Slot::begin_secure(ByteView pin_apdu) {
    if (auto ok = check_session(); !ok) {
        end_session_on(ok.error());
        return std::unexpected(ok.error());
    }
    if (reader_.caps().level != ExchangeLevel::Tpdu || session_->protocol != 1) return std::nullopt;
    // T=1 TPDU: the reader builds the I-block around the PIN APDU with the NAD and PCB the host
    // gives in bTeoPrologue (6.1.11), so the engine numbers that block as its own.
    if (!t1_) return std::unexpected(make_error(ReaderErrc::ProtocolError, "T=1 engine missing"));
    if (auto started = t1_->start(pin_apdu); !started)
        return std::unexpected(make_error(ReaderErrc::InvalidApdu, fmt::format("PIN APDU: {}", proto::to_string(started.error()))));
    auto block = t1_->poll_transmit();
    const auto* params = std::get_if<T1Parameters>(&session_->parameters);
    const auto edc = params && params->uses_crc() ? proto::T1Edc::Crc : proto::T1Edc::Lrc;
    auto decoded = block ? proto::decode(*block, edc) : std::unexpected(proto::T1BlockError::TooShort);
    if (!decoded || decoded->type() != proto::T1BlockType::I || decoded->more()) {
        t1_->reset();
        return std::unexpected(make_error(ReaderErrc::CommandNotSupported,
                                          "PIN APDU does not fit one T=1 block of the card's IFSC"));
    }
    // LEN is left 0: the reader sets it once the PIN is in.
    return std::array<std::uint8_t, 3>{decoded->nad, decoded->pcb, 0};
}

std::expected<Bytes, ReaderError> Slot::secure(Bytes ab_data, std::uint8_t timeout_s, bool t1_tpdu) {
    // The user has bTimeOut seconds (reader default when 0) plus the card's own time.
    const Millis user_time = timeout_s != 0 ? Millis{timeout_s * 1000} : Millis{60'000};
    const Millis timeout = std::max(Millis{90'000}, user_time + apdu_timeout(session_->timing, 300, 258,
                                                                              reader_.options().quirks.extra_timeout));
    pc_to_rdr::Secure m;
    m.bSlot = index_;
    m.abData = std::move(ab_data);
    auto reply = reader_.command_ok(std::move(m), timeout);
    if (!reply) {
        // The reader never sent the block: the engine's numbering is resynchronised later.
        if (t1_tpdu && t1_) t1_->reset();
        // libccid's convention: the application sees a status word, not a transport error.
        if (reply.error().code == ReaderErrc::PinTimeout) return Bytes{0x64, 0x00};
        if (reply.error().code == ReaderErrc::PinCancelled) return Bytes{0x64, 0x01};
        end_session_on(reply.error());
        return std::unexpected(reply.error());
    }
    auto* block = std::get_if<rdr_to_pc::DataBlock>(&*reply);
    if (!block) return std::unexpected(make_error(ReaderErrc::UnexpectedReply, "Secure not answered by a DataBlock"));
    if (!t1_tpdu) return std::move(block->abData);
    auto response = continue_t1_after_reader_block(block->abData, *t1_, transfer_setup(session_->timing),
                                                   [this](const XfrRequest& r) { return xfr(r); });
    if (!response) end_session_on(response.error());
    return response;
}

std::expected<Bytes, ReaderError> Slot::secure_verify(const PinVerify& verify) {
    std::lock_guard lock(mutex_);
    PinVerify v = verify;
    auto prologue = begin_secure(v.abPINApdu);
    if (!prologue) return std::unexpected(prologue.error());
    if (*prologue) v.bTeoPrologue = **prologue;
    return secure(secure_pin_verify_data(v), v.bTimeOut, prologue->has_value());
}

std::expected<Bytes, ReaderError> Slot::secure_modify(const PinModify& modify) {
    std::lock_guard lock(mutex_);
    PinModify m = modify;
    auto prologue = begin_secure(m.abPINApdu);
    if (!prologue) return std::unexpected(prologue.error());
    if (*prologue) m.bTeoPrologue = **prologue;
    return secure(secure_pin_modify_data(m), m.bTimeOut, prologue->has_value());
}

std::expected<ProtocolParameters, ReaderError> Slot::get_parameters_locked() {
    auto reply = reader_.command_ok(pc_to_rdr::GetParameters{index_, 0}, reader_.options().control_timeout);
    if (!reply) return std::unexpected(reply.error());
    const auto* params = std::get_if<rdr_to_pc::Parameters>(&*reply);
    if (!params) return std::unexpected(make_error(ReaderErrc::UnexpectedReply, "GetParameters not answered by Parameters"));
    auto decoded = params->parameters();
    if (!decoded)
        return std::unexpected(make_error(ReaderErrc::MalformedReply,
                                          fmt::format("Parameters: {}", to_string(decoded.error()))));
    return *decoded;
}

std::expected<ProtocolParameters, ReaderError> Slot::set_parameters_locked(const ProtocolParameters& wanted) {
    auto reply = reader_.command_ok(pc_to_rdr::SetParameters{index_, 0, wanted}, reader_.options().control_timeout);
    if (!reply) return std::unexpected(reply.error());
    const auto* params = std::get_if<rdr_to_pc::Parameters>(&*reply);
    if (!params) return std::unexpected(make_error(ReaderErrc::UnexpectedReply, "SetParameters not answered by Parameters"));
    auto decoded = params->parameters();
    if (!decoded || protocol_num(*decoded) != protocol_num(wanted)) return wanted;  // the echo is informational
    return *decoded;
}

std::expected<ProtocolParameters, ReaderError> Slot::get_parameters() {
    std::lock_guard lock(mutex_);
    return get_parameters_locked();
}

std::expected<ProtocolParameters, ReaderError> Slot::set_parameters(const ProtocolParameters& params) {
    std::lock_guard lock(mutex_);
    auto set = set_parameters_locked(params);
    if (set && session_) {
        session_->parameters = *set;
        session_->timing = timing_from(*set, reader_.caps().default_clock_khz, session_->ifsd);
    }
    return set;
}

}  // namespace ccidkit::ccid

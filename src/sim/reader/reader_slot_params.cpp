// Protocol parameters of a simulated slot: what the reader uses after power-on, the checks of
// PC_to_RDR_SetParameters (CCID Rev 1.1 6.1.7) and automatic PPS (dwFeatures 40h / 80h).
#include <utility>

#include "ccid/slot_error.h"
#include "protocol/fi_di_tables.h"
#include "protocol/pps.h"
#include "sim/reader/reader_replies.h"
#include "sim/reader/reader_slot.h"

namespace ccidkit::sim {

namespace code = ccid::slot_error_code;

namespace {

// Offsets (CCID 6.2.6) of the SetParameters fields rejected below.
constexpr std::uint8_t kOffsetProtocolNum = 7;
constexpr std::uint8_t kOffsetFindexDindex = 10;
constexpr std::uint8_t kOffsetWaitingIntegersT1 = 13;
constexpr std::uint8_t kOffsetNad = 16;

std::uint8_t fidi_of(const ccid::ProtocolParameters& p) {
    return std::visit([](const auto& s) { return s.bmFindexDindex; }, p);
}

void set_fidi(ccid::ProtocolParameters& p, std::uint8_t fidi) {
    std::visit([fidi](auto& s) { s.bmFindexDindex = fidi; }, p);
}

std::uint8_t fidi_byte(const CardLink& link) {
    return static_cast<std::uint8_t>((link.fi_code << 4) | (link.di_code & 0x0F));
}

}  // namespace

bool ReaderSlot::automatic_pps() const {
    return meaning_.has(ccid::Feature::AutoPps) || meaning_.has(ccid::Feature::AutoParameterNegotiation);
}

proto::ReaderRateCaps ReaderSlot::rate_caps() const {
    const ccid::CcidDescriptor& d = config_.descriptor;
    proto::ReaderRateCaps caps;
    caps.default_clock_khz = clock_khz_;
    caps.max_clock_khz = d.dwMaximumClock;
    caps.clocks_khz = config_.clocks_khz;
    caps.max_data_rate_bps = d.dwMaxDataRate;
    caps.data_rates_bps = config_.data_rates_bps;
    caps.automatic_pps = true;
    caps.supported_protocols = static_cast<proto::ProtocolMask>(d.dwProtocols & 0x3);
    return caps;
}

ccid::ProtocolParameters ReaderSlot::initial_parameters() const {
    if (!card_) return ccid::T0Parameters{};
    const proto::Atr& atr = card_->current_atr();
    const std::uint32_t reader_protocols = config_.descriptor.dwProtocols & 0x3;
    std::uint8_t protocol = card_->link().protocol;
    if ((reader_protocols & (1u << protocol)) == 0) {
        for (const std::uint8_t t : {std::uint8_t{0}, std::uint8_t{1}}) {
            if ((reader_protocols & (1u << t)) != 0 && atr.offers(t)) {
                protocol = t;
                break;
            }
        }
    }
    // A reader that configures itself (from the ATR, or because it runs the protocol at APDU
    // level) knows what the card uses; otherwise it starts from the ISO defaults and the host
    // must send SetParameters.
    const bool configures = meaning_.has(ccid::Feature::AutoConfigFromAtr) ||
                            meaning_.has(ccid::Feature::AutoParameterNegotiation) ||
                            level_ == ccid::ExchangeLevel::ShortApdu || level_ == ccid::ExchangeLevel::ExtendedApdu;
    const std::uint8_t fidi = configures ? fidi_byte(card_->link()) : 0x11;
    const std::uint8_t inverse = atr.convention == proto::Convention::Inverse ? 0x02 : 0x00;
    const std::uint8_t clock_stop = configures ? static_cast<std::uint8_t>(atr.clock_stop) : 0;
    if (protocol == 1) {
        ccid::T1Parameters t1;
        t1.bmFindexDindex = fidi;
        if (configures) {
            t1.bmTCCKST1 = static_cast<std::uint8_t>(0x10 | inverse | (atr.t1.edc == proto::Edc::Crc ? 0x01 : 0x00));
            t1.bGuardTimeT1 = atr.extra_guard_time;
            t1.bmWaitingIntegersT1 = static_cast<std::uint8_t>((atr.t1.bwi << 4) | (atr.t1.cwi & 0x0F));
            t1.bIFSC = atr.t1.ifsc;
            t1.bClockStop = clock_stop;
        }
        return t1;
    }
    ccid::T0Parameters t0;
    t0.bmFindexDindex = fidi;
    if (configures) {
        t0.bmTCCKST0 = inverse;
        t0.bGuardTimeT0 = atr.extra_guard_time;
        t0.bWaitingIntegerT0 = atr.wi;
        t0.bClockStop = clock_stop;
    }
    return t0;
}

void ReaderSlot::negotiate_after_power_on() {
    // Proprietary automatic negotiation (dwFeatures 40h): the reader picks protocol and rate
    // like a host would, and runs PPS itself.
    auto choice = proto::choose_protocol_and_rate(card_->current_atr(), rate_caps());
    if (!choice) return;
    if (choice->pps_request && card_->pps_allowed()) {
        auto request = proto::build_pps_request(*choice->pps_request);
        if (!request) return;
        auto answer = card_->handle_pps(*request);
        if (!answer) return;
        auto result = proto::check_pps_response(*choice->pps_request, *answer);
        if (!result) return;
    }
    params_ = initial_parameters();
}

std::optional<std::uint8_t> ReaderSlot::check_parameters(const ccid::ProtocolParameters& p) const {
    const std::uint8_t protocol = ccid::protocol_num(p);
    if ((config_.descriptor.dwProtocols & (1u << protocol)) == 0) return kOffsetProtocolNum;
    const std::uint8_t fidi = fidi_of(p);
    const auto f = proto::fi_from_code(fidi >> 4);
    const auto d = proto::di_from_code(fidi & 0x0F);
    if (!f || !d) return kOffsetFindexDindex;
    const std::uint32_t rate = proto::data_rate_bps(clock_khz_, *f, *d);
    if (clock_khz_ != 0 && fidi != 0x11 && !proto::reader_accepts_rate(rate_caps(), rate)) return kOffsetFindexDindex;
    if (const auto* t1 = std::get_if<ccid::T1Parameters>(&p)) {
        if ((t1->bmWaitingIntegersT1 >> 4) > 9) return kOffsetWaitingIntegersT1;  // BWI 0..9 (11.4.3)
        if (t1->bNadValue != 0 && !meaning_.has(ccid::Feature::NadOtherThanZero)) return kOffsetNad;
    }
    return std::nullopt;
}

SlotOutcome ReaderSlot::get_parameters(const ccid::pc_to_rdr::GetParameters& m) const {
    if (!card_) return fail(m, code::kIccMute);
    return SlotOutcome{ccid::rdr_to_pc::make_parameters(index_, m.bSeq, ok_status(), params_), {}, false};
}

SlotOutcome ReaderSlot::reset_parameters(const ccid::pc_to_rdr::ResetParameters& m) {
    if (!card_) return fail(m, code::kIccMute);
    params_ = initial_parameters();
    return SlotOutcome{ccid::rdr_to_pc::make_parameters(index_, m.bSeq, ok_status(), params_), {}, false};
}

SlotOutcome ReaderSlot::set_parameters(const ccid::pc_to_rdr::SetParameters& m) {
    if (!card_) return fail(m, code::kIccMute);
    const auto reject = [&](std::uint8_t error) {
        const auto status = ccid::Status::make(icc_status(), ccid::CommandStatus::Failed, error);
        return SlotOutcome{ccid::rdr_to_pc::make_parameters(index_, m.bSeq, status, params_), {}, false};
    };
    if (auto error = check_parameters(m.parameters)) return reject(*error);
    ccid::ProtocolParameters wanted = m.parameters;
    const std::uint8_t protocol = ccid::protocol_num(wanted);

    if (powered_) {
        if (!card_->current_atr().offers(protocol)) return reject(code::kIccProtocolNotSupported);
        const CardLink now = card_->link();
        const bool differs = now.protocol != protocol || fidi_byte(now) != fidi_of(wanted);
        if (differs && automatic_pps()) {
            // The reader negotiates with the card itself (9.2). Only possible right after the ATR.
            if (!card_->pps_allowed()) {
                return reject(now.protocol != protocol ? code::kIccProtocolNotSupported : kOffsetFindexDindex);
            }
            proto::PpsRequest request;
            request.protocol = protocol;
            if (fidi_of(wanted) != 0x11) request.pps1 = fidi_of(wanted);
            auto bytes = proto::build_pps_request(request);
            if (!bytes) return reject(kOffsetFindexDindex);
            auto answer = card_->handle_pps(*bytes);
            if (!answer) {
                // No answer to PPS: the reader deactivates the card (9.3).
                deactivate();
                return reject(code::kIccMute);
            }
            auto result = proto::check_pps_response(request, *answer);
            if (!result) return reject(code::kIccProtocolNotSupported);
            // PPS1 left out: the card stays at Fd/Dd, and so does the reader.
            set_fidi(wanted, static_cast<std::uint8_t>((result->fi_code << 4) | result->di_code));
        }
    }
    params_ = std::move(wanted);
    const std::uint8_t fidi = fidi_of(params_);
    data_rate_bps_ = proto::data_rate_bps(clock_khz_, proto::fi_from_code(fidi >> 4).value_or(proto::kFd),
                                          proto::di_from_code(fidi & 0x0F).value_or(proto::kDd));
    return SlotOutcome{ccid::rdr_to_pc::make_parameters(index_, m.bSeq, ok_status(), params_), {}, false};
}

}  // namespace ccidkit::sim

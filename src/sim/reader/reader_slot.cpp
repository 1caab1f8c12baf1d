#include "sim/reader/reader_slot.h"

#include <algorithm>
#include <utility>

#include "ccid/slot_error.h"
#include "protocol/atr.h"
#include "sim/reader/reader_replies.h"

namespace ccidkit::sim {

namespace code = ccid::slot_error_code;
using ccid::Command;
using ccid::IccStatus;

namespace {

// Offsets of message fields used as bError (CCID 6.2.6 table 6.2-2: the offset of the
// rejected field).
constexpr std::uint8_t kOffsetFirstSpecific = 7;  // bPowerSelect, bClockCommand, bProtocolNum...
constexpr std::uint8_t kOffsetClock = 10;         // SetDataRateAndClockFrequency dwClockFrequency
constexpr std::uint8_t kOffsetDataRate = 14;      // and dwDataRate

std::uint8_t type_byte(const Command& c) { return static_cast<std::uint8_t>(ccid::message_type(c)); }

// Class indicator bits (ISO/IEC 7816-3 8.3 table 11) line up with bVoltageSupport (CCID 5.1):
// bit 0 class A / 5 V, bit 1 class B / 3 V, bit 2 class C / 1.8 V.
std::uint8_t reader_voltages(const ccid::CcidDescriptor& d) {
    const std::uint8_t v = d.bVoltageSupport & 0x07;
    return v == 0 ? 0x07 : v;
}

std::uint8_t clock_stop_of(const ccid::ProtocolParameters& p) {
    return std::visit([](const auto& s) { return s.bClockStop; }, p);
}

}  // namespace

ReaderSlot::ReaderSlot(const ReaderSimConfig& config, std::uint8_t index)
    : config_(config),
      meaning_(ccid::interpret(config.descriptor)),
      level_(simulated_level(config.descriptor)),
      index_(index),
      clock_khz_(config.descriptor.dwDefaultClock),
      data_rate_bps_(config.descriptor.dwDataRate) {
    if (config.descriptor.bClassGetResponse != 0xFF) get_response_cla_ = config.descriptor.bClassGetResponse;
    if (config.descriptor.bClassEnvelope != 0xFF) envelope_cla_ = config.descriptor.bClassEnvelope;
}

void ReaderSlot::insert(std::shared_ptr<SimCard> card) {
    remove();
    card_ = std::move(card);
    if (!card_ || !meaning_.has(ccid::Feature::AutoActivation)) return;
    const std::uint8_t common = reader_voltages(config_.descriptor) & card_->supported_classes();
    for (const std::uint8_t cls : {proto::kClassA, proto::kClassB, proto::kClassC}) {
        if ((common & cls) == 0) continue;
        if (card_->cold_reset(cls)) {
            powered_ = true;
            params_ = initial_parameters();
        }
        break;
    }
}

std::shared_ptr<SimCard> ReaderSlot::remove() {
    std::shared_ptr<SimCard> card = std::move(card_);
    card_.reset();
    if (card) card->power_off();
    powered_ = false;
    clock_stopped_ = false;
    clear_exchange_state();
    return card;
}

void ReaderSlot::deactivate() {
    if (card_) card_->power_off();
    powered_ = false;
    clock_stopped_ = false;
    clear_exchange_state();
}

void ReaderSlot::clear_exchange_state() {
    command_chaining_ = false;
    command_parts_.clear();
    response_rest_.clear();
    char_rx_.clear();
}

IccStatus ReaderSlot::icc_status() const {
    if (!card_) return IccStatus::Absent;
    return powered_ ? IccStatus::PresentActive : IccStatus::PresentInactive;
}

ccid::Status ReaderSlot::ok_status() const { return ccid::Status::make(icc_status(), ccid::CommandStatus::Ok); }

std::uint8_t ReaderSlot::clock_status_byte() const {
    if (!powered_ || !clock_stopped_) return static_cast<std::uint8_t>(ccid::ClockStatus::Running);
    return clock_stop_of(params_) == 2 ? static_cast<std::uint8_t>(ccid::ClockStatus::StoppedHigh)
                                       : static_cast<std::uint8_t>(ccid::ClockStatus::StoppedLow);
}

SlotOutcome ReaderSlot::fail(const Command& command, std::uint8_t error) const {
    return fail(command, icc_status(), error);
}

SlotOutcome ReaderSlot::fail(const Command& command, IccStatus icc, std::uint8_t error) const {
    return SlotOutcome{failure_reply(type_byte(command), index_, ccid::seq_of(command), icc, error), {}, false};
}

std::optional<SlotOutcome> ReaderSlot::require_active(const Command& command) const {
    // Card absent or not powered: ICC_MUTE with the ICC status telling which (6.2.6).
    if (!card_ || !powered_) return fail(command, code::kIccMute);
    return std::nullopt;
}

SlotSnapshot ReaderSlot::snapshot() const {
    SlotSnapshot s;
    s.present = card_ != nullptr;
    s.powered = powered_;
    s.icc = icc_status();
    s.parameters = params_;
    s.clock = static_cast<ccid::ClockStatus>(clock_status_byte());
    s.clock_khz = clock_khz_;
    s.data_rate_bps = data_rate_bps_;
    s.locked = locked_;
    return s;
}

SlotOutcome ReaderSlot::execute(const Command& command) {
    return std::visit(
        [this](const auto& m) -> SlotOutcome {
            using T = std::decay_t<decltype(m)>;
            namespace p = ccid::pc_to_rdr;
            if constexpr (std::is_same_v<T, p::IccPowerOn>) return power_on(m);
            else if constexpr (std::is_same_v<T, p::IccPowerOff>) return power_off(m);
            else if constexpr (std::is_same_v<T, p::GetSlotStatus>) return slot_status(m);
            else if constexpr (std::is_same_v<T, p::XfrBlock>) return xfr_block(m);
            else if constexpr (std::is_same_v<T, p::GetParameters>) return get_parameters(m);
            else if constexpr (std::is_same_v<T, p::ResetParameters>) return reset_parameters(m);
            else if constexpr (std::is_same_v<T, p::SetParameters>) return set_parameters(m);
            else if constexpr (std::is_same_v<T, p::Escape>) return escape(m);
            else if constexpr (std::is_same_v<T, p::IccClock>) return icc_clock(m);
            else if constexpr (std::is_same_v<T, p::T0Apdu>) return t0_apdu(m);
            else if constexpr (std::is_same_v<T, p::Secure>) return secure(m);
            else if constexpr (std::is_same_v<T, p::Mechanical>) return mechanical(m);
            else if constexpr (std::is_same_v<T, p::Abort>) return abort(m);
            else return set_rate_and_clock(m);
        },
        command);
}

SlotOutcome ReaderSlot::power_on(const ccid::pc_to_rdr::IccPowerOn& m) {
    const Command command = m;
    if (!card_) return fail(command, code::kIccMute);
    const std::uint8_t reader = reader_voltages(config_.descriptor);
    std::uint8_t cls = 0;
    if (m.bPowerSelect == ccid::PowerSelect::Automatic) {
        // The reader tries its voltages from the highest down (ISO/IEC 7816-3 6.2.4 class
        // selection) and keeps the first one the card's class indicator accepts.
        for (const std::uint8_t c : {proto::kClassA, proto::kClassB, proto::kClassC}) {
            if ((reader & c) != 0 && (card_->supported_classes() & c) != 0) {
                cls = c;
                break;
            }
        }
        if (cls == 0) return fail(command, code::kIccClassNotSupported);
    } else {
        cls = static_cast<std::uint8_t>(1u << (static_cast<unsigned>(m.bPowerSelect) - 1));
        if ((reader & cls) == 0) return fail(command, kOffsetFirstSpecific);  // bad bPowerSelect
    }

    clear_exchange_state();
    clock_stopped_ = false;
    // Powering an active card again is a warm reset (ISO/IEC 7816-3 6.2.3).
    auto atr = powered_ ? card_->warm_reset() : card_->cold_reset(cls);
    if (!atr) {
        powered_ = false;
        card_->power_off();
        return fail(command, slot_error_for(atr.error()));
    }
    const proto::AtrParse parsed = proto::parse_atr(*atr);
    std::optional<std::uint8_t> atr_error;
    if (parsed.error == proto::AtrError::InvalidTs || parsed.error == proto::AtrError::Empty) {
        atr_error = code::kBadAtrTs;
    } else if (parsed.error == proto::AtrError::TckMismatch || parsed.error == proto::AtrError::TckMissing) {
        atr_error = code::kBadAtrTck;
    }
    if (atr_error) {
        // The reader deactivates a card whose ATR it cannot trust, and reports what it got.
        card_->power_off();
        powered_ = false;
        const auto status = ccid::Status::make(IccStatus::PresentInactive, ccid::CommandStatus::Failed, *atr_error);
        return SlotOutcome{ccid::rdr_to_pc::DataBlock{index_, m.bSeq, status, 0, std::move(*atr)}, {}, false};
    }
    powered_ = true;
    params_ = initial_parameters();
    if (meaning_.has(ccid::Feature::AutoParameterNegotiation)) negotiate_after_power_on();
    return data_block(command, std::move(*atr));
}

SlotOutcome ReaderSlot::power_off(const ccid::pc_to_rdr::IccPowerOff& m) {
    if (card_) card_->power_off();
    powered_ = false;
    clock_stopped_ = false;
    clear_exchange_state();
    return SlotOutcome{ccid::rdr_to_pc::SlotStatus{index_, m.bSeq, ok_status(), clock_status_byte()}, {}, false};
}

SlotOutcome ReaderSlot::slot_status(const ccid::pc_to_rdr::GetSlotStatus& m) const {
    return SlotOutcome{ccid::rdr_to_pc::SlotStatus{index_, m.bSeq, ok_status(), clock_status_byte()}, {}, false};
}

SlotOutcome ReaderSlot::escape(const ccid::pc_to_rdr::Escape& m) const {
    std::optional<Bytes> answer = config_.escape ? config_.escape(m.abData) : std::optional<Bytes>(m.abData);
    if (!answer) return fail(m, code::kCommandNotSupported);
    if (answer->size() > max_payload()) return fail(m, code::kXfrOverrun);
    return SlotOutcome{ccid::rdr_to_pc::Escape{index_, m.bSeq, ok_status(), std::move(*answer)}, {}, false};
}

SlotOutcome ReaderSlot::icc_clock(const ccid::pc_to_rdr::IccClock& m) {
    if (!meaning_.has(ccid::Feature::ClockStop)) return fail(m, code::kCommandNotSupported);
    if (!card_) return fail(m, code::kIccMute);
    if (m.bClockCommand == ccid::ClockCommand::Stop) {
        // The card's clock stop indicator (bClockStop, from the ATR) says whether and how.
        if (powered_ && clock_stop_of(params_) == 0) return fail(m, kOffsetFirstSpecific);
        clock_stopped_ = powered_;
    } else {
        clock_stopped_ = false;
    }
    return SlotOutcome{ccid::rdr_to_pc::SlotStatus{index_, m.bSeq, ok_status(), clock_status_byte()}, {}, false};
}

SlotOutcome ReaderSlot::t0_apdu(const ccid::pc_to_rdr::T0Apdu& m) {
    // Only meaningful when the reader runs T=0 itself (6.1.10).
    if (level_ != ccid::ExchangeLevel::ShortApdu && level_ != ccid::ExchangeLevel::ExtendedApdu) {
        return fail(m, code::kCommandNotSupported);
    }
    const auto cla = [](std::uint8_t v) { return v == 0xFF ? std::nullopt : std::optional<std::uint8_t>(v); };
    if ((m.bmChanges & 0x01) != 0) get_response_cla_ = cla(m.bClassGetResponse);
    if ((m.bmChanges & 0x02) != 0) envelope_cla_ = cla(m.bClassEnvelope);
    return SlotOutcome{ccid::rdr_to_pc::SlotStatus{index_, m.bSeq, ok_status(), clock_status_byte()}, {}, false};
}

SlotOutcome ReaderSlot::mechanical(const ccid::pc_to_rdr::Mechanical& m) {
    std::uint32_t needed = 0;
    switch (m.bFunction) {
        case ccid::MechanicalFunction::Accept: needed = ccid::kMechanicalAccept; break;
        case ccid::MechanicalFunction::Eject: needed = ccid::kMechanicalEject; break;
        case ccid::MechanicalFunction::Capture: needed = ccid::kMechanicalCapture; break;
        case ccid::MechanicalFunction::Lock:
        case ccid::MechanicalFunction::Unlock: needed = ccid::kMechanicalLock; break;
    }
    if ((config_.descriptor.dwMechanical & needed) == 0) return fail(m, code::kCommandNotSupported);
    bool card_left = false;
    switch (m.bFunction) {
        case ccid::MechanicalFunction::Eject:
        case ccid::MechanicalFunction::Capture:
            if (locked_) return fail(m, kOffsetFirstSpecific);
            card_left = card_ != nullptr;
            remove();
            break;
        case ccid::MechanicalFunction::Lock: locked_ = true; break;
        case ccid::MechanicalFunction::Unlock: locked_ = false; break;
        case ccid::MechanicalFunction::Accept: break;
    }
    return SlotOutcome{ccid::rdr_to_pc::SlotStatus{index_, m.bSeq, ok_status(), clock_status_byte()}, {}, card_left};
}

SlotOutcome ReaderSlot::abort(const ccid::pc_to_rdr::Abort& m) const {
    return SlotOutcome{ccid::rdr_to_pc::SlotStatus{index_, m.bSeq, ok_status(), clock_status_byte()}, {}, false};
}

SlotOutcome ReaderSlot::set_rate_and_clock(const ccid::pc_to_rdr::SetDataRateAndClockFrequency& m) {
    const ccid::CcidDescriptor& d = config_.descriptor;
    const auto listed = [](const std::vector<std::uint32_t>& list, std::uint32_t v, std::uint32_t tolerance) {
        return std::ranges::any_of(list, [&](std::uint32_t x) { return (x > v ? x - v : v - x) <= tolerance; });
    };
    std::optional<std::uint8_t> error;
    if (m.dwClockFrequency == 0 ||
        (config_.clocks_khz.empty() ? m.dwClockFrequency > std::max(d.dwMaximumClock, d.dwDefaultClock)
                                    : !listed(config_.clocks_khz, m.dwClockFrequency, 0))) {
        error = kOffsetClock;
    } else if (m.dwDataRate == 0 ||
               (config_.data_rates_bps.empty()
                    ? (d.dwMaxDataRate != 0 && m.dwDataRate > d.dwMaxDataRate)
                    : !listed(config_.data_rates_bps, m.dwDataRate, proto::kDataRateTolerance))) {
        error = kOffsetDataRate;
    }
    ccid::Status status = ok_status();
    if (error) {
        status = ccid::Status::make(icc_status(), ccid::CommandStatus::Failed, *error);
    } else {
        clock_khz_ = m.dwClockFrequency;
        data_rate_bps_ = m.dwDataRate;
    }
    // The reply carries the values in force (6.2.5).
    return SlotOutcome{ccid::rdr_to_pc::DataRateAndClockFrequency{index_, m.bSeq, status, clock_khz_, data_rate_bps_},
                       {},
                       false};
}

}  // namespace ccidkit::sim

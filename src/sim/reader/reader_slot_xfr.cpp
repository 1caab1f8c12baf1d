// PC_to_RDR_XfrBlock at each exchange level (CCID Rev 1.1 6.1.4, dwFeatures bits 16-18) and
// PC_to_RDR_Secure with the simulated PIN pad (6.1.11).
#include <algorithm>
#include <array>
#include <utility>

#include "ccid/message_pin.h"
#include "ccid/slot_error.h"
#include "protocol/apdu.h"
#include "protocol/t1_block.h"
#include "sim/reader/reader_pinpad.h"
#include "sim/reader/reader_replies.h"
#include "sim/reader/reader_slot.h"

namespace ccidkit::sim {

namespace code = ccid::slot_error_code;
using ccid::Command;

namespace {

constexpr std::uint8_t kOffsetLength = 1;           // dwLength
constexpr std::uint8_t kOffsetLevelParameter = 8;   // wLevelParameter
constexpr std::uint8_t kOffsetPinOperation = 10;    // abData[0] of Secure
constexpr std::uint8_t kOffsetFormatString = 12;    // bmFormatString
constexpr std::uint8_t kOffsetPinBlockString = 13;  // bmPINBlockString
constexpr std::uint8_t kOffsetPinApdu = 25;         // abPINApdu (verify structure)
// The character-level receive buffer holds at most this much unread card output.
constexpr std::size_t kMaxCharBuffer = 65536;

}  // namespace

std::size_t ReaderSlot::max_payload() const {
    const std::uint32_t max = config_.descriptor.dwMaxCCIDMessageLength;
    return max > ccid::kHeaderSize ? max - ccid::kHeaderSize : 0;
}

CardLink ReaderSlot::reader_link() const {
    const std::uint8_t fidi = std::visit([](const auto& s) { return s.bmFindexDindex; }, params_);
    return CardLink{ccid::protocol_num(params_), static_cast<std::uint8_t>(fidi >> 4),
                    static_cast<std::uint8_t>(fidi & 0x0F)};
}

ApduPathOptions ReaderSlot::apdu_options() const {
    ApduPathOptions o;
    o.link = reader_link();
    if (const auto* t1 = std::get_if<ccid::T1Parameters>(&params_)) {
        o.edc = t1->uses_crc() ? proto::T1Edc::Crc : proto::T1Edc::Lrc;
        o.ifsc = t1->bIFSC;
        o.nad = t1->bNadValue;
    }
    const std::uint32_t max_ifsd = config_.descriptor.dwMaxIFSD;
    o.ifsd = static_cast<std::uint8_t>(std::clamp<std::uint32_t>(max_ifsd, 1, proto::kT1MaxInf));
    o.get_response_cla = get_response_cla_;
    o.envelope_cla = envelope_cla_;
    return o;
}

SlotOutcome ReaderSlot::data_block(const Command& command, Bytes data, std::uint8_t chain) const {
    return SlotOutcome{ccid::rdr_to_pc::DataBlock{index_, ccid::seq_of(command), ok_status(), chain, std::move(data)},
                       {},
                       false};
}

SlotOutcome ReaderSlot::xfr_block(const ccid::pc_to_rdr::XfrBlock& m) {
    if (auto refused = require_active(m)) return *refused;
    clock_stopped_ = false;  // the reader restarts a stopped clock before talking to the card
    switch (level_) {
        case ccid::ExchangeLevel::Tpdu: return xfr_tpdu(m);
        case ccid::ExchangeLevel::ShortApdu: return xfr_short_apdu(m);
        case ccid::ExchangeLevel::ExtendedApdu: return xfr_extended_apdu(m);
        case ccid::ExchangeLevel::Character:
        case ccid::ExchangeLevel::Contradictory: return xfr_character(m);
    }
    return fail(m, code::kCommandNotSupported);
}

SlotOutcome ReaderSlot::xfr_tpdu(const ccid::pc_to_rdr::XfrBlock& m) {
    auto answer = card_->transmit_tpdu(m.abData, reader_link());
    if (!answer) return fail(m, slot_error_for(answer.error()));
    if (answer->size() > max_payload()) return fail(m, code::kXfrOverrun);
    return data_block(m, std::move(*answer));
}

SlotOutcome ReaderSlot::run_apdu(const Command& command, ByteView apdu, bool chain_response) {
    auto result = card_->transmit_apdu(apdu, apdu_options());
    if (!result) return fail(command, slot_error_for(result.error()));
    SlotOutcome outcome;
    if (result->response.size() <= max_payload()) {
        outcome = data_block(command, std::move(result->response));
    } else if (!chain_response || max_payload() == 0) {
        outcome = fail(command, code::kXfrOverrun);
    } else {
        // Extended APDU level: the response goes out in parts, 01h first (6.2.1).
        Bytes first(result->response.begin(), result->response.begin() + static_cast<std::ptrdiff_t>(max_payload()));
        response_rest_.assign(result->response.begin() + static_cast<std::ptrdiff_t>(max_payload()),
                              result->response.end());
        outcome = data_block(command, std::move(first), ccid::chain::kBegins);
    }
    outcome.card_time_extensions = std::move(result->wtx);
    return outcome;
}

SlotOutcome ReaderSlot::xfr_short_apdu(const ccid::pc_to_rdr::XfrBlock& m) {
    // A short-APDU reader refuses extended length fields (CCID 5.1 dwFeatures 20000h).
    if (auto parsed = proto::parse_command_apdu(m.abData); parsed && proto::is_extended(parsed->apdu_case)) {
        return fail(m, kOffsetLength);
    }
    return run_apdu(m, m.abData, false);
}

SlotOutcome ReaderSlot::next_response_part(const Command& command) {
    const std::size_t n = std::min(response_rest_.size(), max_payload());
    Bytes part(response_rest_.begin(), response_rest_.begin() + static_cast<std::ptrdiff_t>(n));
    response_rest_.erase(response_rest_.begin(), response_rest_.begin() + static_cast<std::ptrdiff_t>(n));
    return data_block(command, std::move(part), response_rest_.empty() ? ccid::chain::kEnds : ccid::chain::kContinues);
}

SlotOutcome ReaderSlot::xfr_extended_apdu(const ccid::pc_to_rdr::XfrBlock& m) {
    const auto append = [this](ByteView data) {
        if (command_parts_.size() + data.size() > proto::kMaxCommandApduSize) return false;
        command_parts_.insert(command_parts_.end(), data.begin(), data.end());
        return true;
    };
    const auto overflow = [&]() {
        clear_exchange_state();
        return fail(m, kOffsetLength);
    };
    switch (m.wLevelParameter) {
        case ccid::chain::kBeginsAndEnds:
            clear_exchange_state();
            return run_apdu(m, m.abData, true);
        case ccid::chain::kBegins:
            clear_exchange_state();
            command_chaining_ = true;
            if (!append(m.abData)) return overflow();
            // "Send the next part": empty abData, bChainParameter 10h (6.2.1).
            return data_block(m, {}, ccid::chain::kEmptyContinue);
        case ccid::chain::kContinues:
            if (!command_chaining_) return fail(m, kOffsetLevelParameter);
            if (!append(m.abData)) return overflow();
            return data_block(m, {}, ccid::chain::kEmptyContinue);
        case ccid::chain::kEnds: {
            if (!command_chaining_) return fail(m, kOffsetLevelParameter);
            if (!append(m.abData)) return overflow();
            const Bytes apdu = std::move(command_parts_);
            clear_exchange_state();
            return run_apdu(m, apdu, true);
        }
        case ccid::chain::kEmptyContinue:
            if (response_rest_.empty() || !m.abData.empty()) return fail(m, kOffsetLevelParameter);
            return next_response_part(m);
        default: return fail(m, kOffsetLevelParameter);
    }
}

SlotOutcome ReaderSlot::xfr_character(const ccid::pc_to_rdr::XfrBlock& m) {
    const Bytes out = card_->on_reader_chars(m.abData, reader_link());
    const std::size_t room = kMaxCharBuffer - std::min(kMaxCharBuffer, char_rx_.size());
    char_rx_.insert(char_rx_.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(std::min(room, out.size())));
    // wLevelParameter: how many characters the host expects back (6.1.4, character level).
    const std::size_t wanted = m.wLevelParameter;
    if (wanted == 0) return data_block(m, {});
    if (wanted > max_payload()) return fail(m, kOffsetLevelParameter);
    if (char_rx_.size() < wanted) {
        // The card did not send that many characters before the waiting time ran out.
        char_rx_.clear();
        return fail(m, code::kIccMute);
    }
    Bytes data(char_rx_.begin(), char_rx_.begin() + static_cast<std::ptrdiff_t>(wanted));
    char_rx_.erase(char_rx_.begin(), char_rx_.begin() + static_cast<std::ptrdiff_t>(wanted));
    return data_block(m, std::move(data));
}

SlotOutcome ReaderSlot::secure(const ccid::pc_to_rdr::Secure& m) {
    const auto operation = m.pin_operation();
    if (m.wLevelParameter != ccid::chain::kBeginsAndEnds || !operation) return fail(m, code::kCommandNotSupported);
    const bool verify = *operation == ccid::PinOperation::Verify;
    const bool modify = *operation == ccid::PinOperation::Modify;
    if (!verify && !modify) return fail(m, kOffsetPinOperation);
    if ((verify && !meaning_.pin_verify) || (modify && !meaning_.pin_modify)) {
        return fail(m, code::kCommandNotSupported);
    }
    if (level_ == ccid::ExchangeLevel::Character || level_ == ccid::ExchangeLevel::Contradictory) {
        return fail(m, code::kCommandNotSupported);
    }
    if (auto refused = require_active(m)) return *refused;

    const auto structure_error = [&](ccid::PinStructureError e) {
        switch (e) {
            case ccid::PinStructureError::TooShort: return fail(m, kOffsetLength);
            case ccid::PinStructureError::ApduTooShort: return fail(m, kOffsetPinApdu);
            default: return fail(m, kOffsetPinOperation);
        }
    };
    std::expected<Bytes, PinPadError> apdu = std::unexpected(PinPadError::BadFormat);
    std::array<std::uint8_t, 3> prologue{};
    if (verify) {
        auto v = ccid::decode_secure_pin_verify(m.abData);
        if (!v) return structure_error(v.error());
        prologue = v->bTeoPrologue;
        if (config_.pinpad.action == PinPadAction::Enter) apdu = build_verify_apdu(*v, config_.pinpad.pin);
    } else {
        auto mo = ccid::decode_secure_pin_modify(m.abData);
        if (!mo) return structure_error(mo.error());
        prologue = mo->bTeoPrologue;
        if (config_.pinpad.action == PinPadAction::Enter) {
            apdu = build_modify_apdu(*mo, config_.pinpad.pin, config_.pinpad.new_pin);
        }
    }
    if (config_.pinpad.action == PinPadAction::Cancel) return fail(m, code::kPinCancelled);
    if (config_.pinpad.action == PinPadAction::Timeout) return fail(m, code::kPinTimeout);
    if (!apdu) {
        switch (apdu.error()) {
            // The pad never accepts a PIN of the wrong length: the user gives up.
            case PinPadError::PinLengthOutOfRange: return fail(m, code::kPinTimeout);
            case PinPadError::BadFormat: return fail(m, kOffsetFormatString);
            case PinPadError::TemplateTooShort: return fail(m, kOffsetPinApdu);
            case PinPadError::DoesNotFit: return fail(m, kOffsetPinBlockString);
        }
    }
    clock_stopped_ = false;
    if (level_ != ccid::ExchangeLevel::Tpdu) return run_apdu(m, *apdu, level_ == ccid::ExchangeLevel::ExtendedApdu);

    // TPDU level: the reader wraps the APDU itself. T=1: in an I-block whose NAD and PCB the
    // host gave in bTeoPrologue (it keeps the sequence numbers); T=0: as a case-3 TPDU.
    Bytes tpdu;
    const CardLink link = reader_link();
    if (link.protocol == 1) {
        if (apdu->size() > proto::kT1MaxInf) return fail(m, kOffsetPinBlockString);
        const auto* t1 = std::get_if<ccid::T1Parameters>(&params_);
        const proto::T1Edc edc = t1 && t1->uses_crc() ? proto::T1Edc::Crc : proto::T1Edc::Lrc;
        tpdu = {prologue[0], prologue[1], static_cast<std::uint8_t>(apdu->size())};
        tpdu.insert(tpdu.end(), apdu->begin(), apdu->end());
        proto::append_edc(tpdu, edc);
    } else {
        tpdu = std::move(*apdu);
        if (tpdu.size() == 4) tpdu.push_back(0x00);
    }
    auto answer = card_->transmit_tpdu(tpdu, link);
    if (!answer) return fail(m, slot_error_for(answer.error()));
    if (answer->size() > max_payload()) return fail(m, code::kXfrOverrun);
    return data_block(m, std::move(*answer));
}

}  // namespace ccidkit::sim

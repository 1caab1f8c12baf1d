// Encoding and decoding of the PC_to_RDR messages of CCID Rev 1.1 section 6.1.
#include "ccid/message_commands.h"
#include "ccid/message_framing.h"

#include <type_traits>

namespace ccidkit::ccid {

namespace {

using Specific = std::array<std::uint8_t, 3>;
constexpr Specific kNoSpecific{0, 0, 0};

Specific bwi_and_level(std::uint8_t bwi, std::uint16_t level) {
    return {bwi, static_cast<std::uint8_t>(level), static_cast<std::uint8_t>(level >> 8)};
}

std::uint16_t level_of(const Header& h) {
    return static_cast<std::uint16_t>(h.specific[1] | (h.specific[2] << 8));
}

// Secure starts a command (and carries bPINOperation) unless it continues an extended APDU (6.1.11).
bool secure_starts_command(std::uint16_t level) { return level == chain::kBeginsAndEnds || level == chain::kBegins; }

constexpr std::uint8_t kLastPinOperation = static_cast<std::uint8_t>(PinOperation::SendNextApduPart);

}  // namespace

std::optional<PinOperation> pc_to_rdr::Secure::pin_operation() const {
    if (!secure_starts_command(wLevelParameter) || abData.empty() || abData[0] > kLastPinOperation) {
        return std::nullopt;
    }
    return static_cast<PinOperation>(abData[0]);
}

Bytes encode(const pc_to_rdr::IccPowerOn& m) {
    return encode_message(MessageType::PcToRdrIccPowerOn, m.bSlot, m.bSeq,
                          {static_cast<std::uint8_t>(m.bPowerSelect), 0, 0});
}
Bytes encode(const pc_to_rdr::IccPowerOff& m) {
    return encode_message(MessageType::PcToRdrIccPowerOff, m.bSlot, m.bSeq, kNoSpecific);
}
Bytes encode(const pc_to_rdr::GetSlotStatus& m) {
    return encode_message(MessageType::PcToRdrGetSlotStatus, m.bSlot, m.bSeq, kNoSpecific);
}
Bytes encode(const pc_to_rdr::XfrBlock& m) {
    return encode_message(MessageType::PcToRdrXfrBlock, m.bSlot, m.bSeq, bwi_and_level(m.bBWI, m.wLevelParameter),
                          m.abData);
}
Bytes encode(const pc_to_rdr::GetParameters& m) {
    return encode_message(MessageType::PcToRdrGetParameters, m.bSlot, m.bSeq, kNoSpecific);
}
Bytes encode(const pc_to_rdr::ResetParameters& m) {
    return encode_message(MessageType::PcToRdrResetParameters, m.bSlot, m.bSeq, kNoSpecific);
}
Bytes encode(const pc_to_rdr::SetParameters& m) {
    return encode_message(MessageType::PcToRdrSetParameters, m.bSlot, m.bSeq, {protocol_num(m.parameters), 0, 0},
                          encode_protocol_data(m.parameters));
}
Bytes encode(const pc_to_rdr::Escape& m) {
    return encode_message(MessageType::PcToRdrEscape, m.bSlot, m.bSeq, kNoSpecific, m.abData);
}
Bytes encode(const pc_to_rdr::IccClock& m) {
    return encode_message(MessageType::PcToRdrIccClock, m.bSlot, m.bSeq,
                          {static_cast<std::uint8_t>(m.bClockCommand), 0, 0});
}
Bytes encode(const pc_to_rdr::T0Apdu& m) {
    return encode_message(MessageType::PcToRdrT0Apdu, m.bSlot, m.bSeq,
                          {m.bmChanges, m.bClassGetResponse, m.bClassEnvelope});
}
Bytes encode(const pc_to_rdr::Secure& m) {
    return encode_message(MessageType::PcToRdrSecure, m.bSlot, m.bSeq, bwi_and_level(m.bBWI, m.wLevelParameter),
                          m.abData);
}
Bytes encode(const pc_to_rdr::Mechanical& m) {
    return encode_message(MessageType::PcToRdrMechanical, m.bSlot, m.bSeq,
                          {static_cast<std::uint8_t>(m.bFunction), 0, 0});
}
Bytes encode(const pc_to_rdr::Abort& m) {
    return encode_message(MessageType::PcToRdrAbort, m.bSlot, m.bSeq, kNoSpecific);
}
Bytes encode(const pc_to_rdr::SetDataRateAndClockFrequency& m) {
    std::array<std::uint8_t, 8> payload{};
    store_le32(&payload[0], m.dwClockFrequency);
    store_le32(&payload[4], m.dwDataRate);
    return encode_message(MessageType::PcToRdrSetDataRateAndClockFrequency, m.bSlot, m.bSeq, kNoSpecific, payload);
}
Bytes encode(const Command& m) {
    return std::visit([](const auto& msg) { return encode(msg); }, m);
}

MessageType message_type(const Command& m) {
    return std::visit(
        [](const auto& msg) {
            using T = std::decay_t<decltype(msg)>;
            if constexpr (std::is_same_v<T, pc_to_rdr::IccPowerOn>) return MessageType::PcToRdrIccPowerOn;
            else if constexpr (std::is_same_v<T, pc_to_rdr::IccPowerOff>) return MessageType::PcToRdrIccPowerOff;
            else if constexpr (std::is_same_v<T, pc_to_rdr::GetSlotStatus>) return MessageType::PcToRdrGetSlotStatus;
            else if constexpr (std::is_same_v<T, pc_to_rdr::XfrBlock>) return MessageType::PcToRdrXfrBlock;
            else if constexpr (std::is_same_v<T, pc_to_rdr::GetParameters>) return MessageType::PcToRdrGetParameters;
            else if constexpr (std::is_same_v<T, pc_to_rdr::ResetParameters>)
                return MessageType::PcToRdrResetParameters;
            else if constexpr (std::is_same_v<T, pc_to_rdr::SetParameters>) return MessageType::PcToRdrSetParameters;
            else if constexpr (std::is_same_v<T, pc_to_rdr::Escape>) return MessageType::PcToRdrEscape;
            else if constexpr (std::is_same_v<T, pc_to_rdr::IccClock>) return MessageType::PcToRdrIccClock;
            else if constexpr (std::is_same_v<T, pc_to_rdr::T0Apdu>) return MessageType::PcToRdrT0Apdu;
            else if constexpr (std::is_same_v<T, pc_to_rdr::Secure>) return MessageType::PcToRdrSecure;
            else if constexpr (std::is_same_v<T, pc_to_rdr::Mechanical>) return MessageType::PcToRdrMechanical;
            else if constexpr (std::is_same_v<T, pc_to_rdr::Abort>) return MessageType::PcToRdrAbort;
            else return MessageType::PcToRdrSetDataRateAndClockFrequency;
        },
        m);
}

std::uint8_t slot_of(const Command& m) {
    return std::visit([](const auto& msg) { return msg.bSlot; }, m);
}
std::uint8_t seq_of(const Command& m) {
    return std::visit([](const auto& msg) { return msg.bSeq; }, m);
}

std::expected<Command, DecodeError> decode_command(ByteView message, std::size_t max_message_length) {
    const auto header = decode_header(message);
    if (!header) return std::unexpected(header.error());
    const auto type = to_message_type(header->bMessageType);
    if (!type) return std::unexpected(DecodeError::UnknownMessageType);
    if (pipe_of(*type) != Pipe::BulkOut) return std::unexpected(DecodeError::UnexpectedMessageType);
    const auto payload = checked_payload(*header, message, max_message_length);
    if (!payload) return std::unexpected(payload.error());

    const std::uint8_t slot = header->bSlot;
    const std::uint8_t seq = header->bSeq;
    const std::uint8_t first = header->specific[0];
    const ByteView data = *payload;
    const auto no_payload = [&data]() -> std::expected<void, DecodeError> {
        if (!data.empty()) return std::unexpected(DecodeError::PayloadNotEmpty);
        return {};
    };

    switch (*type) {
        case MessageType::PcToRdrIccPowerOn: {
            if (auto ok = no_payload(); !ok) return std::unexpected(ok.error());
            if (first > static_cast<std::uint8_t>(PowerSelect::V1_8)) {
                return std::unexpected(DecodeError::BadPowerSelect);
            }
            return pc_to_rdr::IccPowerOn{slot, seq, static_cast<PowerSelect>(first)};
        }
        case MessageType::PcToRdrIccPowerOff:
            if (auto ok = no_payload(); !ok) return std::unexpected(ok.error());
            return pc_to_rdr::IccPowerOff{slot, seq};
        case MessageType::PcToRdrGetSlotStatus:
            if (auto ok = no_payload(); !ok) return std::unexpected(ok.error());
            return pc_to_rdr::GetSlotStatus{slot, seq};
        case MessageType::PcToRdrXfrBlock:
            return pc_to_rdr::XfrBlock{slot, seq, first, level_of(*header), Bytes(data.begin(), data.end())};
        case MessageType::PcToRdrGetParameters:
            if (auto ok = no_payload(); !ok) return std::unexpected(ok.error());
            return pc_to_rdr::GetParameters{slot, seq};
        case MessageType::PcToRdrResetParameters:
            if (auto ok = no_payload(); !ok) return std::unexpected(ok.error());
            return pc_to_rdr::ResetParameters{slot, seq};
        case MessageType::PcToRdrSetParameters: {
            auto params = decode_protocol_data(first, data);
            if (!params) return std::unexpected(params.error());
            return pc_to_rdr::SetParameters{slot, seq, *params};
        }
        case MessageType::PcToRdrEscape: return pc_to_rdr::Escape{slot, seq, Bytes(data.begin(), data.end())};
        case MessageType::PcToRdrIccClock:
            if (auto ok = no_payload(); !ok) return std::unexpected(ok.error());
            if (first > static_cast<std::uint8_t>(ClockCommand::Stop)) {
                return std::unexpected(DecodeError::BadClockCommand);
            }
            return pc_to_rdr::IccClock{slot, seq, static_cast<ClockCommand>(first)};
        case MessageType::PcToRdrT0Apdu:
            if (auto ok = no_payload(); !ok) return std::unexpected(ok.error());
            return pc_to_rdr::T0Apdu{slot, seq, first, header->specific[1], header->specific[2]};
        case MessageType::PcToRdrSecure: {
            const std::uint16_t level = level_of(*header);
            if (secure_starts_command(level)) {
                if (data.empty()) return std::unexpected(DecodeError::MissingPinOperation);
                if (data[0] > kLastPinOperation) return std::unexpected(DecodeError::BadPinOperation);
            }
            return pc_to_rdr::Secure{slot, seq, first, level, Bytes(data.begin(), data.end())};
        }
        case MessageType::PcToRdrMechanical:
            if (auto ok = no_payload(); !ok) return std::unexpected(ok.error());
            if (first < static_cast<std::uint8_t>(MechanicalFunction::Accept) ||
                first > static_cast<std::uint8_t>(MechanicalFunction::Unlock)) {
                return std::unexpected(DecodeError::BadMechanicalFunction);
            }
            return pc_to_rdr::Mechanical{slot, seq, static_cast<MechanicalFunction>(first)};
        case MessageType::PcToRdrAbort:
            if (auto ok = no_payload(); !ok) return std::unexpected(ok.error());
            return pc_to_rdr::Abort{slot, seq};
        case MessageType::PcToRdrSetDataRateAndClockFrequency:
            if (data.size() != 8) return std::unexpected(DecodeError::BadPayloadLength);
            return pc_to_rdr::SetDataRateAndClockFrequency{slot, seq, load_le32(&data[0]), load_le32(&data[4])};
        default: break;
    }
    return std::unexpected(DecodeError::UnexpectedMessageType);
}

}  // namespace ccidkit::ccid

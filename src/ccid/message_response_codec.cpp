// Encoding and decoding of the RDR_to_PC bulk messages of CCID Rev 1.1 section 6.2.
#include <type_traits>

#include "ccid/message_framing.h"
#include "ccid/message_responses.h"

namespace ccidkit::ccid {

namespace {

// Bytes 7..9 of every RDR_to_PC bulk message: bStatus, bError, then one message-specific byte.
std::array<std::uint8_t, 3> status_bytes(const Status& s, std::uint8_t third) { return {s.bStatus, s.bError, third}; }

}  // namespace

rdr_to_pc::Parameters rdr_to_pc::make_parameters(std::uint8_t slot, std::uint8_t seq, Status status,
                                                 const ProtocolParameters& params) {
    return Parameters{slot, seq, status, protocol_num(params), encode_protocol_data(params)};
}

Bytes encode(const rdr_to_pc::DataBlock& m) {
    return encode_message(MessageType::RdrToPcDataBlock, m.bSlot, m.bSeq, status_bytes(m.status, m.bChainParameter),
                          m.abData);
}
Bytes encode(const rdr_to_pc::SlotStatus& m) {
    return encode_message(MessageType::RdrToPcSlotStatus, m.bSlot, m.bSeq, status_bytes(m.status, m.bClockStatus));
}
Bytes encode(const rdr_to_pc::Parameters& m) {
    return encode_message(MessageType::RdrToPcParameters, m.bSlot, m.bSeq, status_bytes(m.status, m.bProtocolNum),
                          m.abProtocolDataStructure);
}
Bytes encode(const rdr_to_pc::Escape& m) {
    return encode_message(MessageType::RdrToPcEscape, m.bSlot, m.bSeq, status_bytes(m.status, 0), m.abData);
}
Bytes encode(const rdr_to_pc::DataRateAndClockFrequency& m) {
    std::array<std::uint8_t, 8> payload{};
    store_le32(&payload[0], m.dwClockFrequency);
    store_le32(&payload[4], m.dwDataRate);
    return encode_message(MessageType::RdrToPcDataRateAndClockFrequency, m.bSlot, m.bSeq, status_bytes(m.status, 0),
                          payload);
}
Bytes encode(const Response& m) {
    return std::visit([](const auto& msg) { return encode(msg); }, m);
}

MessageType message_type(const Response& m) {
    return std::visit(
        [](const auto& msg) {
            using T = std::decay_t<decltype(msg)>;
            if constexpr (std::is_same_v<T, rdr_to_pc::DataBlock>) return MessageType::RdrToPcDataBlock;
            else if constexpr (std::is_same_v<T, rdr_to_pc::SlotStatus>) return MessageType::RdrToPcSlotStatus;
            else if constexpr (std::is_same_v<T, rdr_to_pc::Parameters>) return MessageType::RdrToPcParameters;
            else if constexpr (std::is_same_v<T, rdr_to_pc::Escape>) return MessageType::RdrToPcEscape;
            else return MessageType::RdrToPcDataRateAndClockFrequency;
        },
        m);
}

std::uint8_t slot_of(const Response& m) {
    return std::visit([](const auto& msg) { return msg.bSlot; }, m);
}
std::uint8_t seq_of(const Response& m) {
    return std::visit([](const auto& msg) { return msg.bSeq; }, m);
}
Status status_of(const Response& m) {
    return std::visit([](const auto& msg) { return msg.status; }, m);
}

std::expected<Response, DecodeError> decode_response(ByteView message, std::size_t max_message_length) {
    const auto header = decode_header(message);
    if (!header) return std::unexpected(header.error());
    const auto type = to_message_type(header->bMessageType);
    if (!type) return std::unexpected(DecodeError::UnknownMessageType);
    if (pipe_of(*type) != Pipe::BulkIn) return std::unexpected(DecodeError::UnexpectedMessageType);
    const auto payload = checked_payload(*header, message, max_message_length);
    if (!payload) return std::unexpected(payload.error());

    const std::uint8_t slot = header->bSlot;
    const std::uint8_t seq = header->bSeq;
    const Status status{header->specific[0], header->specific[1]};
    const std::uint8_t third = header->specific[2];
    const ByteView data = *payload;

    switch (*type) {
        case MessageType::RdrToPcDataBlock:
            return rdr_to_pc::DataBlock{slot, seq, status, third, Bytes(data.begin(), data.end())};
        case MessageType::RdrToPcSlotStatus:
            if (!data.empty()) return std::unexpected(DecodeError::PayloadNotEmpty);
            return rdr_to_pc::SlotStatus{slot, seq, status, third};
        case MessageType::RdrToPcParameters:
            return rdr_to_pc::Parameters{slot, seq, status, third, Bytes(data.begin(), data.end())};
        case MessageType::RdrToPcEscape: return rdr_to_pc::Escape{slot, seq, status, Bytes(data.begin(), data.end())};
        case MessageType::RdrToPcDataRateAndClockFrequency:
            if (data.empty() && status.command() == CommandStatus::Failed) {
                return rdr_to_pc::DataRateAndClockFrequency{slot, seq, status, 0, 0};
            }
            if (data.size() != 8) return std::unexpected(DecodeError::BadPayloadLength);
            return rdr_to_pc::DataRateAndClockFrequency{slot, seq, status, load_le32(&data[0]), load_le32(&data[4])};
        default: break;
    }
    return std::unexpected(DecodeError::UnexpectedMessageType);
}

}  // namespace ccidkit::ccid

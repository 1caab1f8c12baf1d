#include "sim/reader/reader_replies.h"

#include "ccid/slot_error.h"

namespace ccidkit::sim {

using ccid::MessageType;

ccid::MessageType reply_type_for(std::uint8_t command_type) {
    switch (command_type) {
        case static_cast<std::uint8_t>(MessageType::PcToRdrIccPowerOn):
        case static_cast<std::uint8_t>(MessageType::PcToRdrXfrBlock):
        case static_cast<std::uint8_t>(MessageType::PcToRdrSecure): return MessageType::RdrToPcDataBlock;
        case static_cast<std::uint8_t>(MessageType::PcToRdrGetParameters):
        case static_cast<std::uint8_t>(MessageType::PcToRdrResetParameters):
        case static_cast<std::uint8_t>(MessageType::PcToRdrSetParameters): return MessageType::RdrToPcParameters;
        case static_cast<std::uint8_t>(MessageType::PcToRdrEscape): return MessageType::RdrToPcEscape;
        case static_cast<std::uint8_t>(MessageType::PcToRdrSetDataRateAndClockFrequency):
            return MessageType::RdrToPcDataRateAndClockFrequency;
        default: return MessageType::RdrToPcSlotStatus;
    }
}

ccid::Response status_reply(std::uint8_t command_type, std::uint8_t slot, std::uint8_t seq, ccid::Status status) {
    switch (reply_type_for(command_type)) {
        case MessageType::RdrToPcDataBlock: return ccid::rdr_to_pc::DataBlock{slot, seq, status, 0, {}};
        case MessageType::RdrToPcParameters: return ccid::rdr_to_pc::Parameters{slot, seq, status, 0, {}};
        case MessageType::RdrToPcEscape: return ccid::rdr_to_pc::Escape{slot, seq, status, {}};
        case MessageType::RdrToPcDataRateAndClockFrequency:
            return ccid::rdr_to_pc::DataRateAndClockFrequency{slot, seq, status, 0, 0};
        default: return ccid::rdr_to_pc::SlotStatus{slot, seq, status, 0};
    }
}

std::uint8_t slot_error_for(CardError e) {
    namespace code = ccid::slot_error_code;
    switch (e) {
        case CardError::NotActive:
        case CardError::Mute:
        case CardError::WrongProtocol: return code::kIccMute;
        case CardError::ClassNotSupported: return code::kIccClassNotSupported;
        case CardError::WrongParameters:
        case CardError::ProtocolFailure: return code::kXfrParityError;
        case CardError::ProcedureByteConflict: return code::kProcedureByteConflict;
        case CardError::BadTpdu:
        case CardError::BadApdu: return 10;  // abData[0]: the TPDU / APDU itself is refused
    }
    return code::kHwError;
}

}  // namespace ccidkit::sim

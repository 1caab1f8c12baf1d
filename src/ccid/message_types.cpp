#include "ccid/message_types.h"

namespace ccidkit::ccid {

std::optional<MessageType> to_message_type(std::uint8_t byte) {
    switch (static_cast<MessageType>(byte)) {
        case MessageType::PcToRdrSetParameters:
        case MessageType::PcToRdrIccPowerOn:
        case MessageType::PcToRdrIccPowerOff:
        case MessageType::PcToRdrGetSlotStatus:
        case MessageType::PcToRdrSecure:
        case MessageType::PcToRdrT0Apdu:
        case MessageType::PcToRdrEscape:
        case MessageType::PcToRdrGetParameters:
        case MessageType::PcToRdrResetParameters:
        case MessageType::PcToRdrIccClock:
        case MessageType::PcToRdrXfrBlock:
        case MessageType::PcToRdrMechanical:
        case MessageType::PcToRdrAbort:
        case MessageType::PcToRdrSetDataRateAndClockFrequency:
        case MessageType::RdrToPcDataBlock:
        case MessageType::RdrToPcSlotStatus:
        case MessageType::RdrToPcParameters:
        case MessageType::RdrToPcEscape:
        case MessageType::RdrToPcDataRateAndClockFrequency:
        case MessageType::RdrToPcNotifySlotChange:
        case MessageType::RdrToPcHardwareError:
            return static_cast<MessageType>(byte);
    }
    return std::nullopt;
}

Pipe pipe_of(MessageType type) {
    const auto byte = static_cast<std::uint8_t>(type);
    if (byte >= 0x80) return Pipe::BulkIn;
    if (byte >= 0x60) return Pipe::BulkOut;
    return Pipe::InterruptIn;
}

std::string_view message_type_name(MessageType type) {
    switch (type) {
        case MessageType::PcToRdrSetParameters: return "PC_to_RDR_SetParameters";
        case MessageType::PcToRdrIccPowerOn: return "PC_to_RDR_IccPowerOn";
        case MessageType::PcToRdrIccPowerOff: return "PC_to_RDR_IccPowerOff";
        case MessageType::PcToRdrGetSlotStatus: return "PC_to_RDR_GetSlotStatus";
        case MessageType::PcToRdrSecure: return "PC_to_RDR_Secure";
        case MessageType::PcToRdrT0Apdu: return "PC_to_RDR_T0APDU";
        case MessageType::PcToRdrEscape: return "PC_to_RDR_Escape";
        case MessageType::PcToRdrGetParameters: return "PC_to_RDR_GetParameters";
        case MessageType::PcToRdrResetParameters: return "PC_to_RDR_ResetParameters";
        case MessageType::PcToRdrIccClock: return "PC_to_RDR_IccClock";
        case MessageType::PcToRdrXfrBlock: return "PC_to_RDR_XfrBlock";
        case MessageType::PcToRdrMechanical: return "PC_to_RDR_Mechanical";
        case MessageType::PcToRdrAbort: return "PC_to_RDR_Abort";
        case MessageType::PcToRdrSetDataRateAndClockFrequency: return "PC_to_RDR_SetDataRateAndClockFrequency";
        case MessageType::RdrToPcDataBlock: return "RDR_to_PC_DataBlock";
        case MessageType::RdrToPcSlotStatus: return "RDR_to_PC_SlotStatus";
        case MessageType::RdrToPcParameters: return "RDR_to_PC_Parameters";
        case MessageType::RdrToPcEscape: return "RDR_to_PC_Escape";
        case MessageType::RdrToPcDataRateAndClockFrequency: return "RDR_to_PC_DataRateAndClockFrequency";
        case MessageType::RdrToPcNotifySlotChange: return "RDR_to_PC_NotifySlotChange";
        case MessageType::RdrToPcHardwareError: return "RDR_to_PC_HardwareError";
    }
    return "unknown CCID message";
}

std::string_view to_string(PowerSelect v) {
    switch (v) {
        case PowerSelect::Automatic: return "automatic voltage selection";
        case PowerSelect::V5_0: return "5.0 V";
        case PowerSelect::V3_0: return "3.0 V";
        case PowerSelect::V1_8: return "1.8 V";
    }
    return "undefined voltage selection";
}

std::string_view to_string(IccStatus v) {
    switch (v) {
        case IccStatus::PresentActive: return "card present and active";
        case IccStatus::PresentInactive: return "card present and inactive";
        case IccStatus::Absent: return "no card present";
        case IccStatus::Rfu: return "reserved card status 3";
    }
    return "undefined card status";
}

std::string_view to_string(CommandStatus v) {
    switch (v) {
        case CommandStatus::Ok: return "processed without error";
        case CommandStatus::Failed: return "failed";
        case CommandStatus::TimeExtension: return "time extension requested";
        case CommandStatus::Rfu: return "reserved command status 3";
    }
    return "undefined command status";
}

std::string_view to_string(ClockStatus v) {
    switch (v) {
        case ClockStatus::Running: return "clock running";
        case ClockStatus::StoppedLow: return "clock stopped in state L";
        case ClockStatus::StoppedHigh: return "clock stopped in state H";
        case ClockStatus::StoppedUnknown: return "clock stopped in an unknown state";
    }
    return "undefined clock status";
}

std::string_view to_string(ClockCommand v) {
    switch (v) {
        case ClockCommand::Restart: return "restart clock";
        case ClockCommand::Stop: return "stop clock";
    }
    return "undefined clock command";
}

std::string_view to_string(MechanicalFunction v) {
    switch (v) {
        case MechanicalFunction::Accept: return "accept card";
        case MechanicalFunction::Eject: return "eject card";
        case MechanicalFunction::Capture: return "capture card";
        case MechanicalFunction::Lock: return "lock card";
        case MechanicalFunction::Unlock: return "unlock card";
    }
    return "undefined mechanical function";
}

std::string_view to_string(PinOperation v) {
    switch (v) {
        case PinOperation::Verify: return "PIN verification";
        case PinOperation::Modify: return "PIN modification";
        case PinOperation::TransferPin: return "transfer PIN from secure cache";
        case PinOperation::WaitIccResponse: return "wait for card response and send it back";
        case PinOperation::Cancel: return "cancel PIN function";
        case PinOperation::ResendIBlock: return "re-send last I-block";
        case PinOperation::SendNextApduPart: return "send next part of APDU";
    }
    return "undefined PIN operation";
}

std::string_view to_string(HardwareErrorCode v) {
    switch (v) {
        case HardwareErrorCode::Overcurrent: return "overcurrent";
    }
    return "undefined hardware error";
}

}  // namespace ccidkit::ccid

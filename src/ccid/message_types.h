// Wire-level vocabulary of the USB CCID class (CCID Rev 1.1 sections 6.1, 6.2, 6.3): message
// type bytes and the enumerated values carried in message headers. Field names in the message
// structs follow the specification (bSlot, dwLength, ...) so they can be checked against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ccidkit::ccid {

// Every bulk message starts with the same 10-byte header: bMessageType, dwLength (LE),
// bSlot, bSeq and three message-specific bytes (6.1, 6.2).
inline constexpr std::size_t kHeaderSize = 10;

// bMaxSlotIndex is a byte (5.1), so a reader has at most 256 slots.
inline constexpr std::size_t kMaxSlots = 256;

enum class MessageType : std::uint8_t {
    // Bulk-OUT, PC_to_RDR (6.1)
    PcToRdrSetParameters = 0x61,
    PcToRdrIccPowerOn = 0x62,
    PcToRdrIccPowerOff = 0x63,
    PcToRdrGetSlotStatus = 0x65,
    PcToRdrSecure = 0x69,
    PcToRdrT0Apdu = 0x6A,
    PcToRdrEscape = 0x6B,
    PcToRdrGetParameters = 0x6C,
    PcToRdrResetParameters = 0x6D,
    PcToRdrIccClock = 0x6E,
    PcToRdrXfrBlock = 0x6F,
    PcToRdrMechanical = 0x71,
    PcToRdrAbort = 0x72,
    PcToRdrSetDataRateAndClockFrequency = 0x73,
    // Bulk-IN, RDR_to_PC (6.2)
    RdrToPcDataBlock = 0x80,
    RdrToPcSlotStatus = 0x81,
    RdrToPcParameters = 0x82,
    RdrToPcEscape = 0x83,
    RdrToPcDataRateAndClockFrequency = 0x84,
    // Interrupt-IN (6.3)
    RdrToPcNotifySlotChange = 0x50,
    RdrToPcHardwareError = 0x51,
};

// Which pipe a message travels on (5.2 endpoints).
enum class Pipe { BulkOut, BulkIn, InterruptIn };

// nullopt for a byte that is not a CCID 1.1 message type.
std::optional<MessageType> to_message_type(std::uint8_t byte);
Pipe pipe_of(MessageType type);
// The specification's name, e.g. "PC_to_RDR_XfrBlock".
std::string_view message_type_name(MessageType type);

// PC_to_RDR_IccPowerOn bPowerSelect (6.1.1).
enum class PowerSelect : std::uint8_t { Automatic = 0, V5_0 = 1, V3_0 = 2, V1_8 = 3 };

// bStatus bits 0-1 (6.2.6).
enum class IccStatus : std::uint8_t { PresentActive = 0, PresentInactive = 1, Absent = 2, Rfu = 3 };

// bStatus bits 6-7 (6.2.6).
enum class CommandStatus : std::uint8_t { Ok = 0, Failed = 1, TimeExtension = 2, Rfu = 3 };

// RDR_to_PC_SlotStatus bClockStatus (6.2.2).
enum class ClockStatus : std::uint8_t { Running = 0, StoppedLow = 1, StoppedHigh = 2, StoppedUnknown = 3 };

// PC_to_RDR_IccClock bClockCommand (6.1.9).
enum class ClockCommand : std::uint8_t { Restart = 0, Stop = 1 };

// PC_to_RDR_Mechanical bFunction (6.1.12).
enum class MechanicalFunction : std::uint8_t { Accept = 1, Eject = 2, Capture = 3, Lock = 4, Unlock = 5 };

// PC_to_RDR_Secure abData[0] when the message starts a command (6.1.11).
enum class PinOperation : std::uint8_t {
    Verify = 0,
    Modify = 1,
    TransferPin = 2,
    WaitIccResponse = 3,
    Cancel = 4,
    ResendIBlock = 5,
    SendNextApduPart = 6,
};

// bProtocolNum of Set/GetParameters (6.1.7, 6.2.3).
enum class ProtocolNum : std::uint8_t { T0 = 0, T1 = 1 };

// RDR_to_PC_HardwareError bHardwareErrorCode (6.3.2).
enum class HardwareErrorCode : std::uint8_t { Overcurrent = 0x01 };

// wLevelParameter of XfrBlock/Secure (6.1.4) and bChainParameter of DataBlock (6.2.1) share
// these codes for extended-APDU chaining; they are kept as raw integers in the messages.
namespace chain {
inline constexpr std::uint8_t kBeginsAndEnds = 0x00;
inline constexpr std::uint8_t kBegins = 0x01;
inline constexpr std::uint8_t kEnds = 0x02;
inline constexpr std::uint8_t kContinues = 0x03;
inline constexpr std::uint8_t kEmptyContinue = 0x10;  // empty abData, "send the next part"
}  // namespace chain

std::string_view to_string(PowerSelect v);
std::string_view to_string(IccStatus v);
std::string_view to_string(CommandStatus v);
std::string_view to_string(ClockStatus v);
std::string_view to_string(ClockCommand v);
std::string_view to_string(MechanicalFunction v);
std::string_view to_string(PinOperation v);
std::string_view to_string(HardwareErrorCode v);

}  // namespace ccidkit::ccid

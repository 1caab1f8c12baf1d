// What the bits of a CCID class descriptor mean (CCID Rev 1.1 section 5.1), and a text
// rendering of the whole descriptor for `ccidctl info`.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ccid/descriptor.h"

namespace ccidkit::ccid {

// bVoltageSupport bits.
inline constexpr std::uint8_t kVoltage5V = 0x01;
inline constexpr std::uint8_t kVoltage3V = 0x02;
inline constexpr std::uint8_t kVoltage1V8 = 0x04;

// dwProtocols bits.
inline constexpr std::uint32_t kProtocolT0 = 0x00000001;
inline constexpr std::uint32_t kProtocolT1 = 0x00000002;

// dwSynchProtocols bits (added to CCID 1.1 for synchronous cards).
inline constexpr std::uint32_t kSynch2Wire = 0x00000001;
inline constexpr std::uint32_t kSynch3Wire = 0x00000002;
inline constexpr std::uint32_t kSynchI2C = 0x00000004;

// dwMechanical bits.
inline constexpr std::uint32_t kMechanicalAccept = 0x00000001;
inline constexpr std::uint32_t kMechanicalEject = 0x00000002;
inline constexpr std::uint32_t kMechanicalCapture = 0x00000004;
inline constexpr std::uint32_t kMechanicalLock = 0x00000008;

// bPINSupport bits.
inline constexpr std::uint8_t kPinVerify = 0x01;
inline constexpr std::uint8_t kPinModify = 0x02;

// The single-bit capabilities of dwFeatures. The exchange level (bits 16-18) is a separate
// field, see ExchangeLevel.
enum class Feature : std::uint32_t {
    AutoConfigFromAtr = 0x00000002,       // parameters set from the ATR by the reader
    AutoActivation = 0x00000004,          // card powered as soon as it is inserted
    AutoVoltage = 0x00000008,             // reader picks the card voltage
    AutoClock = 0x00000010,               // reader changes the clock to the active parameters
    AutoBaud = 0x00000020,                // reader changes the baud rate to the active parameters
    AutoParameterNegotiation = 0x00000040, // proprietary negotiation: host must not change Fi/Di/protocol
    AutoPps = 0x00000080,                 // reader does PPS with the active parameters
    ClockStop = 0x00000100,               // card clock can be stopped
    NadOtherThanZero = 0x00000200,        // T=1 NAD other than 00 accepted
    AutoIfsd = 0x00000400,                // reader sends S(IFS request) itself first (T=1)
    IccdToken = 0x00000800,               // ICCD specification bit (token, not a reader)
    UsbWakeUp = 0x00100000,               // remote wake-up on card insertion/removal
};

inline constexpr std::array kAllFeatures = {
    Feature::AutoConfigFromAtr, Feature::AutoActivation,  Feature::AutoVoltage,
    Feature::AutoClock,         Feature::AutoBaud,        Feature::AutoParameterNegotiation,
    Feature::AutoPps,           Feature::ClockStop,       Feature::NadOtherThanZero,
    Feature::AutoIfsd,          Feature::IccdToken,       Feature::UsbWakeUp,
};

std::string_view to_string(Feature f);

inline constexpr std::uint32_t kExchangeLevelMask = 0x00070000;
inline constexpr std::uint32_t kLevelTpdu = 0x00010000;
inline constexpr std::uint32_t kLevelShortApdu = 0x00020000;
inline constexpr std::uint32_t kLevelExtendedApdu = 0x00040000;

enum class ExchangeLevel {
    Character,     // no level bit: host drives T=0/T=1 byte by byte
    Tpdu,          // host runs T=0/T=1, reader moves whole TPDUs
    ShortApdu,     // reader runs the protocol, APDUs up to 261 bytes
    ExtendedApdu,  // reader runs the protocol, extended APDUs chained over several messages
    Contradictory, // more than one level bit set (values 3, 5, 6, 7)
};

std::string_view to_string(ExchangeLevel level);
ExchangeLevel exchange_level(std::uint32_t dwFeatures);

// Every dwFeatures bit that CCID 1.1 (plus ICCD) defines.
std::uint32_t known_feature_bits();

struct DescriptorMeaning {
    unsigned slot_count = 1;
    bool voltage_5v = false, voltage_3v = false, voltage_1v8 = false;
    std::uint8_t reserved_voltage_bits = 0;
    bool t0 = false, t1 = false;
    std::uint32_t reserved_protocol_bits = 0;
    bool synch_2wire = false, synch_3wire = false, synch_i2c = false;
    std::uint32_t reserved_synch_bits = 0;
    bool mech_accept = false, mech_eject = false, mech_capture = false, mech_lock = false;
    std::uint32_t reserved_mechanical_bits = 0;
    std::uint32_t feature_bits = 0;  // dwFeatures without the level field
    ExchangeLevel level = ExchangeLevel::Character;
    std::uint32_t reserved_feature_bits = 0;
    bool get_response_echoes_class = false;  // bClassGetResponse == 0xFF
    bool envelope_echoes_class = false;      // bClassEnvelope == 0xFF
    unsigned lcd_lines = 0, lcd_columns = 0;
    bool pin_verify = false, pin_modify = false;
    std::uint8_t reserved_pin_bits = 0;

    bool has(Feature f) const { return (feature_bits & static_cast<std::uint32_t>(f)) != 0; }
};

DescriptorMeaning interpret(const CcidDescriptor& d);

// "1.10" for 0x0110: binary-coded decimal versions are printed digit by digit.
std::string format_bcd_version(std::uint16_t bcd);

// The descriptor as human-readable lines, one field per line followed by indented lines for
// each meaning (the layout of libccid's `parse`, in our own words).
std::vector<std::string> describe_descriptor(const CcidDescriptor& d);

}  // namespace ccidkit::ccid

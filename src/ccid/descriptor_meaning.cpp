#include "ccid/descriptor_meaning.h"

#include <fmt/format.h>

namespace ccidkit::ccid {

std::string_view to_string(Feature f) {
    switch (f) {
        case Feature::AutoConfigFromAtr: return "automatic parameter configuration from the ATR";
        case Feature::AutoActivation: return "automatic activation of the card on insertion";
        case Feature::AutoVoltage: return "automatic card voltage selection";
        case Feature::AutoClock: return "automatic clock change to the active parameters";
        case Feature::AutoBaud: return "automatic baud rate change to the active parameters";
        case Feature::AutoParameterNegotiation:
            return "automatic parameter negotiation by the reader (proprietary)";
        case Feature::AutoPps: return "automatic PPS by the reader with the active parameters";
        case Feature::ClockStop: return "card clock can be stopped";
        case Feature::NadOtherThanZero: return "NAD other than 00 accepted (T=1)";
        case Feature::AutoIfsd: return "automatic IFSD exchange as first exchange (T=1)";
        case Feature::IccdToken: return "ICCD token";
        case Feature::UsbWakeUp: return "USB remote wake-up on card insertion and removal";
    }
    return "unknown feature";
}

std::string_view to_string(ExchangeLevel level) {
    switch (level) {
        case ExchangeLevel::Character: return "character level exchange";
        case ExchangeLevel::Tpdu: return "TPDU level exchange";
        case ExchangeLevel::ShortApdu: return "short APDU level exchange";
        case ExchangeLevel::ExtendedApdu: return "short and extended APDU level exchange";
        case ExchangeLevel::Contradictory: return "contradictory exchange level (several level bits set)";
    }
    return "unknown exchange level";
}

ExchangeLevel exchange_level(std::uint32_t dwFeatures) {
    switch (dwFeatures & kExchangeLevelMask) {
        case 0: return ExchangeLevel::Character;
        case kLevelTpdu: return ExchangeLevel::Tpdu;
        case kLevelShortApdu: return ExchangeLevel::ShortApdu;
        case kLevelExtendedApdu: return ExchangeLevel::ExtendedApdu;
        default: return ExchangeLevel::Contradictory;
    }
}

std::uint32_t known_feature_bits() {
    std::uint32_t bits = kExchangeLevelMask;
    for (const Feature f : kAllFeatures) bits |= static_cast<std::uint32_t>(f);
    return bits;
}

DescriptorMeaning interpret(const CcidDescriptor& d) {
    DescriptorMeaning m;
    m.slot_count = static_cast<unsigned>(d.bMaxSlotIndex) + 1;
    m.voltage_5v = (d.bVoltageSupport & kVoltage5V) != 0;
    m.voltage_3v = (d.bVoltageSupport & kVoltage3V) != 0;
    m.voltage_1v8 = (d.bVoltageSupport & kVoltage1V8) != 0;
    m.reserved_voltage_bits = static_cast<std::uint8_t>(d.bVoltageSupport & ~(kVoltage5V | kVoltage3V | kVoltage1V8));
    m.t0 = (d.dwProtocols & kProtocolT0) != 0;
    m.t1 = (d.dwProtocols & kProtocolT1) != 0;
    m.reserved_protocol_bits = d.dwProtocols & ~(kProtocolT0 | kProtocolT1);
    m.synch_2wire = (d.dwSynchProtocols & kSynch2Wire) != 0;
    m.synch_3wire = (d.dwSynchProtocols & kSynch3Wire) != 0;
    m.synch_i2c = (d.dwSynchProtocols & kSynchI2C) != 0;
    m.reserved_synch_bits = d.dwSynchProtocols & ~(kSynch2Wire | kSynch3Wire | kSynchI2C);
    m.mech_accept = (d.dwMechanical & kMechanicalAccept) != 0;
    m.mech_eject = (d.dwMechanical & kMechanicalEject) != 0;
    m.mech_capture = (d.dwMechanical & kMechanicalCapture) != 0;
    m.mech_lock = (d.dwMechanical & kMechanicalLock) != 0;
    m.reserved_mechanical_bits =
        d.dwMechanical & ~(kMechanicalAccept | kMechanicalEject | kMechanicalCapture | kMechanicalLock);
    m.level = exchange_level(d.dwFeatures);
    m.feature_bits = d.dwFeatures & known_feature_bits() & ~kExchangeLevelMask;
    m.reserved_feature_bits = d.dwFeatures & ~known_feature_bits();
    m.get_response_echoes_class = d.bClassGetResponse == 0xFF;
    m.envelope_echoes_class = d.bClassEnvelope == 0xFF;
    // wLcdLayout: high byte = number of lines, low byte = characters per line (5.1).
    m.lcd_lines = d.wLcdLayout >> 8;
    m.lcd_columns = d.wLcdLayout & 0xFF;
    m.pin_verify = (d.bPINSupport & kPinVerify) != 0;
    m.pin_modify = (d.bPINSupport & kPinModify) != 0;
    m.reserved_pin_bits = static_cast<std::uint8_t>(d.bPINSupport & ~(kPinVerify | kPinModify));
    return m;
}

std::string format_bcd_version(std::uint16_t bcd) {
    return fmt::format("{:X}.{:02X}", bcd >> 8, bcd & 0xFF);
}

namespace {

std::string format_khz(std::uint32_t khz) {
    return fmt::format("{} kHz ({}.{:03} MHz)", khz, khz / 1000, khz % 1000);
}

std::string class_byte_meaning(std::uint8_t value) {
    return value == 0xFF ? "echoes the class byte of the APDU" : fmt::format("class byte 0x{:02X}", value);
}

}  // namespace

std::vector<std::string> describe_descriptor(const CcidDescriptor& d) {
    const DescriptorMeaning m = interpret(d);
    std::vector<std::string> out;
    auto line = [&out](std::string text) { out.push_back(std::move(text)); };
    auto item = [&out](std::string_view text) { out.push_back(fmt::format("  {}", text)); };

    line(fmt::format("bLength: {}{}", d.bLength,
                     d.trailing.empty() ? "" : fmt::format(" ({} bytes after the standard 54)", d.trailing.size())));
    line(fmt::format("bDescriptorType: 0x{:02X}{}", d.bDescriptorType,
                     d.bDescriptorType == kVendorCcidDescriptorType ? " (vendor-specific, pre-CCID 1.0)" : ""));
    line(fmt::format("bcdCCID: {}", format_bcd_version(d.bcdCCID)));
    line(fmt::format("bMaxSlotIndex: {} ({} slot{})", d.bMaxSlotIndex, m.slot_count, m.slot_count == 1 ? "" : "s"));

    line(fmt::format("bVoltageSupport: 0x{:02X}", d.bVoltageSupport));
    if (m.voltage_5v) item("5.0 V (class A)");
    if (m.voltage_3v) item("3.0 V (class B)");
    if (m.voltage_1v8) item("1.8 V (class C)");
    if (m.reserved_voltage_bits) item(fmt::format("reserved bits 0x{:02X}", m.reserved_voltage_bits));

    line(fmt::format("dwProtocols: 0x{:08X}", d.dwProtocols));
    if (m.t0) item("T=0");
    if (m.t1) item("T=1");
    if (m.reserved_protocol_bits) item(fmt::format("reserved bits 0x{:08X}", m.reserved_protocol_bits));

    line(fmt::format("dwDefaultClock: {}", format_khz(d.dwDefaultClock)));
    line(fmt::format("dwMaximumClock: {}", format_khz(d.dwMaximumClock)));
    line(fmt::format("bNumClockSupported: {}{}", d.bNumClockSupported,
                     d.bNumClockSupported == 0 ? " (only default and maximum; ask GET_CLOCK_FREQUENCIES)" : ""));
    line(fmt::format("dwDataRate: {} bps", d.dwDataRate));
    line(fmt::format("dwMaxDataRate: {} bps", d.dwMaxDataRate));
    line(fmt::format("bNumDataRatesSupported: {}{}", d.bNumDataRatesSupported,
                     d.bNumDataRatesSupported == 0 ? " (any rate in range; ask GET_DATA_RATES)" : ""));
    line(fmt::format("dwMaxIFSD: {}", d.dwMaxIFSD));

    line(fmt::format("dwSynchProtocols: 0x{:08X}", d.dwSynchProtocols));
    if (m.synch_2wire) item("2-wire protocol");
    if (m.synch_3wire) item("3-wire protocol");
    if (m.synch_i2c) item("I2C protocol");
    if (m.reserved_synch_bits) item(fmt::format("reserved bits 0x{:08X}", m.reserved_synch_bits));

    line(fmt::format("dwMechanical: 0x{:08X}", d.dwMechanical));
    if (d.dwMechanical == 0) item("no special characteristics");
    if (m.mech_accept) item("card accept mechanism");
    if (m.mech_eject) item("card ejection mechanism");
    if (m.mech_capture) item("card capture mechanism");
    if (m.mech_lock) item("card lock/unlock mechanism");
    if (m.reserved_mechanical_bits) item(fmt::format("reserved bits 0x{:08X}", m.reserved_mechanical_bits));

    line(fmt::format("dwFeatures: 0x{:08X}", d.dwFeatures));
    for (const Feature f : kAllFeatures)
        if (m.has(f)) item(fmt::format("0x{:08X} {}", static_cast<std::uint32_t>(f), to_string(f)));
    item(fmt::format("0x{:08X} {}", d.dwFeatures & kExchangeLevelMask, to_string(m.level)));
    if (m.reserved_feature_bits) item(fmt::format("reserved bits 0x{:08X}", m.reserved_feature_bits));

    line(fmt::format("dwMaxCCIDMessageLength: {} bytes", d.dwMaxCCIDMessageLength));
    line(fmt::format("bClassGetResponse: 0x{:02X} ({})", d.bClassGetResponse, class_byte_meaning(d.bClassGetResponse)));
    line(fmt::format("bClassEnvelope: 0x{:02X} ({})", d.bClassEnvelope, class_byte_meaning(d.bClassEnvelope)));
    line(fmt::format("wLcdLayout: 0x{:04X}{}", d.wLcdLayout,
                     d.wLcdLayout == 0 ? std::string(" (no LCD)")
                                       : fmt::format(" ({} lines of {} characters)", m.lcd_lines, m.lcd_columns)));
    line(fmt::format("bPINSupport: 0x{:02X}", d.bPINSupport));
    if (m.pin_verify) item("PIN verification");
    if (m.pin_modify) item("PIN modification");
    if (m.reserved_pin_bits) item(fmt::format("reserved bits 0x{:02X}", m.reserved_pin_bits));
    line(fmt::format("bMaxCCIDBusySlots: {}", d.bMaxCCIDBusySlots));
    return out;
}

}  // namespace ccidkit::ccid

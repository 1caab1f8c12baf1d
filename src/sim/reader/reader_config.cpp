#include "sim/reader/reader_config.h"

#include "ccid/message_types.h"

namespace ccidkit::sim {

ccid::ExchangeLevel simulated_level(const ccid::CcidDescriptor& d) {
    const ccid::ExchangeLevel level = ccid::exchange_level(d.dwFeatures);
    return level == ccid::ExchangeLevel::Contradictory ? ccid::ExchangeLevel::Character : level;
}

ReaderSimConfig make_reader_config(ccid::ExchangeLevel level, unsigned slots) {
    ReaderSimConfig config;
    ccid::CcidDescriptor& d = config.descriptor;
    const unsigned n = slots == 0 ? 1 : (slots > ccid::kMaxSlots ? ccid::kMaxSlots : slots);
    d.bMaxSlotIndex = static_cast<std::uint8_t>(n - 1);
    d.bMaxCCIDBusySlots = static_cast<std::uint8_t>(n);
    // Automatic parameter configuration from the ATR, voltage, clock, baud rate and PPS
    // (00BAh), the usual set of commercial readers; the level bits come on top.
    constexpr std::uint32_t kAuto = 0x000000BA;
    switch (level) {
        case ccid::ExchangeLevel::Tpdu: d.dwFeatures = kAuto | ccid::kLevelTpdu; break;
        case ccid::ExchangeLevel::ShortApdu: d.dwFeatures = kAuto | 0x00000400 | ccid::kLevelShortApdu; break;
        case ccid::ExchangeLevel::ExtendedApdu:
            d.dwFeatures = kAuto | 0x00000400 | ccid::kLevelExtendedApdu;
            break;
        case ccid::ExchangeLevel::Character:
        case ccid::ExchangeLevel::Contradictory: d.dwFeatures = kAuto; break;
    }
    d.dwMaxCCIDMessageLength = 271;
    return config;
}

std::expected<ReaderSimConfig, ccid::DescriptorError> reader_config_from_descriptor(ByteView descriptor) {
    auto decoded = ccid::decode_ccid_descriptor(descriptor);
    if (!decoded) return std::unexpected(decoded.error());
    ReaderSimConfig config;
    config.descriptor = std::move(*decoded);
    return config;
}

ReaderSimConfig reader_config_from_corpus(const CorpusInterface& record) {
    ReaderSimConfig config;
    config.descriptor = record.descriptor;
    config.vendor_id = record.device.vendor_id;
    config.product_id = record.device.product_id;
    config.bcd_device = record.device.bcd_device;
    config.manufacturer = record.device.manufacturer.value_or("");
    config.product = record.device.product.value_or("");
    config.serial.clear();
    config.interface_number = record.bInterfaceNumber;
    // CCID 5.2: bulk-OUT, bulk-IN and, when there are three endpoints, interrupt-IN.
    config.has_interrupt = record.bNumEndpoints >= 3;
    // Printed as signed 32-bit integers by `parse`; the field's bits are what the reader sent.
    for (const std::int32_t v : record.clock_frequencies_khz) {
        config.clocks_khz.push_back(static_cast<std::uint32_t>(v));
    }
    for (const std::int32_t v : record.data_rates_bps) config.data_rates_bps.push_back(static_cast<std::uint32_t>(v));
    return config;
}

}  // namespace ccidkit::sim

#include "sim/reader_corpus_usb.h"

#include <algorithm>

namespace ccidkit::sim {

namespace {

constexpr std::uint16_t kBulkPacketSize = 64;  // full speed

// RDR_to_PC_NotifySlotChange: 1 byte of type + 2 bits per slot (CCID 1.1 section 6.3.1).
std::uint16_t interrupt_packet_size(const CorpusInterface& record) {
    const unsigned slots = record.descriptor.bMaxSlotIndex + 1u;
    return static_cast<std::uint16_t>(std::max(8u, 1 + (2 * slots + 7) / 8));
}

ccid::UsbEndpoint endpoint(std::uint8_t address, ccid::UsbTransferType type, std::uint16_t packet,
                           std::uint8_t interval) {
    ccid::UsbEndpoint ep;
    ep.bEndpointAddress = address;
    ep.bmAttributes = static_cast<std::uint8_t>(type);
    ep.wMaxPacketSize = packet;
    ep.bInterval = interval;
    return ep;
}

}  // namespace

ccid::UsbConfiguration make_usb_configuration(std::span<const CorpusInterface> records,
                                              DescriptorPlacement placement) {
    ccid::UsbConfiguration config;
    unsigned next_endpoint = 1;
    auto take_number = [&next_endpoint] {
        const auto n = static_cast<std::uint8_t>(next_endpoint);
        next_endpoint = next_endpoint % 15 + 1;  // endpoint numbers 1..15
        return n;
    };
    for (const CorpusInterface& record : records) {
        ccid::UsbAltSetting alt;
        alt.bInterfaceNumber = record.bInterfaceNumber;
        alt.bAlternateSetting = record.bAlternateSetting;
        alt.bInterfaceClass = record.bInterfaceClass;
        alt.bInterfaceSubClass = record.bInterfaceSubClass;
        alt.bInterfaceProtocol = record.bInterfaceProtocol;
        for (unsigned i = 0; i < record.bNumEndpoints; ++i) {
            const bool interrupt_only = record.bNumEndpoints == 1;
            if (interrupt_only || i == 2) {
                alt.endpoints.push_back(endpoint(static_cast<std::uint8_t>(0x80 | take_number()),
                                                 ccid::UsbTransferType::Interrupt, interrupt_packet_size(record), 16));
            } else {
                const bool in = i % 2 == 1;
                alt.endpoints.push_back(endpoint(static_cast<std::uint8_t>((in ? 0x80 : 0x00) | take_number()),
                                                 ccid::UsbTransferType::Bulk, kBulkPacketSize, 0));
            }
        }
        alt.bNumEndpoints = static_cast<std::uint8_t>(alt.endpoints.size());
        if (placement == DescriptorPlacement::AfterLastEndpoint && !alt.endpoints.empty())
            alt.endpoints.back().extra = record.descriptor_bytes;
        else
            alt.extra = record.descriptor_bytes;

        auto it = std::find_if(config.interfaces.begin(), config.interfaces.end(),
                               [&](const ccid::UsbInterface& i) { return i.number == alt.bInterfaceNumber; });
        if (it == config.interfaces.end()) {
            config.interfaces.push_back(ccid::UsbInterface{alt.bInterfaceNumber, {}});
            it = config.interfaces.end() - 1;
        }
        it->alt_settings.push_back(std::move(alt));
    }
    config.bNumInterfaces = static_cast<std::uint8_t>(config.interfaces.size());
    return config;
}

}  // namespace ccidkit::sim

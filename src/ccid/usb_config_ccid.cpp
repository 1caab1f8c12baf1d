#include "ccid/usb_config_ccid.h"

#include "ccid/descriptor.h"

namespace ccidkit::ccid {

std::optional<ByteView> find_class_descriptor(ByteView extra, std::uint8_t interface_class) {
    for (const ByteView d : split_descriptors(extra)) {
        const std::uint8_t type = d[1];
        const bool shaped = d[0] >= kCcidDescriptorLength &&
                            (type == kCcidDescriptorType || type == kVendorCcidDescriptorType);
        if (interface_class == kUsbClassCcid && type == kCcidDescriptorType) return d;
        if (shaped) return d;
    }
    return std::nullopt;
}

namespace {

CcidInterfaceProtocol protocol_of(std::uint8_t bInterfaceProtocol) {
    switch (bInterfaceProtocol) {
        case 0: return CcidInterfaceProtocol::BulkCcid;
        case 1: return CcidInterfaceProtocol::IccdVersionA;
        case 2: return CcidInterfaceProtocol::IccdVersionB;
        default: return CcidInterfaceProtocol::Unknown;
    }
}

void pick_endpoints(const UsbAltSetting& alt, CcidInterfaceInfo& info) {
    for (const UsbEndpoint& ep : alt.endpoints) {
        const CcidEndpointRef ref{ep.bEndpointAddress, ep.wMaxPacketSize};
        if (ep.transfer_type() == UsbTransferType::Bulk) {
            auto& slot = ep.is_in() ? info.bulk_in : info.bulk_out;
            if (!slot) slot = ref;
        } else if (ep.transfer_type() == UsbTransferType::Interrupt && ep.is_in() && !info.interrupt_in) {
            info.interrupt_in = ref;
        }
    }
}

// Fills `info` from `alt` if it is a reader interface; false otherwise.
bool inspect(const UsbAltSetting& alt, CcidInterfaceInfo& info) {
    const bool ccid_class = alt.bInterfaceClass == kUsbClassCcid;
    if (!ccid_class && alt.bInterfaceClass != kUsbClassVendor) return false;

    std::optional<ByteView> found = find_class_descriptor(alt.extra, alt.bInterfaceClass);
    CcidDescriptorPlace place = CcidDescriptorPlace::InterfaceExtra;
    std::size_t endpoint_index = 0;
    for (std::size_t i = 0; !found && i < alt.endpoints.size(); ++i) {
        found = find_class_descriptor(alt.endpoints[i].extra, alt.bInterfaceClass);
        place = CcidDescriptorPlace::EndpointExtra;
        endpoint_index = i;
    }
    if (!found && !ccid_class) return false;  // a vendor interface that is not a reader

    info = CcidInterfaceInfo{};
    info.interface_number = alt.bInterfaceNumber;
    info.alternate_setting = alt.bAlternateSetting;
    info.interface_class = alt.bInterfaceClass;
    info.interface_subclass = alt.bInterfaceSubClass;
    info.interface_protocol = alt.bInterfaceProtocol;
    info.string_index = alt.iInterface;
    info.protocol = protocol_of(alt.bInterfaceProtocol);
    if (found) {
        info.place = place;
        info.endpoint_index = place == CcidDescriptorPlace::EndpointExtra ? endpoint_index : 0;
        info.descriptor.assign(found->begin(), found->end());
    }
    pick_endpoints(alt, info);
    return true;
}

}  // namespace

std::vector<CcidInterfaceInfo> find_ccid_interfaces(const UsbConfiguration& config) {
    std::vector<CcidInterfaceInfo> out;
    for (const UsbInterface& iface : config.interfaces) {
        // Prefer an alternate setting with a descriptor; fall back to the first class 0x0B one.
        std::optional<CcidInterfaceInfo> fallback;
        bool done = false;
        for (const UsbAltSetting& alt : iface.alt_settings) {
            CcidInterfaceInfo info;
            if (!inspect(alt, info)) continue;
            if (info.place != CcidDescriptorPlace::Missing) {
                out.push_back(std::move(info));
                done = true;
                break;
            }
            if (!fallback) fallback = std::move(info);
        }
        if (!done && fallback) out.push_back(std::move(*fallback));
    }
    return out;
}

}  // namespace ccidkit::ccid

#include "ccid/usb/usb_interface_scan.h"

#include "ccid/usb/usb_descriptor_scan.h"

namespace ccidkit::ccid::usb {

namespace {

ByteView extra_bytes(const unsigned char* extra, int length) {
    if (extra == nullptr || length <= 0) return {};
    return ByteView(extra, static_cast<std::size_t>(length));
}

bool qualifies(const libusb_interface_descriptor& alt, const DeviceIds& ids, const InterfaceFilter& filter) {
    if (filter.only_interface || filter.only_alternate_setting) {
        if (filter.only_interface && alt.bInterfaceNumber != *filter.only_interface) return false;
        return !filter.only_alternate_setting || alt.bAlternateSetting == *filter.only_alternate_setting;
    }
    if (alt.bInterfaceClass == kCcidInterfaceClass) return true;
    return alt.bInterfaceClass == kVendorInterfaceClass && filter.is_vendor_class_reader &&
           filter.is_vendor_class_reader(ids.vendor_id, ids.product_id, ids.bcd_device);
}

UsbEndpoint endpoint_of(const libusb_endpoint_descriptor& ep) {
    // Bits 12..11 count extra transactions per microframe (high-bandwidth endpoints); only bits
    // 10..0 are the packet size (USB 2.0 clause 9.6.6).
    return UsbEndpoint{ep.bEndpointAddress, static_cast<std::uint16_t>(ep.wMaxPacketSize & 0x7FF)};
}

UsbReaderCandidate describe(const libusb_config_descriptor& config, const libusb_interface_descriptor& alt,
                            const DeviceIds& ids) {
    UsbReaderCandidate c;
    c.vendor_id = ids.vendor_id;
    c.product_id = ids.product_id;
    c.bcd_device = ids.bcd_device;
    c.configuration_value = config.bConfigurationValue;
    c.interface_number = alt.bInterfaceNumber;
    c.alternate_setting = alt.bAlternateSetting;
    c.interface_class = alt.bInterfaceClass;
    c.interface_subclass = alt.bInterfaceSubClass;
    c.interface_protocol = alt.bInterfaceProtocol;

    if (auto d = find_descriptor(extra_bytes(alt.extra, alt.extra_length), kCcidClassDescriptorType)) {
        c.class_descriptor.assign(d->begin(), d->end());
        c.class_descriptor_location = ClassDescriptorLocation::Interface;
    }
    const int endpoints = alt.endpoint == nullptr ? 0 : alt.bNumEndpoints;
    for (int e = 0; e < endpoints; ++e) {
        const libusb_endpoint_descriptor& ep = alt.endpoint[e];
        const bool in = (ep.bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN;
        switch (ep.bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) {
            case LIBUSB_TRANSFER_TYPE_BULK:
                if (in && !c.bulk_in) c.bulk_in = endpoint_of(ep);
                if (!in && !c.bulk_out) c.bulk_out = endpoint_of(ep);
                break;
            case LIBUSB_TRANSFER_TYPE_INTERRUPT:
                if (in && !c.interrupt_in) c.interrupt_in = endpoint_of(ep);
                break;
            default: break;
        }
        if (c.class_descriptor.empty()) {
            if (auto d = find_descriptor(extra_bytes(ep.extra, ep.extra_length), kCcidClassDescriptorType)) {
                c.class_descriptor.assign(d->begin(), d->end());
                c.class_descriptor_location = ClassDescriptorLocation::Endpoint;
            }
        }
    }
    return c;
}

}  // namespace

std::vector<UsbReaderCandidate> find_reader_interfaces(const libusb_config_descriptor& config, const DeviceIds& ids,
                                                       const InterfaceFilter& filter,
                                                       std::vector<std::uint8_t>* interface_string_index) {
    std::vector<UsbReaderCandidate> out;
    if (config.interface == nullptr) return out;
    for (int i = 0; i < config.bNumInterfaces; ++i) {
        const libusb_interface& itf = config.interface[i];
        if (itf.altsetting == nullptr) continue;
        for (int a = 0; a < itf.num_altsetting; ++a) {
            const libusb_interface_descriptor& alt = itf.altsetting[a];
            if (!qualifies(alt, ids, filter)) continue;
            out.push_back(describe(config, alt, ids));
            if (interface_string_index != nullptr) interface_string_index->push_back(alt.iInterface);
            break;  // first qualifying alternate setting only
        }
    }
    return out;
}

}  // namespace ccidkit::ccid::usb

// Hand-made libusb configuration structures: what enumeration sees for composite devices,
// vendor-class readers, misplaced class descriptors and broken descriptors.
#include "ccid/usb/usb_interface_scan.h"

#include <gtest/gtest.h>

#include <deque>

namespace ccidkit::ccid::usb {
namespace {

Bytes ccid_descriptor(std::uint8_t marker = 0xA5) {
    Bytes d(54, marker);
    d[0] = 54;
    d[1] = 0x21;
    return d;
}

// Owns the storage that libusb's structures point into.
class ConfigBuilder {
public:
    libusb_endpoint_descriptor endpoint(std::uint8_t address, std::uint8_t attributes, std::uint16_t max_packet,
                                        const Bytes* extra = nullptr) {
        libusb_endpoint_descriptor ep{};
        ep.bLength = 7;
        ep.bDescriptorType = LIBUSB_DT_ENDPOINT;
        ep.bEndpointAddress = address;
        ep.bmAttributes = attributes;
        ep.wMaxPacketSize = max_packet;
        set_extra(ep.extra, ep.extra_length, extra);
        return ep;
    }

    // Standard CCID endpoints: bulk OUT 0x02, bulk IN 0x81, interrupt IN 0x83.
    std::vector<libusb_endpoint_descriptor> ccid_endpoints(std::uint16_t mps = 64, const Bytes* last_extra = nullptr) {
        return {endpoint(0x02, LIBUSB_TRANSFER_TYPE_BULK, mps), endpoint(0x81, LIBUSB_TRANSFER_TYPE_BULK, mps),
                endpoint(0x83, LIBUSB_TRANSFER_TYPE_INTERRUPT, 8, last_extra)};
    }

    libusb_interface_descriptor alt(std::uint8_t number, std::uint8_t alt_setting, std::uint8_t cls,
                                    std::vector<libusb_endpoint_descriptor> endpoints, const Bytes* extra = nullptr,
                                    std::uint8_t protocol = 0, std::uint8_t string_index = 0) {
        libusb_interface_descriptor d{};
        d.bLength = 9;
        d.bDescriptorType = LIBUSB_DT_INTERFACE;
        d.bInterfaceNumber = number;
        d.bAlternateSetting = alt_setting;
        d.bInterfaceClass = cls;
        d.bInterfaceProtocol = protocol;
        d.iInterface = string_index;
        d.bNumEndpoints = static_cast<std::uint8_t>(endpoints.size());
        if (!endpoints.empty()) {
            endpoint_storage_.push_back(std::move(endpoints));
            d.endpoint = endpoint_storage_.back().data();
        }
        set_extra(d.extra, d.extra_length, extra);
        return d;
    }

    // One interface with the given alternate settings.
    void add_interface(std::vector<libusb_interface_descriptor> alts) {
        alt_storage_.push_back(std::move(alts));
        libusb_interface itf{};
        itf.altsetting = alt_storage_.back().data();
        itf.num_altsetting = static_cast<int>(alt_storage_.back().size());
        interfaces_.push_back(itf);
    }
    void add_raw_interface(libusb_interface itf) { interfaces_.push_back(itf); }

    const libusb_config_descriptor& config() {
        config_ = {};
        config_.bConfigurationValue = 1;
        config_.bNumInterfaces = static_cast<std::uint8_t>(interfaces_.size());
        config_.interface = interfaces_.empty() ? nullptr : interfaces_.data();
        return config_;
    }

private:
    template <typename Len>
    void set_extra(const unsigned char*& extra, Len& length, const Bytes* bytes) {
        if (bytes == nullptr) return;
        extra_storage_.push_back(*bytes);
        extra = extra_storage_.back().data();
        length = static_cast<Len>(extra_storage_.back().size());
    }

    std::deque<Bytes> extra_storage_;
    std::deque<std::vector<libusb_endpoint_descriptor>> endpoint_storage_;
    std::deque<std::vector<libusb_interface_descriptor>> alt_storage_;
    std::vector<libusb_interface> interfaces_;
    libusb_config_descriptor config_{};
};

constexpr DeviceIds kIds{0x072F, 0x90CC, 0x0100};

TEST(UsbInterfaceScan, PlainCcidReader) {
    ConfigBuilder b;
    const Bytes desc = ccid_descriptor();
    b.add_interface({b.alt(0, 0, 0x0B, b.ccid_endpoints(), &desc, 0, 4)});
    std::vector<std::uint8_t> strings;
    const auto found = find_reader_interfaces(b.config(), kIds, {}, &strings);
    ASSERT_EQ(found.size(), 1u);
    const UsbReaderCandidate& c = found[0];
    EXPECT_EQ(c.vendor_id, 0x072F);
    EXPECT_EQ(c.product_id, 0x90CC);
    EXPECT_EQ(c.bcd_device, 0x0100);
    EXPECT_EQ(c.configuration_value, 1);
    EXPECT_EQ(c.interface_number, 0);
    EXPECT_EQ(c.alternate_setting, 0);
    EXPECT_EQ(c.interface_class, 0x0B);
    ASSERT_TRUE(c.bulk_out);
    EXPECT_EQ(c.bulk_out->address, 0x02);
    EXPECT_EQ(c.bulk_out->max_packet_size, 64);
    ASSERT_TRUE(c.bulk_in);
    EXPECT_EQ(c.bulk_in->address, 0x81);
    ASSERT_TRUE(c.interrupt_in);
    EXPECT_EQ(c.interrupt_in->address, 0x83);
    EXPECT_EQ(c.interrupt_in->max_packet_size, 8);
    EXPECT_EQ(c.class_descriptor, desc);
    EXPECT_EQ(c.class_descriptor_location, ClassDescriptorLocation::Interface);
    EXPECT_EQ(strings, std::vector<std::uint8_t>{4});
}

TEST(UsbInterfaceScan, ClassDescriptorAfterTheEndpoints) {
    // O2Micro OZ776 / REINER SCT style: the interface has no extra bytes, the last endpoint has.
    ConfigBuilder b;
    const Bytes desc = ccid_descriptor(0x3C);
    b.add_interface({b.alt(0, 0, 0x0B, b.ccid_endpoints(64, &desc))});
    const auto found = find_reader_interfaces(b.config(), kIds, {});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].class_descriptor, desc);
    EXPECT_EQ(found[0].class_descriptor_location, ClassDescriptorLocation::Endpoint);
}

TEST(UsbInterfaceScan, InterfaceDescriptorWinsOverEndpointCopy) {
    ConfigBuilder b;
    const Bytes on_interface = ccid_descriptor(0x11);
    const Bytes on_endpoint = ccid_descriptor(0x22);
    b.add_interface({b.alt(0, 0, 0x0B, b.ccid_endpoints(64, &on_endpoint), &on_interface)});
    const auto found = find_reader_interfaces(b.config(), kIds, {});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].class_descriptor, on_interface);
}

TEST(UsbInterfaceScan, NoClassDescriptor) {
    ConfigBuilder b;
    const Bytes other{5, 0x24, 1, 2, 3};
    b.add_interface({b.alt(0, 0, 0x0B, b.ccid_endpoints(), &other)});
    const auto found = find_reader_interfaces(b.config(), kIds, {});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_TRUE(found[0].class_descriptor.empty());
    EXPECT_EQ(found[0].class_descriptor_location, ClassDescriptorLocation::None);
}

TEST(UsbInterfaceScan, CompositeDeviceYieldsEveryCcidInterface) {
    ConfigBuilder b;
    const Bytes d1 = ccid_descriptor(1);
    const Bytes d2 = ccid_descriptor(2);
    b.add_interface({b.alt(0, 0, LIBUSB_CLASS_HID, {b.endpoint(0x84, LIBUSB_TRANSFER_TYPE_INTERRUPT, 8)})});
    b.add_interface({b.alt(1, 0, 0x0B, b.ccid_endpoints(), &d1, 0, 5)});
    b.add_interface({b.alt(2, 0, 0x0B,
                           {b.endpoint(0x05, LIBUSB_TRANSFER_TYPE_BULK, 64), b.endpoint(0x86, LIBUSB_TRANSFER_TYPE_BULK, 64)},
                           &d2, 0, 6)});
    std::vector<std::uint8_t> strings;
    const auto found = find_reader_interfaces(b.config(), kIds, {}, &strings);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].interface_number, 1);
    EXPECT_EQ(found[0].class_descriptor, d1);
    EXPECT_EQ(found[1].interface_number, 2);
    EXPECT_EQ(found[1].class_descriptor, d2);
    EXPECT_EQ(found[1].bulk_out->address, 0x05);
    EXPECT_EQ(found[1].bulk_in->address, 0x86);
    EXPECT_FALSE(found[1].interrupt_in);
    EXPECT_EQ(strings, (std::vector<std::uint8_t>{5, 6}));
}

TEST(UsbInterfaceScan, VendorClassNeedsThePredicate) {
    ConfigBuilder b;
    b.add_interface({b.alt(0, 0, 0xFF, b.ccid_endpoints())});
    EXPECT_TRUE(find_reader_interfaces(b.config(), kIds, {}).empty());

    InterfaceFilter refuse;
    refuse.is_vendor_class_reader = [](std::uint16_t, std::uint16_t, std::uint16_t) { return false; };
    EXPECT_TRUE(find_reader_interfaces(b.config(), kIds, refuse).empty());

    std::uint16_t seen_vid = 0, seen_pid = 0, seen_bcd = 0;
    InterfaceFilter accept;
    accept.is_vendor_class_reader = [&](std::uint16_t v, std::uint16_t p, std::uint16_t d) {
        seen_vid = v;
        seen_pid = p;
        seen_bcd = d;
        return true;
    };
    const auto found = find_reader_interfaces(b.config(), kIds, accept);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].interface_class, 0xFF);
    EXPECT_EQ(seen_vid, kIds.vendor_id);
    EXPECT_EQ(seen_pid, kIds.product_id);
    EXPECT_EQ(seen_bcd, kIds.bcd_device);
}

TEST(UsbInterfaceScan, PredicateDoesNotAdmitOtherClasses) {
    ConfigBuilder b;
    b.add_interface({b.alt(0, 0, LIBUSB_CLASS_MASS_STORAGE, b.ccid_endpoints())});
    InterfaceFilter accept;
    accept.is_vendor_class_reader = [](std::uint16_t, std::uint16_t, std::uint16_t) { return true; };
    EXPECT_TRUE(find_reader_interfaces(b.config(), kIds, accept).empty());
}

TEST(UsbInterfaceScan, FirstQualifyingAlternateSetting) {
    ConfigBuilder b;
    const Bytes desc = ccid_descriptor();
    b.add_interface({b.alt(0, 0, 0xFF, {}), b.alt(0, 1, 0x0B, b.ccid_endpoints(), &desc), b.alt(0, 2, 0x0B, {})});
    const auto found = find_reader_interfaces(b.config(), kIds, {});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].alternate_setting, 1);
    EXPECT_EQ(found[0].class_descriptor, desc);
}

TEST(UsbInterfaceScan, IccdWithoutBulkEndpoints) {
    // ICCD version A works over the control pipe only (bInterfaceProtocol 1).
    ConfigBuilder b;
    const Bytes desc = ccid_descriptor();
    b.add_interface({b.alt(0, 0, 0x0B, {}, &desc, 1)});
    const auto found = find_reader_interfaces(b.config(), kIds, {});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].interface_protocol, 1);
    EXPECT_FALSE(found[0].bulk_in);
    EXPECT_FALSE(found[0].bulk_out);
    EXPECT_FALSE(found[0].interrupt_in);
}

TEST(UsbInterfaceScan, HighBandwidthBitsAreNotPacketSize) {
    ConfigBuilder b;
    b.add_interface({b.alt(0, 0, 0x0B,
                           {b.endpoint(0x02, LIBUSB_TRANSFER_TYPE_BULK, 0x0200),
                            b.endpoint(0x81, LIBUSB_TRANSFER_TYPE_BULK, 0x1840)})});
    const auto found = find_reader_interfaces(b.config(), kIds, {});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].bulk_out->max_packet_size, 512);
    EXPECT_EQ(found[0].bulk_in->max_packet_size, 0x40);
}

TEST(UsbInterfaceScan, FirstEndpointOfEachKindAndIsochronousIgnored) {
    ConfigBuilder b;
    b.add_interface({b.alt(0, 0, 0x0B,
                           {b.endpoint(0x81, LIBUSB_TRANSFER_TYPE_ISOCHRONOUS, 64),
                            b.endpoint(0x82, LIBUSB_TRANSFER_TYPE_BULK, 64),
                            b.endpoint(0x83, LIBUSB_TRANSFER_TYPE_BULK, 32),
                            b.endpoint(0x04, LIBUSB_TRANSFER_TYPE_INTERRUPT, 8),  // interrupt OUT: unused
                            b.endpoint(0x05, LIBUSB_TRANSFER_TYPE_BULK, 64)})});
    const auto found = find_reader_interfaces(b.config(), kIds, {});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].bulk_in->address, 0x82);
    EXPECT_EQ(found[0].bulk_out->address, 0x05);
    EXPECT_FALSE(found[0].interrupt_in);
}

TEST(UsbInterfaceScan, ExplicitInterfaceIgnoresTheClass) {
    ConfigBuilder b;
    b.add_interface({b.alt(0, 0, 0x0B, b.ccid_endpoints())});
    b.add_interface({b.alt(1, 0, LIBUSB_CLASS_HID, {}), b.alt(1, 3, LIBUSB_CLASS_HID, {})});
    InterfaceFilter one;
    one.only_interface = 1;
    auto found = find_reader_interfaces(b.config(), kIds, one);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].interface_number, 1);
    EXPECT_EQ(found[0].alternate_setting, 0);

    one.only_alternate_setting = 3;
    found = find_reader_interfaces(b.config(), kIds, one);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].alternate_setting, 3);

    one.only_interface = 7;
    EXPECT_TRUE(find_reader_interfaces(b.config(), kIds, one).empty());
}

TEST(UsbInterfaceScan, BrokenStructuresAreSkipped) {
    ConfigBuilder b;
    b.add_raw_interface(libusb_interface{nullptr, 3});  // altsetting missing
    libusb_interface none{};
    none.num_altsetting = 0;
    b.add_raw_interface(none);
    libusb_interface negative{};
    negative.num_altsetting = -4;
    b.add_raw_interface(negative);
    // bNumEndpoints says 3 but there is no endpoint array; extra_length is negative.
    libusb_interface_descriptor lying = b.alt(5, 0, 0x0B, {});
    lying.bNumEndpoints = 3;
    lying.extra = reinterpret_cast<const unsigned char*>("\x36\x21");
    lying.extra_length = -1;
    b.add_interface({lying});
    const auto found = find_reader_interfaces(b.config(), kIds, {});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].interface_number, 5);
    EXPECT_FALSE(found[0].bulk_in);
    EXPECT_TRUE(found[0].class_descriptor.empty());
}

TEST(UsbInterfaceScan, ConfigurationWithoutInterfaces) {
    libusb_config_descriptor config{};
    config.bNumInterfaces = 4;  // claims interfaces, has none
    EXPECT_TRUE(find_reader_interfaces(config, kIds, {}).empty());
}

}  // namespace
}  // namespace ccidkit::ccid::usb

#include "ccid/usb_config.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ccid/descriptor.h"
#include "ccid/descriptor_report.h"
#include "ccid/usb_config_ccid.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

Bytes hex(std::string_view text) { return *from_hex(text); }

Bytes ccid_class_descriptor() {
    CcidDescriptor d;
    d.dwMaxIFSD = 252;
    return encode_ccid_descriptor(d);
}

Bytes interface_desc(std::uint8_t number, std::uint8_t alt, std::uint8_t endpoints, std::uint8_t cls,
                     std::uint8_t protocol = 0) {
    return Bytes{9, 4, number, alt, endpoints, cls, 0, protocol, 0};
}

Bytes endpoint_desc(std::uint8_t address, std::uint8_t attributes, std::uint16_t packet) {
    return Bytes{7, 5, address, attributes, static_cast<std::uint8_t>(packet), static_cast<std::uint8_t>(packet >> 8), 0};
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// A configuration header whose wTotalLength and bNumInterfaces describe `body`.
Bytes config(std::uint8_t interfaces, const Bytes& body) {
    Bytes out{9, 2, 0, 0, interfaces, 1, 0, 0x80, 50};
    out.insert(out.end(), body.begin(), body.end());
    store_le16(out.data() + 2, static_cast<std::uint16_t>(out.size()));
    return out;
}

const Bytes kBulkOut = endpoint_desc(0x01, 2, 64);
const Bytes kBulkIn = endpoint_desc(0x82, 2, 64);
const Bytes kInterruptIn = endpoint_desc(0x83, 3, 8);

}  // namespace

TEST(UsbConfig, StandardCcidReader) {
    const Bytes raw = config(1, cat({interface_desc(0, 0, 3, 0x0B), ccid_class_descriptor(), kBulkOut, kBulkIn, kInterruptIn}));
    const auto c = parse_usb_configuration(raw);
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    EXPECT_TRUE(c->notes.empty());
    EXPECT_EQ(c->wTotalLength, raw.size());
    ASSERT_EQ(c->interfaces.size(), 1u);
    ASSERT_EQ(c->interfaces[0].alt_settings.size(), 1u);
    const UsbAltSetting& alt = c->interfaces[0].alt_settings[0];
    EXPECT_EQ(alt.bInterfaceClass, 0x0B);
    EXPECT_EQ(alt.extra, ccid_class_descriptor());
    ASSERT_EQ(alt.endpoints.size(), 3u);
    EXPECT_EQ(alt.endpoints[0].transfer_type(), UsbTransferType::Bulk);
    EXPECT_FALSE(alt.endpoints[0].is_in());
    EXPECT_TRUE(alt.endpoints[1].is_in());
    EXPECT_EQ(alt.endpoints[2].transfer_type(), UsbTransferType::Interrupt);
    EXPECT_EQ(alt.endpoints[2].wMaxPacketSize, 8);

    const auto found = find_ccid_interfaces(*c);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].place, CcidDescriptorPlace::InterfaceExtra);
    EXPECT_EQ(found[0].protocol, CcidInterfaceProtocol::BulkCcid);
    EXPECT_EQ(found[0].descriptor, ccid_class_descriptor());
    EXPECT_EQ(found[0].bulk_out, (CcidEndpointRef{0x01, 64}));
    EXPECT_EQ(found[0].bulk_in, (CcidEndpointRef{0x82, 64}));
    EXPECT_EQ(found[0].interrupt_in, (CcidEndpointRef{0x83, 8}));
    const auto parsed = parse_ccid_descriptor(found[0].descriptor);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->fields.dwMaxIFSD, 252u);

    // And back: the encoder reproduces the bytes.
    EXPECT_EQ(encode_usb_configuration(*c), raw);
}

TEST(UsbConfig, DescriptorAfterTheEndpoints) {
    // O2Micro OZ776 style: nothing after the interface, the class descriptor after the last endpoint.
    const Bytes raw = config(1, cat({interface_desc(0, 0, 3, 0x0B), kBulkOut, kBulkIn, kInterruptIn, ccid_class_descriptor()}));
    const auto c = parse_usb_configuration(raw);
    ASSERT_TRUE(c.has_value());
    EXPECT_TRUE(c->interfaces[0].alt_settings[0].extra.empty());
    EXPECT_EQ(c->interfaces[0].alt_settings[0].endpoints[2].extra, ccid_class_descriptor());
    const auto found = find_ccid_interfaces(*c);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].place, CcidDescriptorPlace::EndpointExtra);
    EXPECT_EQ(found[0].endpoint_index, 2u);
    EXPECT_EQ(found[0].descriptor, ccid_class_descriptor());
}

TEST(UsbConfig, VendorClassNeedsACcidShapedDescriptor) {
    Bytes vendor_type = ccid_class_descriptor();
    vendor_type[1] = 0xFF;
    const auto with = parse_usb_configuration(config(1, cat({interface_desc(0, 0, 2, 0xFF), vendor_type, kBulkOut, kBulkIn})));
    ASSERT_TRUE(with.has_value());
    const auto found = find_ccid_interfaces(*with);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].interface_class, 0xFF);
    EXPECT_EQ(found[0].descriptor, vendor_type);
    EXPECT_FALSE(found[0].interrupt_in.has_value());

    // A vendor interface with some other class-specific descriptor is not a reader.
    const auto without = parse_usb_configuration(config(1, cat({interface_desc(0, 0, 2, 0xFF), hex("05 21 01 02 03"), kBulkOut, kBulkIn})));
    ASSERT_TRUE(without.has_value());
    EXPECT_TRUE(find_ccid_interfaces(*without).empty());
    EXPECT_FALSE(find_class_descriptor(hex("05 21 01 02 03"), 0xFF).has_value());
    EXPECT_TRUE(find_class_descriptor(hex("05 21 01 02 03"), 0x0B).has_value());
}

TEST(UsbConfig, CcidClassWithoutOrWithBrokenDescriptor) {
    const auto missing = parse_usb_configuration(config(1, cat({interface_desc(0, 0, 2, 0x0B), kBulkOut, kBulkIn})));
    ASSERT_TRUE(missing.has_value());
    auto found = find_ccid_interfaces(*missing);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].place, CcidDescriptorPlace::Missing);
    EXPECT_TRUE(found[0].descriptor.empty());

    // A too-short type 0x21 descriptor is found, and the parser says why it cannot be used.
    Bytes short_desc = ccid_class_descriptor();
    short_desc.resize(20);
    short_desc[0] = 20;
    const auto too_short = parse_usb_configuration(config(1, cat({interface_desc(0, 0, 0, 0x0B), short_desc})));
    ASSERT_TRUE(too_short.has_value());
    found = find_ccid_interfaces(*too_short);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(parse_ccid_descriptor(found[0].descriptor).error(), DescriptorError::TooShort);

    // The descriptor is the last thing in the configuration and its bLength overruns it:
    // the walker refuses the configuration as truncated.
    Bytes overrun = ccid_class_descriptor();
    overrun[0] = 60;
    EXPECT_EQ(parse_usb_configuration(config(1, cat({interface_desc(0, 0, 0, 0x0B), overrun}))).error(),
              UsbConfigError::Truncated);
}

TEST(UsbConfig, CompositeDeviceWithAssociationAndAlternateSettings) {
    const Bytes iad = hex("08 0B 00 02 0B 00 00 00");
    const Bytes hid = cat({interface_desc(1, 0, 1, 0x03), hex("09 21 11 01 00 01 22 20 00"), endpoint_desc(0x84, 3, 8)});
    // Interface 2: alternate 0 is a bare CCID interface, alternate 1 carries the descriptor.
    const Bytes ccid_alt0 = interface_desc(2, 0, 0, 0x0B, 2);
    const Bytes ccid_alt1 = cat({interface_desc(2, 1, 2, 0x0B, 2), ccid_class_descriptor(), kBulkOut, kBulkIn});
    const Bytes raw = config(2, cat({iad, hid, ccid_alt0, ccid_alt1}));
    const auto c = parse_usb_configuration(raw);
    ASSERT_TRUE(c.has_value());
    EXPECT_TRUE(c->notes.empty()) << c->notes.front();
    EXPECT_EQ(c->extra, iad);
    ASSERT_EQ(c->interfaces.size(), 2u);
    EXPECT_EQ(c->interfaces[1].alt_settings.size(), 2u);
    // The HID class descriptor (also type 0x21!) does not make the HID interface a reader.
    const auto found = find_ccid_interfaces(*c);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].interface_number, 2);
    EXPECT_EQ(found[0].alternate_setting, 1);
    EXPECT_EQ(found[0].protocol, CcidInterfaceProtocol::IccdVersionB);
    EXPECT_EQ(encode_usb_configuration(*c), raw);
}

TEST(UsbConfig, ToleratedOdditiesAreNoted) {
    const Bytes body = cat({interface_desc(0, 0, 3, 0x0B), ccid_class_descriptor(), kBulkOut, kBulkIn});  // 2 of 3 endpoints
    Bytes raw = config(2, body);  // claims 2 interfaces
    auto c = parse_usb_configuration(raw);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->notes.size(), 2u);

    Bytes longer = raw;
    longer.insert(longer.end(), {0xDE, 0xAD});  // bytes after wTotalLength are ignored
    c = parse_usb_configuration(longer);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->notes.size(), 3u);

    Bytes cut = raw;
    store_le16(cut.data() + 2, static_cast<std::uint16_t>(raw.size() + 100));  // announces more than given
    c = parse_usb_configuration(cut);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->notes.size(), 3u);

    // An endpoint before any interface, and a repeated alternate setting.
    c = parse_usb_configuration(config(1, cat({kBulkOut, interface_desc(0, 0, 0, 0x0B), interface_desc(0, 0, 0, 0x0B)})));
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->extra, kBulkOut);
    EXPECT_EQ(c->notes.size(), 2u);
}

TEST(UsbConfig, MalformedConfigurationsAreRefused) {
    EXPECT_EQ(parse_usb_configuration({}).error(), UsbConfigError::NotAConfiguration);
    EXPECT_EQ(parse_usb_configuration(hex("09 04 00 00 01 00 00 00 00")).error(), UsbConfigError::NotAConfiguration);
    EXPECT_EQ(parse_usb_configuration(hex("0C 02 0C 00 01 01 00 80 32")).error(), UsbConfigError::Truncated);
    EXPECT_EQ(parse_usb_configuration(config(1, hex("00 04 00"))).error(), UsbConfigError::BadDescriptorLength);
    EXPECT_EQ(parse_usb_configuration(config(1, hex("01 04"))).error(), UsbConfigError::BadDescriptorLength);
    EXPECT_EQ(parse_usb_configuration(config(1, hex("09 04 00"))).error(), UsbConfigError::Truncated);
    EXPECT_EQ(parse_usb_configuration(config(1, hex("05 04 00 00 00"))).error(), UsbConfigError::InterfaceTooShort);
    EXPECT_EQ(parse_usb_configuration(config(1, cat({interface_desc(0, 0, 1, 0x0B), hex("04 05 81 03")}))).error(),
              UsbConfigError::EndpointTooShort);
    EXPECT_EQ(parse_usb_configuration(config(1, hex("09"))).error(), UsbConfigError::Truncated);
}

TEST(UsbConfig, SplitDescriptors) {
    const auto parts = split_descriptors(hex("03 24 01 02 30 05 99 99"));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0].size(), 3u);
    EXPECT_EQ(parts[1].size(), 2u);
    EXPECT_EQ(parts[2].size(), 3u);  // announced 5, cut at the end
    EXPECT_TRUE(split_descriptors(hex("00 21 36")).empty());
    EXPECT_TRUE(split_descriptors(hex("36")).empty());
}

TEST(UsbConfig, EncodeRejectsOversizedConfigurations) {
    UsbConfiguration c;
    c.interfaces.push_back(UsbInterface{0, {UsbAltSetting{}}});
    c.interfaces[0].alt_settings[0].extra.assign(70000, 0);
    EXPECT_EQ(encode_usb_configuration(c).error(), UsbConfigError::TooLarge);
}

TEST(UsbConfig, HostileBytesNeverCrash) {
    std::mt19937 rng(99);
    const Bytes good = config(1, cat({interface_desc(0, 0, 3, 0x0B), ccid_class_descriptor(), kBulkOut, kBulkIn, kInterruptIn}));
    // Every prefix and every single-byte corruption of a good configuration.
    for (std::size_t n = 0; n <= good.size(); ++n) {
        const auto c = parse_usb_configuration(ByteView(good).first(n));
        if (c) (void)find_ccid_interfaces(*c);
    }
    std::size_t walked = 0;
    for (int round = 0; round < 20000; ++round) {
        Bytes b = good;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        const auto c = parse_usb_configuration(b);
        if (!c) continue;
        ++walked;
        for (const auto& info : find_ccid_interfaces(*c)) (void)parse_ccid_descriptor(info.descriptor);
        const auto again = encode_usb_configuration(*c);
        ASSERT_TRUE(again.has_value());
    }
    EXPECT_GT(walked, 1000u);
    for (const UsbConfigError e : {UsbConfigError::NotAConfiguration, UsbConfigError::BadDescriptorLength,
                                   UsbConfigError::Truncated, UsbConfigError::InterfaceTooShort,
                                   UsbConfigError::EndpointTooShort, UsbConfigError::TooLarge})
        EXPECT_FALSE(to_string(e).empty());
}

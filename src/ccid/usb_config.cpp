#include "ccid/usb_config.h"

#include <algorithm>

#include <fmt/format.h>

namespace ccidkit::ccid {

std::string_view to_string(UsbConfigError e) {
    switch (e) {
        case UsbConfigError::NotAConfiguration:
            return "not a USB configuration descriptor (first descriptor is not type 2 with 9 bytes)";
        case UsbConfigError::BadDescriptorLength:
            return "USB descriptor with bLength below 2 inside the configuration";
        case UsbConfigError::Truncated:
            return "USB descriptor runs past the end of the configuration data";
        case UsbConfigError::InterfaceTooShort:
            return "USB interface descriptor shorter than 9 bytes";
        case UsbConfigError::EndpointTooShort:
            return "USB endpoint descriptor shorter than 7 bytes";
        case UsbConfigError::TooLarge:
            return "USB configuration too large to encode (over 65535 bytes or 255 interfaces/endpoints)";
    }
    return "unknown USB configuration error";
}

namespace {

void append(Bytes& to, ByteView from) { to.insert(to.end(), from.begin(), from.end()); }

UsbAltSetting read_interface(ByteView d) {
    UsbAltSetting alt;
    alt.bInterfaceNumber = d[2];
    alt.bAlternateSetting = d[3];
    alt.bNumEndpoints = d[4];
    alt.bInterfaceClass = d[5];
    alt.bInterfaceSubClass = d[6];
    alt.bInterfaceProtocol = d[7];
    alt.iInterface = d[8];
    // Bytes beyond the standard 9 belong to the interface descriptor itself; keep them with
    // the class-specific extras so nothing is lost.
    append(alt.extra, d.subspan(kUsbInterfaceLength));
    return alt;
}

UsbEndpoint read_endpoint(ByteView d) {
    UsbEndpoint ep;
    ep.bEndpointAddress = d[2];
    ep.bmAttributes = d[3];
    ep.wMaxPacketSize = load_le16(d.data() + 4);
    ep.bInterval = d[6];
    // Audio-class endpoints are 9 bytes long; the two additional bytes land in extra.
    append(ep.extra, d.subspan(kUsbEndpointLength));
    return ep;
}

// Where the walk is: extras are attached to the last descriptor of one of these kinds.
enum class Owner { Configuration, Interface, Endpoint };

}  // namespace

std::vector<ByteView> split_descriptors(ByteView extra) {
    std::vector<ByteView> out;
    std::size_t pos = 0;
    while (extra.size() - pos >= 2) {
        const std::size_t length = extra[pos];
        if (length < 2) break;
        const std::size_t available = std::min(length, extra.size() - pos);
        out.push_back(extra.subspan(pos, available));
        pos += available;
    }
    return out;
}

std::expected<UsbConfiguration, UsbConfigError> parse_usb_configuration(ByteView raw) {
    if (raw.size() < kUsbConfigurationLength || raw[0] < kUsbConfigurationLength ||
        raw[1] != kUsbDescriptorConfiguration)
        return std::unexpected(UsbConfigError::NotAConfiguration);

    UsbConfiguration config;
    config.wTotalLength = load_le16(raw.data() + 2);
    config.bNumInterfaces = raw[4];
    config.bConfigurationValue = raw[5];
    config.iConfiguration = raw[6];
    config.bmAttributes = raw[7];
    config.bMaxPower = raw[8];

    if (raw[0] > raw.size()) return std::unexpected(UsbConfigError::Truncated);
    // libusb walks min(wTotalLength, bytes read); so do we, and say so when they differ.
    ByteView data = raw;
    if (config.wTotalLength < raw.size()) {
        config.notes.push_back(fmt::format("wTotalLength {} is below the {} bytes given; the rest is ignored",
                                           config.wTotalLength, raw.size()));
        data = raw.first(std::max<std::size_t>(config.wTotalLength, raw[0]));
    } else if (config.wTotalLength > raw.size()) {
        config.notes.push_back(fmt::format("wTotalLength {} is above the {} bytes given; walking what is there",
                                           config.wTotalLength, raw.size()));
    }
    append(config.extra, data.subspan(kUsbConfigurationLength, raw[0] - kUsbConfigurationLength));

    Owner owner = Owner::Configuration;
    UsbAltSetting* alt = nullptr;
    std::size_t pos = raw[0];
    while (pos < data.size()) {
        if (data.size() - pos < 2) return std::unexpected(UsbConfigError::Truncated);
        const std::size_t length = data[pos];
        const std::uint8_t type = data[pos + 1];
        if (length < 2) return std::unexpected(UsbConfigError::BadDescriptorLength);
        if (length > data.size() - pos) return std::unexpected(UsbConfigError::Truncated);
        const ByteView d = data.subspan(pos, length);
        pos += length;

        if (type == kUsbDescriptorInterface) {
            if (length < kUsbInterfaceLength) return std::unexpected(UsbConfigError::InterfaceTooShort);
            UsbAltSetting next = read_interface(d);
            auto it = std::find_if(config.interfaces.begin(), config.interfaces.end(),
                                   [&](const UsbInterface& i) { return i.number == next.bInterfaceNumber; });
            if (it == config.interfaces.end()) {
                config.interfaces.push_back(UsbInterface{next.bInterfaceNumber, {}});
                it = config.interfaces.end() - 1;
            } else if (std::any_of(it->alt_settings.begin(), it->alt_settings.end(), [&](const UsbAltSetting& a) {
                           return a.bAlternateSetting == next.bAlternateSetting;
                       })) {
                config.notes.push_back(fmt::format("interface {} alternate setting {} appears twice",
                                                   next.bInterfaceNumber, next.bAlternateSetting));
            }
            it->alt_settings.push_back(std::move(next));
            alt = &it->alt_settings.back();
            owner = Owner::Interface;
        } else if (type == kUsbDescriptorEndpoint && alt != nullptr) {
            if (length < kUsbEndpointLength) return std::unexpected(UsbConfigError::EndpointTooShort);
            alt->endpoints.push_back(read_endpoint(d));
            owner = Owner::Endpoint;
        } else {
            if (type == kUsbDescriptorEndpoint)
                config.notes.push_back(fmt::format("endpoint descriptor at offset {} before any interface; kept as extra",
                                                   pos - length));
            switch (owner) {
                case Owner::Configuration: append(config.extra, d); break;
                case Owner::Interface: append(alt->extra, d); break;
                case Owner::Endpoint: append(alt->endpoints.back().extra, d); break;
            }
        }
    }

    std::size_t alt_count = 0;
    for (const UsbInterface& i : config.interfaces) {
        alt_count += i.alt_settings.size();
        for (const UsbAltSetting& a : i.alt_settings)
            if (a.endpoints.size() != a.bNumEndpoints)
                config.notes.push_back(fmt::format("interface {} alternate setting {}: bNumEndpoints {} but {} found",
                                                   a.bInterfaceNumber, a.bAlternateSetting, a.bNumEndpoints,
                                                   a.endpoints.size()));
    }
    if (config.interfaces.size() != config.bNumInterfaces)
        config.notes.push_back(fmt::format("bNumInterfaces {} but {} interfaces found ({} alternate settings)",
                                           config.bNumInterfaces, config.interfaces.size(), alt_count));
    return config;
}

std::expected<Bytes, UsbConfigError> encode_usb_configuration(const UsbConfiguration& config) {
    if (config.interfaces.size() > 0xFF) return std::unexpected(UsbConfigError::TooLarge);
    Bytes out{kUsbConfigurationLength, kUsbDescriptorConfiguration, 0, 0,
              static_cast<std::uint8_t>(config.interfaces.size()),
              config.bConfigurationValue, config.iConfiguration, config.bmAttributes, config.bMaxPower};
    append(out, config.extra);
    for (const UsbInterface& i : config.interfaces) {
        for (const UsbAltSetting& a : i.alt_settings) {
            if (a.endpoints.size() > 0xFF) return std::unexpected(UsbConfigError::TooLarge);
            append(out, Bytes{kUsbInterfaceLength, kUsbDescriptorInterface, i.number, a.bAlternateSetting,
                              static_cast<std::uint8_t>(a.endpoints.size()), a.bInterfaceClass,
                              a.bInterfaceSubClass, a.bInterfaceProtocol, a.iInterface});
            append(out, a.extra);
            for (const UsbEndpoint& ep : a.endpoints) {
                append(out, Bytes{kUsbEndpointLength, kUsbDescriptorEndpoint, ep.bEndpointAddress, ep.bmAttributes,
                                  static_cast<std::uint8_t>(ep.wMaxPacketSize),
                                  static_cast<std::uint8_t>(ep.wMaxPacketSize >> 8), ep.bInterval});
                append(out, ep.extra);
            }
            if (out.size() > 0xFFFF) return std::unexpected(UsbConfigError::TooLarge);
        }
    }
    if (out.size() > 0xFFFF) return std::unexpected(UsbConfigError::TooLarge);
    store_le16(out.data() + 2, static_cast<std::uint16_t>(out.size()));
    return out;
}

}  // namespace ccidkit::ccid

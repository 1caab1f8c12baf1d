#include "descriptor_source.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "ccid/descriptor.h"
#include "ccid/usb_config.h"
#include "ccid/usb_config_ccid.h"
#include "sim/reader_corpus.h"

namespace ccidkit::ccidctl {
namespace {

constexpr std::size_t kMaxFileSize = 1 << 20;

// The content is not usable (as opposed to a file that cannot be read).
std::unexpected<DescriptorFileError> unusable(std::string message) {
    return std::unexpected(DescriptorFileError{false, std::move(message)});
}
constexpr std::uint8_t kDeviceDescriptorType = 0x01;
constexpr std::uint8_t kDeviceDescriptorLength = 18;

std::string_view place_name(ccid::CcidDescriptorPlace p) {
    switch (p) {
        case ccid::CcidDescriptorPlace::Missing: return "missing";
        case ccid::CcidDescriptorPlace::InterfaceExtra: return "after the interface descriptor";
        case ccid::CcidDescriptorPlace::EndpointExtra: return "after an endpoint descriptor (non-standard place)";
    }
    return "unknown";
}

DescribedFile from_corpus(const sim::CorpusReader& reader) {
    DescribedFile f;
    f.kind = "corpus";
    f.notes = reader.notes;
    for (const auto& r : reader.interfaces) {
        DescribedInterface d;
        d.source = fmt::format("{} record at line {}", reader.file_name, r.first_line);
        d.vendor_id = r.device.vendor_id;
        d.product_id = r.device.product_id;
        d.bcd_device = r.device.bcd_device;
        d.manufacturer = r.device.manufacturer;
        d.product = r.device.product;
        d.interface_string = r.interface_string;
        d.interface_number = r.bInterfaceNumber;
        d.interface_class = r.bInterfaceClass;
        d.interface_protocol = r.bInterfaceProtocol;
        d.num_endpoints = r.bNumEndpoints;
        d.class_descriptor = r.descriptor_bytes;
        d.clocks_khz = r.clock_frequencies_khz;
        d.data_rates_bps = r.data_rates_bps;
        d.remarks = r.interface_remarks;
        d.remarks.insert(d.remarks.end(), r.request_remarks.begin(), r.request_remarks.end());
        f.interfaces.push_back(std::move(d));
    }
    return f;
}

std::expected<DescribedFile, DescriptorFileError> from_configuration(ByteView config,
                                                                     const std::optional<ByteView>& device) {
    auto parsed = ccid::parse_usb_configuration(config);
    if (!parsed) return unusable(fmt::format("configuration descriptor: {}", to_string(parsed.error())));
    DescribedFile f;
    f.kind = device ? "device+configuration" : "configuration";
    f.notes = parsed->notes;
    for (const auto& i : ccid::find_ccid_interfaces(*parsed)) {
        DescribedInterface d;
        d.source = fmt::format("configuration interface {}", i.interface_number);
        if (device) {
            d.vendor_id = load_le16(device->data() + 8);
            d.product_id = load_le16(device->data() + 10);
            d.bcd_device = load_le16(device->data() + 12);
        }
        d.interface_number = i.interface_number;
        d.interface_class = i.interface_class;
        d.interface_protocol = i.interface_protocol;
        d.num_endpoints =
            static_cast<std::uint8_t>((i.bulk_in ? 1 : 0) + (i.bulk_out ? 1 : 0) + (i.interrupt_in ? 1 : 0));
        d.class_descriptor = i.descriptor;
        d.remarks.push_back(fmt::format("class descriptor {}", place_name(i.place)));
        f.interfaces.push_back(std::move(d));
    }
    if (f.interfaces.empty()) {
        return unusable(
            "the configuration has no smart-card reader interface (class 0Bh, or vendor class "
            "with a CCID descriptor)");
    }
    return f;
}

}  // namespace

std::optional<Bytes> parse_hex_text(std::string_view text) {
    std::string cleaned;
    cleaned.reserve(text.size());
    bool comment = false;
    for (char c : text) {
        if (c == '\n' || c == '\r') {
            comment = false;
            cleaned.push_back(' ');
            continue;
        }
        if (c == '#') comment = true;
        if (!comment) cleaned.push_back(c);
    }
    auto bytes = from_hex(cleaned);
    if (!bytes || bytes->empty()) return std::nullopt;
    return bytes;
}

std::expected<DescribedFile, DescriptorFileError> parse_descriptor_hex(ByteView bytes) {
    if (bytes.size() < 2) return unusable("too few bytes for any descriptor");
    const std::uint8_t type = bytes[1];
    if (type == kDeviceDescriptorType) {
        if (bytes[0] != kDeviceDescriptorLength || bytes.size() < kDeviceDescriptorLength) {
            return unusable("device descriptor: expected 18 bytes");
        }
        if (bytes.size() == kDeviceDescriptorLength) {
            return unusable("a device descriptor alone: the configuration descriptor must follow it");
        }
        return from_configuration(bytes.subspan(kDeviceDescriptorLength), bytes.first(kDeviceDescriptorLength));
    }
    if (type == ccid::kUsbDescriptorConfiguration) return from_configuration(bytes, std::nullopt);
    if (type == ccid::kCcidDescriptorType || type == ccid::kVendorCcidDescriptorType) {
        DescribedFile f;
        f.kind = "class-descriptor";
        DescribedInterface d;
        d.source = "class descriptor";
        d.class_descriptor.assign(bytes.begin(), bytes.end());
        f.interfaces.push_back(std::move(d));
        return f;
    }
    return unusable(
        fmt::format("bytes start with descriptor type {:02X}h: expected a CCID class descriptor (21h), a configuration "
                    "descriptor (02h) or a device descriptor (01h)",
                    type));
}

std::expected<DescribedFile, DescriptorFileError> parse_descriptor_text(std::string_view text,
                                                                        const std::string& name) {
    if (auto bytes = parse_hex_text(text)) return parse_descriptor_hex(*bytes);
    auto corpus = sim::parse_reader_text(text, name);
    if (!corpus) {
        return unusable(fmt::format("{}: neither hex bytes nor a `parse` dump ({}: {})", name,
                                    to_string(corpus.error().kind), corpus.error().message));
    }
    return from_corpus(*corpus);
}

std::expected<DescribedFile, DescriptorFileError> load_descriptor_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(DescriptorFileError{true, fmt::format("{}: cannot open the file", path)});
    std::string text;
    text.resize(kMaxFileSize + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFileSize) return unusable(fmt::format("{}: larger than 1 MiB", path));
    return parse_descriptor_text(text, path);
}

}  // namespace ccidkit::ccidctl

// A whole USB configuration descriptor (USB 2.0 9.6.3) as GET_DESCRIPTOR(CONFIGURATION) returns
// it: the walker, the search for reader interfaces and their CCID class descriptors (CCID 1.1
// 4.3, 5.1), and the simulator's encoder. Input: the configuration bytes.
#include <cstddef>
#include <cstdint>
#include <set>

#include "ccid/descriptor_report.h"
#include "ccid/usb_config.h"
#include "ccid/usb_config_ccid.h"
#include "fuzz_support.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

// True when every standard descriptor has exactly its standard size and wTotalLength matches:
// then nothing is folded into "extra" that the encoder would write back differently, so a
// parse / encode / parse round trip must reproduce the structure.
bool canonical(ByteView raw) {
    if (raw.size() < kUsbConfigurationLength || raw[0] != kUsbConfigurationLength) return false;
    if (load_le16(raw.data() + 2) != raw.size()) return false;
    std::size_t pos = raw[0];
    bool seen_interface = false;
    while (pos + 2 <= raw.size()) {
        const std::size_t length = raw[pos];
        const std::uint8_t type = raw[pos + 1];
        if (length < 2 || length > raw.size() - pos) return false;
        if (type == kUsbDescriptorInterface) {
            if (length != kUsbInterfaceLength) return false;
            seen_interface = true;
        }
        if (type == kUsbDescriptorEndpoint && seen_interface && length != kUsbEndpointLength) return false;
        if (type == kUsbDescriptorConfiguration) return false;
        pos += length;
    }
    return pos == raw.size();
}

std::size_t extras_size(const UsbConfiguration& c) {
    std::size_t n = c.extra.size();
    for (const auto& i : c.interfaces)
        for (const auto& a : i.alt_settings) {
            n += kUsbInterfaceLength + a.extra.size();
            for (const auto& e : a.endpoints) n += kUsbEndpointLength + e.extra.size();
        }
    return n;
}

void check_split(ByteView extra) {
    std::size_t total = 0;
    for (const ByteView d : split_descriptors(extra)) {
        FUZZ_CHECK(d.size() >= 2);
        FUZZ_CHECK(d.size() <= d[0]);
        total += d.size();
    }
    FUZZ_CHECK(total <= extra.size());
}

void check_readers(const UsbConfiguration& config) {
    const auto readers = find_ccid_interfaces(config);
    FUZZ_CHECK(readers.size() <= config.interfaces.size());
    std::set<std::uint8_t> numbers;
    for (const auto& r : readers) {
        FUZZ_CHECK(numbers.insert(r.interface_number).second);  // one per interface number
        FUZZ_CHECK(r.interface_class == kUsbClassCcid || r.interface_class == kUsbClassVendor);
        if (r.place == CcidDescriptorPlace::Missing) {
            FUZZ_CHECK(r.descriptor.empty());
            FUZZ_CHECK(r.interface_class == kUsbClassCcid);
        } else {
            FUZZ_CHECK(r.descriptor.size() >= 2 && r.descriptor.size() <= 255);
            FUZZ_CHECK(r.descriptor[1] == kCcidDescriptorType || r.descriptor[1] == kVendorCcidDescriptorType);
            // Whatever was found goes to the descriptor parser next, as the transport does.
            const auto parsed = parse_ccid_descriptor(r.descriptor);
            if (parsed) FUZZ_CHECK(!describe_parsed_descriptor(*parsed).empty());
        }
        if (r.bulk_in) FUZZ_CHECK((r.bulk_in->address & 0x80) != 0);
        if (r.bulk_out) FUZZ_CHECK((r.bulk_out->address & 0x80) == 0);
        if (r.interrupt_in) FUZZ_CHECK((r.interrupt_in->address & 0x80) != 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView raw(data, size);
    const auto config = parse_usb_configuration(raw);
    if (!config) {
        FUZZ_CHECK(!to_string(config.error()).empty());
        return 0;
    }
    // Nothing is invented: the structure holds at most the bytes given.
    FUZZ_CHECK(kUsbConfigurationLength + extras_size(*config) <= size);
    check_split(config->extra);
    for (const auto& i : config->interfaces) {
        FUZZ_CHECK(!i.alt_settings.empty());
        for (const auto& a : i.alt_settings) {
            FUZZ_CHECK(a.bInterfaceNumber == i.number);
            check_split(a.extra);
            for (const auto& e : a.endpoints) check_split(e.extra);
        }
    }
    check_readers(*config);

    const auto encoded = encode_usb_configuration(*config);
    if (!encoded) {
        // Only more than 255 interfaces or endpoints, or more than 64 KiB, cannot be encoded.
        FUZZ_CHECK(encoded.error() == UsbConfigError::TooLarge);
        return 0;
    }
    if (canonical(raw)) {
        const auto again = parse_usb_configuration(*encoded);
        FUZZ_CHECK(again.has_value());
        // The encoder recomputes bNumEndpoints from the endpoints actually present.
        auto expected = config->interfaces;
        for (auto& i : expected)
            for (auto& a : i.alt_settings) a.bNumEndpoints = static_cast<std::uint8_t>(a.endpoints.size());
        FUZZ_CHECK(again->interfaces == expected);
        FUZZ_CHECK(again->extra == config->extra);
        FUZZ_CHECK(again->bConfigurationValue == config->bConfigurationValue);
        FUZZ_CHECK(encode_usb_configuration(*again) == encoded);
    }
    return 0;
}

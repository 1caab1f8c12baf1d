#include "api/part10.h"

#include <algorithm>

namespace ccidkit::api::part10 {

namespace {

bool has_pin_pad(const ReaderDescription& d) { return d.pin_pad.verify || d.pin_pad.modify; }

void put_le(Bytes& out, std::uint32_t value, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_property(Bytes& out, std::uint8_t tag, std::uint32_t value, std::uint8_t size) {
    out.push_back(tag);
    out.push_back(size);
    put_le(out, value, size);
}

}  // namespace

std::vector<Feature> features(const ReaderDescription& d) {
    std::vector<Feature> list;
    if (d.pin_pad.verify)
        list.push_back({FEATURE_VERIFY_PIN_DIRECT, feature_control_code(FEATURE_VERIFY_PIN_DIRECT)});
    if (d.pin_pad.modify)
        list.push_back({FEATURE_MODIFY_PIN_DIRECT, feature_control_code(FEATURE_MODIFY_PIN_DIRECT)});
    if (has_pin_pad(d))
        list.push_back({FEATURE_IFD_PIN_PROPERTIES, feature_control_code(FEATURE_IFD_PIN_PROPERTIES)});
    list.push_back({FEATURE_GET_TLV_PROPERTIES, feature_control_code(FEATURE_GET_TLV_PROPERTIES)});
    if (d.escape_allowed) list.push_back({FEATURE_CCID_ESC_COMMAND, kVendorIfdExchange});
    return list;
}

std::optional<std::uint8_t> feature_of(const ReaderDescription& d, DWORD control_code) {
    for (const Feature& f : features(d))
        if (f.control_code == control_code) return f.tag;
    return std::nullopt;
}

Bytes feature_request_answer(const ReaderDescription& d) {
    Bytes out;
    for (const Feature& f : features(d)) {
        out.push_back(f.tag);
        out.push_back(4);
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(f.control_code >> shift));
    }
    return out;
}

Bytes pin_properties_answer(const ReaderDescription& d) {
    Bytes out;
    put_le(out, d.pin_pad.lcd_layout, 2);
    out.push_back(d.pin_pad.entry_validation_condition);
    out.push_back(0x00);  // bTimeOut2: no separate timeout after the first key
    return out;
}

Bytes tlv_properties_answer(const ReaderDescription& d) {
    Bytes out;
    const std::uint16_t layout = d.pin_pad.lcd_layout;
    put_property(out, PCSCv2_PART10_PROPERTY_wLcdLayout, layout, 2);
    if (layout != 0) {
        put_property(out, PCSCv2_PART10_PROPERTY_wLcdMaxCharacters, layout & 0xFFu, 2);
        put_property(out, PCSCv2_PART10_PROPERTY_wLcdMaxLines, layout >> 8, 2);
    }
    put_property(out, PCSCv2_PART10_PROPERTY_bTimeOut2, 0, 1);
    if (!d.firmware_id.empty()) {
        const std::size_t n = std::min<std::size_t>(d.firmware_id.size(), 255);
        out.push_back(PCSCv2_PART10_PROPERTY_sFirmwareID);
        out.push_back(static_cast<std::uint8_t>(n));
        out.insert(out.end(), d.firmware_id.begin(), d.firmware_id.begin() + static_cast<std::ptrdiff_t>(n));
    }
    if (has_pin_pad(d)) {
        if (d.pin_pad.min_pin_size != 0 || d.pin_pad.max_pin_size != 0) {
            put_property(out, PCSCv2_PART10_PROPERTY_bMinPINSize, d.pin_pad.min_pin_size, 1);
            put_property(out, PCSCv2_PART10_PROPERTY_bMaxPINSize, d.pin_pad.max_pin_size, 1);
        }
        put_property(out, PCSCv2_PART10_PROPERTY_bEntryValidationCondition,
                     d.pin_pad.entry_validation_condition, 1);
    }
    // bit 0: PPDU through FEATURE_CCID_ESC_COMMAND
    put_property(out, PCSCv2_PART10_PROPERTY_bPPDUSupport, d.escape_allowed ? 1u : 0u, 1);
    put_property(out, PCSCv2_PART10_PROPERTY_wIdVendor, d.vendor_id, 2);
    put_property(out, PCSCv2_PART10_PROPERTY_wIdProduct, d.product_id, 2);
    put_property(out, PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize, d.max_apdu_data_size, 4);
    return out;
}

}  // namespace ccidkit::api::part10

#include "api/attributes.h"

#include "PCSC/reader.h"

namespace ccidkit::api {

namespace {

Bytes dword(std::uint32_t v) {
    Bytes b(4);
    store_le32(b.data(), v);
    return b;
}

// libccid answers an absent string with an empty value (length 0) rather than an error.
Bytes c_string(const std::string& s) {
    if (s.empty()) return {};
    Bytes b(s.begin(), s.end());
    b.push_back(0);
    return b;
}

}  // namespace

std::optional<Bytes> core_attribute(DWORD id, const AttributeContext& ctx) {
    const ReaderDescription& d = ctx.description;
    switch (id) {
        case SCARD_ATTR_ATR_STRING:
            return ctx.card_powered ? Bytes(ctx.atr.begin(), ctx.atr.end()) : Bytes{};
        case SCARD_ATTR_ICC_PRESENCE:
            // 0 absent, 2 present (1 "not swallowed" and 4 "confiscated" do not apply to USB readers)
            return Bytes{static_cast<std::uint8_t>(ctx.card_present ? 2 : 0)};
        case SCARD_ATTR_ICC_INTERFACE_STATUS:
            return Bytes{static_cast<std::uint8_t>(ctx.card_powered ? 1 : 0)};
        case SCARD_ATTR_CURRENT_PROTOCOL_TYPE:
            return dword(static_cast<std::uint32_t>(ctx.protocol));
        case SCARD_ATTR_VENDOR_NAME:
            return c_string(d.vendor);
        case SCARD_ATTR_VENDOR_IFD_TYPE:
            return c_string(d.model);
        case SCARD_ATTR_VENDOR_IFD_VERSION:
            // 0xMMmmbbbb: major, minor, build; bcdDevice fills major and minor.
            return dword(static_cast<std::uint32_t>(d.bcd_device) << 16);
        case SCARD_ATTR_VENDOR_IFD_SERIAL_NO:
            return c_string(d.serial);
        case SCARD_ATTR_CHANNEL_ID:
            if (d.channel_id == 0) return std::nullopt;
            return dword(d.channel_id);
        case SCARD_ATTR_MAXINPUT:
            if (d.max_input == 0) return std::nullopt;
            return dword(d.max_input);
        case SCARD_ATTR_DEVICE_FRIENDLY_NAME_A:
        case SCARD_ATTR_DEVICE_SYSTEM_NAME_A:
            return c_string(ctx.reader_name);
        default:
            return std::nullopt;
    }
}

}  // namespace ccidkit::api

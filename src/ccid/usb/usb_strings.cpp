#include "ccid/usb/usb_strings.h"

#include <algorithm>

namespace ccidkit::ccid::usb {

namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

constexpr std::uint32_t kReplacement = 0xFFFD;

bool is_high_surrogate(std::uint32_t u) { return u >= 0xD800 && u <= 0xDBFF; }
bool is_low_surrogate(std::uint32_t u) { return u >= 0xDC00 && u <= 0xDFFF; }

// Payload of a descriptor: bytes 2..min(bLength, size), or nullopt if the header is unusable.
std::optional<ByteView> payload(ByteView raw) {
    if (raw.size() < 2 || raw[1] != kStringDescriptorType) return std::nullopt;
    const std::size_t length = std::min<std::size_t>(raw[0], raw.size());
    if (length < 2) return std::nullopt;
    return raw.subspan(2, length - 2);
}

}  // namespace

std::optional<std::string> decode_string_descriptor(ByteView raw) {
    const auto body = payload(raw);
    if (!body) return std::nullopt;
    const std::size_t units = body->size() / 2;
    std::string out;
    out.reserve(units);
    for (std::size_t i = 0; i < units; ++i) {
        std::uint32_t cp = load_le16(body->data() + 2 * i);
        if (is_high_surrogate(cp)) {
            const bool paired = i + 1 < units && is_low_surrogate(load_le16(body->data() + 2 * (i + 1)));
            if (paired) {
                const std::uint32_t low = load_le16(body->data() + 2 * (i + 1));
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                ++i;
            } else {
                cp = kReplacement;
            }
        } else if (is_low_surrogate(cp)) {
            cp = kReplacement;
        }
        if (cp == 0) continue;
        if (cp < 0x20 || cp == 0x7F) cp = '?';
        append_utf8(out, cp);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::optional<std::uint16_t> first_language_id(ByteView raw) {
    const auto body = payload(raw);
    if (!body || body->size() < 2) return std::nullopt;
    return load_le16(body->data());
}

}  // namespace ccidkit::ccid::usb

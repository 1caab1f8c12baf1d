// Bytes a USB device hands the libusb transport beyond its configuration descriptor: string
// descriptors (reader names and serial numbers shown to users and used in reader names;
// libccid's serial-number overflow, CVE-2010-4530, came from one) and the "extra" descriptor
// runs searched for the CCID class descriptor.
// Input: byte 0 = the descriptor type looked for in the run; the rest is both the run and the
// string descriptor.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "ccid/usb/usb_descriptor_scan.h"
#include "ccid/usb/usb_strings.h"
#include "fuzz_support.h"

using namespace ccidkit;
using namespace ccidkit::ccid::usb;

namespace {

// Well-formed UTF-8 (shortest forms, no surrogates, at most U+10FFFF).
bool valid_utf8(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (b < 0x80) {
            ++i;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            n = 1;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            n = 2;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            n = 3;
            cp = b & 0x07;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;  // truncated sequence
        for (std::size_t k = 1; k <= n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (c & 0x3F);
        }
        const std::uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

void check_scan(ByteView run, std::uint8_t type) {
    const auto found = find_descriptor(run, type);
    // Walk the run independently: the first well-formed descriptor of `type` before any
    // malformed entry is the answer.
    std::size_t offset = 0;
    std::optional<std::size_t> expected;
    while (run.size() - offset >= 2) {
        const std::size_t length = run[offset];
        if (length < 2 || length > run.size() - offset) break;
        if (run[offset + 1] == type) {
            expected = offset;
            break;
        }
        offset += length;
    }
    FUZZ_CHECK(found.has_value() == expected.has_value());
    if (!found) return;
    FUZZ_CHECK(found->data() == run.data() + *expected);
    FUZZ_CHECK(found->size() >= 2 && found->size() == (*found)[0]);
    FUZZ_CHECK((*found)[1] == type);
    FUZZ_CHECK(found->data() + found->size() <= run.data() + run.size());
}

void check_string(ByteView raw) {
    const bool usable = raw.size() >= 2 && raw[1] == kStringDescriptorType &&
                        std::min<std::size_t>(raw[0], raw.size()) >= 2;
    const auto text = decode_string_descriptor(raw);
    FUZZ_CHECK(text.has_value() == usable);
    const auto lang = first_language_id(raw);
    if (!usable) {
        FUZZ_CHECK(!lang);
        return;
    }
    const std::size_t units = (std::min<std::size_t>(raw[0], raw.size()) - 2) / 2;
    FUZZ_CHECK(lang.has_value() == (units >= 1));
    if (lang) FUZZ_CHECK(*lang == load_le16(raw.data() + 2));
    // At most 3 UTF-8 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    FUZZ_CHECK(text->size() <= 3 * units);
    FUZZ_CHECK(valid_utf8(*text));
    for (const char c : *text) {
        const auto b = static_cast<unsigned char>(c);
        FUZZ_CHECK(b >= 0x20 && b != 0x7F);  // no NUL, no control character
    }
    FUZZ_CHECK(text->empty() || text->back() != ' ');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t type = data[0];
    const ByteView rest(data + 1, size - 1);
    check_scan(rest, type);
    check_scan(rest, kCcidClassDescriptorType);
    check_string(rest);
    return 0;
}

#include "sim/reader/reader_pinpad.h"

#include <algorithm>
#include <cstddef>

namespace ccidkit::sim {

std::string_view to_string(PinPadError e) {
    switch (e) {
        case PinPadError::BadFormat: return "PIN format not supported (bmFormatString) or PIN not all digits";
        case PinPadError::PinLengthOutOfRange: return "PIN length outside wPINMaxExtraDigit";
        case PinPadError::TemplateTooShort: return "abPINApdu lacks CLA INS P1 P2";
        case PinPadError::DoesNotFit: return "PIN or PIN length does not fit the PIN block / APDU";
    }
    return "unknown PIN pad error";
}

namespace {

constexpr unsigned kFormatBinary = 0;
constexpr unsigned kFormatBcd = 1;
constexpr unsigned kFormatAscii = 2;
constexpr std::size_t kMaxData = 255;

struct PinFormat {
    bool position_in_bytes = false;
    unsigned position = 0;
    bool right_justify = false;
    unsigned format = 0;
    unsigned length_bits = 0;
    unsigned block_bytes = 0;
    bool length_position_in_bytes = false;
    unsigned length_position = 0;
    unsigned min_digits = 0;
    unsigned max_digits = 0;
};

PinFormat read_format(std::uint8_t format_string, std::uint8_t block_string, std::uint8_t length_format,
                      std::uint16_t extra_digit) {
    PinFormat f;
    f.position_in_bytes = (format_string & 0x80) != 0;
    f.position = (format_string >> 3) & 0x0F;
    f.right_justify = (format_string & 0x04) != 0;
    f.format = format_string & 0x03;
    f.length_bits = block_string >> 4;
    f.block_bytes = block_string & 0x0F;
    f.length_position_in_bytes = (length_format & 0x10) != 0;
    f.length_position = length_format & 0x0F;
    f.min_digits = extra_digit >> 8;
    f.max_digits = extra_digit & 0xFF;
    return f;
}

// Bit offsets count from the most significant bit of data[0].
void put_bits(Bytes& data, std::size_t bit_offset, unsigned bits, std::uint32_t value) {
    for (unsigned i = 0; i < bits; ++i) {
        const std::size_t at = bit_offset + i;
        const std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (at % 8));
        if ((value >> (bits - 1 - i)) & 1u) {
            data[at / 8] |= mask;
        } else {
            data[at / 8] &= static_cast<std::uint8_t>(~mask);
        }
    }
}

void ensure_size(Bytes& data, std::size_t bytes) {
    if (data.size() < bytes) data.resize(bytes, 0xFF);
}

std::expected<void, PinPadError> write_pin(Bytes& data, std::size_t block_start, const PinFormat& f,
                                           std::string_view pin) {
    if (f.format != kFormatBinary && f.format != kFormatBcd && f.format != kFormatAscii) {
        return std::unexpected(PinPadError::BadFormat);
    }
    if (!std::ranges::all_of(pin, [](char c) { return c >= '0' && c <= '9'; })) {
        return std::unexpected(PinPadError::BadFormat);
    }
    if (pin.size() < f.min_digits || (f.max_digits != 0 && pin.size() > f.max_digits)) {
        return std::unexpected(PinPadError::PinLengthOutOfRange);
    }
    const unsigned digit_bits = f.format == kFormatBcd ? 4 : 8;
    const std::size_t pin_bits = pin.size() * digit_bits;
    const std::size_t block_begin = block_start * 8;
    std::size_t pin_offset = block_begin + f.position * (f.position_in_bytes ? 8u : 1u);
    std::size_t end_bits = pin_offset + pin_bits;
    if (f.block_bytes > 0) {
        const std::size_t block_end = block_begin + f.block_bytes * 8u;
        if (f.right_justify) {
            if (pin_bits > block_end - block_begin) return std::unexpected(PinPadError::DoesNotFit);
            pin_offset = block_end - pin_bits;
            end_bits = block_end;
        }
        if (end_bits > block_end) return std::unexpected(PinPadError::DoesNotFit);
        end_bits = block_end;
    }
    std::size_t length_offset = 0;
    if (f.length_bits > 0) {
        length_offset = block_begin + f.length_position * (f.length_position_in_bytes ? 8u : 1u);
        if (f.length_bits < 32 && pin.size() >= (std::size_t{1} << f.length_bits)) {
            return std::unexpected(PinPadError::DoesNotFit);
        }
        const std::size_t length_end = length_offset + f.length_bits;
        if (f.block_bytes > 0 && length_end > end_bits) return std::unexpected(PinPadError::DoesNotFit);
        end_bits = std::max(end_bits, length_end);
    }
    const std::size_t bytes = (end_bits + 7) / 8;
    if (bytes > kMaxData) return std::unexpected(PinPadError::DoesNotFit);
    ensure_size(data, bytes);
    for (std::size_t i = 0; i < pin.size(); ++i) {
        const unsigned digit = static_cast<unsigned>(pin[i] - '0');
        const std::uint32_t coded = f.format == kFormatAscii ? static_cast<std::uint32_t>(pin[i]) : digit;
        put_bits(data, pin_offset + i * digit_bits, digit_bits, coded);
    }
    if (f.length_bits > 0) {
        put_bits(data, length_offset, std::min(f.length_bits, 32u), static_cast<std::uint32_t>(pin.size()));
    }
    return {};
}

struct Template {
    Bytes header;
    Bytes data;
};

std::expected<Template, PinPadError> split_template(ByteView apdu) {
    if (apdu.size() < 4) return std::unexpected(PinPadError::TemplateTooShort);
    Template t;
    t.header.assign(apdu.begin(), apdu.begin() + 4);
    if (apdu.size() > 5) {
        const std::size_t lc = std::min<std::size_t>(apdu[4], apdu.size() - 5);
        t.data.assign(apdu.begin() + 5, apdu.begin() + 5 + static_cast<std::ptrdiff_t>(lc));
    }
    return t;
}

Bytes assemble(const Template& t) {
    Bytes apdu = t.header;
    if (!t.data.empty()) {
        apdu.push_back(static_cast<std::uint8_t>(t.data.size()));
        apdu.insert(apdu.end(), t.data.begin(), t.data.end());
    }
    return apdu;
}

}  // namespace

std::expected<Bytes, PinPadError> build_verify_apdu(const ccid::PinVerify& verify, std::string_view pin) {
    auto t = split_template(verify.abPINApdu);
    if (!t) return std::unexpected(t.error());
    const PinFormat f =
        read_format(verify.bmFormatString, verify.bmPINBlockString, verify.bmPINLengthFormat, verify.wPINMaxExtraDigit);
    if (auto ok = write_pin(t->data, 0, f, pin); !ok) return std::unexpected(ok.error());
    return assemble(*t);
}

std::expected<Bytes, PinPadError> build_modify_apdu(const ccid::PinModify& modify, std::string_view current_pin,
                                                    std::string_view new_pin) {
    auto t = split_template(modify.abPINApdu);
    if (!t) return std::unexpected(t.error());
    const PinFormat f =
        read_format(modify.bmFormatString, modify.bmPINBlockString, modify.bmPINLengthFormat, modify.wPINMaxExtraDigit);
    if ((modify.bConfirmPIN & 0x02) != 0) {
        if (auto ok = write_pin(t->data, modify.bInsertionOffsetOld, f, current_pin); !ok) {
            return std::unexpected(ok.error());
        }
    }
    if (auto ok = write_pin(t->data, modify.bInsertionOffsetNew, f, new_pin); !ok) return std::unexpected(ok.error());
    return assemble(*t);
}

}  // namespace ccidkit::sim

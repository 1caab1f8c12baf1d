#include "json.h"

#include <cassert>
#include <cmath>
#include <cstdio>

namespace ccidkit::ccidctl {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

}  // namespace

std::string json_quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out.push_back('"');
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        const char* escape = nullptr;
        switch (c) {
            case '"': escape = "\\\""; break;
            case '\\': escape = "\\\\"; break;
            case '\n': escape = "\\n"; break;
            case '\r': escape = "\\r"; break;
            case '\t': escape = "\\t"; break;
            default: break;
        }
        if (escape != nullptr) {
            out += escape;
            ++i;
            continue;
        }
        if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            ++i;
            continue;
        }
        const std::size_t n = utf8_sequence_length(text, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
            ++i;
            continue;
        }
        out.append(text.substr(i, n));
        i += n;
    }
    out.push_back('"');
    return out;
}

JsonWriter::~JsonWriter() {
    if (complete()) out_ << '\n';
}

void JsonWriter::newline_indent() {
    if (compact_) return;
    out_ << '\n';
    for (std::size_t i = 0; i < stack_.size(); ++i) out_ << "  ";
}

void JsonWriter::before_value() {
    if (stack_.empty()) {
        assert(!wrote_root_ && "one root value per document");
        wrote_root_ = true;
        return;
    }
    if (stack_.back() == Frame::Object) {
        assert(key_pending_ && "object members need a key");
        key_pending_ = false;
        return;
    }
    if (has_items_.back()) out_ << ',';
    has_items_.back() = true;
    newline_indent();
}

JsonWriter& JsonWriter::key(std::string_view name) {
    assert(!stack_.empty() && stack_.back() == Frame::Object && !key_pending_);
    if (has_items_.back()) out_ << ',';
    has_items_.back() = true;
    newline_indent();
    out_ << json_quote(name) << (compact_ ? ":" : ": ");
    key_pending_ = true;
    return *this;
}

JsonWriter& JsonWriter::begin_object() {
    before_value();
    out_ << '{';
    stack_.push_back(Frame::Object);
    has_items_.push_back(false);
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    before_value();
    out_ << '[';
    stack_.push_back(Frame::Array);
    has_items_.push_back(false);
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    assert(!stack_.empty() && stack_.back() == Frame::Object && !key_pending_);
    if (stack_.empty()) return *this;
    const bool items = has_items_.back();
    stack_.pop_back();
    has_items_.pop_back();
    if (items) newline_indent();
    out_ << '}';
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    assert(!stack_.empty() && stack_.back() == Frame::Array);
    if (stack_.empty()) return *this;
    const bool items = has_items_.back();
    stack_.pop_back();
    has_items_.pop_back();
    if (items) newline_indent();
    out_ << ']';
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
    before_value();
    out_ << json_quote(s);
    return *this;
}

JsonWriter& JsonWriter::value(bool b) {
    before_value();
    out_ << (b ? "true" : "false");
    return *this;
}

JsonWriter& JsonWriter::value(std::int64_t n) {
    before_value();
    out_ << n;
    return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t n) {
    before_value();
    out_ << n;
    return *this;
}

JsonWriter& JsonWriter::value(double d) {
    if (!std::isfinite(d)) return null();
    before_value();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", d);
    out_ << buf;
    return *this;
}

JsonWriter& JsonWriter::null() {
    before_value();
    out_ << "null";
    return *this;
}

JsonWriter& JsonWriter::hex(ByteView bytes) { return value(to_hex(bytes, '\0')); }

JsonWriter& JsonWriter::string_array(std::string_view name, const std::vector<std::string>& items) {
    key(name);
    begin_array();
    for (const auto& s : items) value(s);
    return end_array();
}

}  // namespace ccidkit::ccidctl

// A minimal strict JSON parser (RFC 8259) for the tests: ccidctl's --json output is parsed
// back with it, so a stray comma, an unescaped control character or a second document makes
// the test fail. Not the emitter's code: an independent reading of the format.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace ccidkit::testing_json {

struct Value {
    enum class Type { Null, Bool, Number, String, Array, Object } type = Type::Null;
    bool boolean = false;
    double number = 0;
    std::string string;
    std::vector<Value> items;       // array elements, or object values
    std::vector<std::string> keys;  // object keys, parallel to items

    bool is_null() const { return type == Type::Null; }
    // Object member (nullptr when absent or not an object).
    const Value* find(std::string_view key) const {
        if (type != Type::Object) return nullptr;
        for (std::size_t i = 0; i < keys.size(); ++i)
            if (keys[i] == key) return &items[i];
        return nullptr;
    }
    // Object member that must exist: a Null value otherwise.
    const Value& operator[](std::string_view key) const {
        static const Value null;
        const Value* v = find(key);
        return v ? *v : null;
    }
    const Value& operator[](std::size_t i) const {
        static const Value null;
        return type == Type::Array && i < items.size() ? items[i] : null;
    }
    std::size_t size() const { return items.size(); }
    std::int64_t integer() const { return static_cast<std::int64_t>(number); }
};

class Parser {
public:
    explicit Parser(std::string_view text) : s_(text) {}

    // The whole text must be exactly one value (surrounding whitespace allowed).
    std::optional<Value> document() {
        auto v = value(0);
        skip_ws();
        if (!v || pos_ != s_.size()) return std::nullopt;
        return v;
    }

    std::string error_context() const {
        return "at offset " + std::to_string(pos_) + ": '" + std::string(s_.substr(pos_, 20)) + "'";
    }

private:
    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }
    bool eat(char c) {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    std::optional<Value> value(int depth) {
        if (depth > 64) return std::nullopt;
        skip_ws();
        if (pos_ >= s_.size()) return std::nullopt;
        Value v;
        const char c = s_[pos_];
        if (c == '{') {
            ++pos_;
            v.type = Value::Type::Object;
            if (eat('}')) return v;
            do {
                skip_ws();
                auto k = string();
                if (!k || !eat(':')) return std::nullopt;
                auto item = value(depth + 1);
                if (!item) return std::nullopt;
                v.keys.push_back(std::move(*k));
                v.items.push_back(std::move(*item));
            } while (eat(','));
            if (!eat('}')) return std::nullopt;
            return v;
        }
        if (c == '[') {
            ++pos_;
            v.type = Value::Type::Array;
            if (eat(']')) return v;
            do {
                auto item = value(depth + 1);
                if (!item) return std::nullopt;
                v.items.push_back(std::move(*item));
            } while (eat(','));
            if (!eat(']')) return std::nullopt;
            return v;
        }
        if (c == '"') {
            auto str = string();
            if (!str) return std::nullopt;
            v.type = Value::Type::String;
            v.string = std::move(*str);
            return v;
        }
        if (literal("true")) {
            v.type = Value::Type::Bool;
            v.boolean = true;
            return v;
        }
        if (literal("false")) {
            v.type = Value::Type::Bool;
            return v;
        }
        if (literal("null")) return v;
        return number();
    }

    std::optional<Value> number() {
        const std::size_t start = pos_;
        if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
        if (pos_ >= s_.size() || !isdigit(s_[pos_])) return std::nullopt;
        if (s_[pos_] == '0') {
            ++pos_;
        } else {
            while (pos_ < s_.size() && isdigit(s_[pos_])) ++pos_;
        }
        if (pos_ < s_.size() && s_[pos_] == '.') {
            ++pos_;
            if (pos_ >= s_.size() || !isdigit(s_[pos_])) return std::nullopt;
            while (pos_ < s_.size() && isdigit(s_[pos_])) ++pos_;
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (pos_ >= s_.size() || !isdigit(s_[pos_])) return std::nullopt;
            while (pos_ < s_.size() && isdigit(s_[pos_])) ++pos_;
        }
        Value v;
        v.type = Value::Type::Number;
        std::istringstream in{std::string(s_.substr(start, pos_ - start))};
        in >> v.number;
        return v;
    }

    static bool isdigit(char c) { return c >= '0' && c <= '9'; }

    std::optional<unsigned> hex4() {
        if (pos_ + 4 > s_.size()) return std::nullopt;
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= static_cast<unsigned>(c - 'A' + 10);
            else
                return std::nullopt;
        }
        return v;
    }

    static void append_utf8(std::string& out, unsigned cp) {
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

    std::optional<std::string> string() {
        if (pos_ >= s_.size() || s_[pos_] != '"') return std::nullopt;
        ++pos_;
        std::string out;
        while (pos_ < s_.size()) {
            const auto c = static_cast<unsigned char>(s_[pos_++]);
            if (c == '"') return out;
            if (c < 0x20) return std::nullopt;  // control characters must be escaped
            if (c != '\\') {
                out.push_back(static_cast<char>(c));
                continue;
            }
            if (pos_ >= s_.size()) return std::nullopt;
            const char e = s_[pos_++];
            switch (e) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': {
                    auto cp = hex4();
                    if (!cp) return std::nullopt;
                    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
                        if (!literal("\\u")) return std::nullopt;
                        auto lo = hex4();
                        if (!lo || *lo < 0xDC00 || *lo > 0xDFFF) return std::nullopt;
                        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
                    }
                    append_utf8(out, *cp);
                    break;
                }
                default: return std::nullopt;
            }
        }
        return std::nullopt;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

inline std::optional<Value> parse(std::string_view text) { return Parser(text).document(); }

// One document per non-empty line (JSON Lines).
inline std::optional<std::vector<Value>> parse_lines(std::string_view text) {
    std::vector<Value> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty()) continue;
        auto v = parse(line);
        if (!v) return std::nullopt;
        out.push_back(std::move(*v));
    }
    return out;
}

}  // namespace ccidkit::testing_json

// A small streaming JSON writer for `--json` output (RFC 8259): objects, arrays, strings,
// integers, booleans and null, pretty-printed with two-space indentation. It keeps the comma
// and nesting bookkeeping so commands only say what to write. Misuse (a value where a key is
// due, closing the wrong container) is a programming error caught by assertions in debug
// builds and written out as best it can otherwise.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace ccidkit::ccidctl {

// `text` as a JSON string literal, quotes included. Invalid UTF-8 bytes become U+FFFD, so
// untrusted device strings can never break the document.
std::string json_quote(std::string_view text);

class JsonWriter {
public:
    // compact: the whole document on one line (JSON Lines output of streaming commands).
    explicit JsonWriter(std::ostream& out, bool compact = false) : out_(out), compact_(compact) {}
    // Ends the document with a newline if something was written and everything is closed.
    ~JsonWriter();

    JsonWriter(const JsonWriter&) = delete;
    JsonWriter& operator=(const JsonWriter&) = delete;

    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view name);

    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(bool b);
    JsonWriter& value(std::int64_t n);
    JsonWriter& value(std::uint64_t n);
    JsonWriter& value(int n) { return value(static_cast<std::int64_t>(n)); }
    JsonWriter& value(unsigned n) { return value(static_cast<std::uint64_t>(n)); }
    JsonWriter& value(double d);  // non-finite values become null
    JsonWriter& null();
    // Bytes as an upper-case hex string without separators ("3B8F80").
    JsonWriter& hex(ByteView bytes);

    // key + value in one call.
    template <typename T>
    JsonWriter& field(std::string_view name, const T& v) {
        key(name);
        return value(v);
    }
    JsonWriter& hex_field(std::string_view name, ByteView bytes) {
        key(name);
        return hex(bytes);
    }
    JsonWriter& string_array(std::string_view name, const std::vector<std::string>& items);

    // True when every container that was opened has been closed.
    bool complete() const { return stack_.empty() && wrote_root_; }

private:
    enum class Frame : std::uint8_t { Object, Array };
    void before_value();
    void newline_indent();

    std::ostream& out_;
    std::vector<Frame> stack_;
    std::vector<bool> has_items_;
    bool key_pending_ = false;
    bool wrote_root_ = false;
    bool compact_ = false;
};

}  // namespace ccidkit::ccidctl

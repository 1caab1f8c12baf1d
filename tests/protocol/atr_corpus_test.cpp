// Every literal ATR of pcsc-tools' smartcard_list.txt through parse_atr, cross-checked against
// pyscard's independent decoder (smartcard.ATR.ATR) run once, in one batch, by
// scripts/pyscard_atr.py.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/atr.h"
#include "protocol/atr_explain.h"

using namespace ccidkit;
using namespace ccidkit::proto;

namespace {

constexpr const char* kListPath = "/usr/share/pcsc/smartcard_list.txt";
constexpr const char* kPython = "/usr/bin/python3";

// Counts for Debian bookworm's pcsc-tools 1.6.2 list (see docs/PROTOCOL.md).
constexpr std::size_t kPinnedLiteral = 3803;
constexpr std::size_t kPinnedPatterns = 238;
constexpr std::size_t kPinnedValid = 3702;
constexpr std::size_t kPinnedTruncated = 0;
constexpr std::size_t kPinnedHistoricalTruncated = 21;
constexpr std::size_t kPinnedTckMissing = 21;
constexpr std::size_t kPinnedTckMismatch = 17;
constexpr std::size_t kPinnedUnexpectedTck = 1;
constexpr std::size_t kPinnedTrailing = 32;
constexpr std::size_t kPinnedTooLong = 0;
constexpr std::size_t kPinnedInvalidFiDi = 9;
constexpr std::size_t kPinnedWarnings = 7;

// ---- A minimal JSON reader for the script's one-object-per-line output. ----
struct Json {
    enum class Type { Null, Bool, Number, String, Array, Object } type = Type::Null;
    bool boolean = false;
    long long number = 0;
    std::string text;
    std::vector<Json> items;
    std::vector<std::pair<std::string, Json>> members;

    const Json* get(std::string_view key) const {
        for (const auto& [k, v] : members) {
            if (k == key) return &v;
        }
        return nullptr;
    }
};

class JsonReader {
public:
    explicit JsonReader(std::string_view s) : s_(s) {}
    std::optional<Json> document() {
        auto v = value(0);
        skip_ws();
        if (!v || pos_ != s_.size()) return std::nullopt;
        return v;
    }

private:
    void skip_ws() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
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
    std::optional<std::string> string() {
        if (!eat('"')) return std::nullopt;
        std::string out;
        while (pos_ < s_.size() && s_[pos_] != '"') {
            char c = s_[pos_++];
            if (c == '\\') {
                if (pos_ >= s_.size()) return std::nullopt;
                c = s_[pos_++];
                if (c == 'u') {  // only ASCII escapes are expected; keep a placeholder otherwise
                    if (pos_ + 4 > s_.size()) return std::nullopt;
                    const int code = std::stoi(std::string(s_.substr(pos_, 4)), nullptr, 16);
                    pos_ += 4;
                    c = code < 0x80 ? static_cast<char>(code) : '?';
                } else if (c == 'n') {
                    c = '\n';
                } else if (c == 't') {
                    c = '\t';
                }
            }
            out.push_back(c);
        }
        if (pos_ >= s_.size()) return std::nullopt;
        ++pos_;
        return out;
    }
    std::optional<Json> value(int depth) {
        if (depth > 8) return std::nullopt;
        skip_ws();
        if (pos_ >= s_.size()) return std::nullopt;
        Json v;
        const char c = s_[pos_];
        if (c == '{') {
            ++pos_;
            v.type = Json::Type::Object;
            if (eat('}')) return v;
            do {
                auto key = string();
                if (!key || !eat(':')) return std::nullopt;
                auto member = value(depth + 1);
                if (!member) return std::nullopt;
                v.members.emplace_back(std::move(*key), std::move(*member));
            } while (eat(','));
            if (!eat('}')) return std::nullopt;
        } else if (c == '[') {
            ++pos_;
            v.type = Json::Type::Array;
            if (eat(']')) return v;
            do {
                auto item = value(depth + 1);
                if (!item) return std::nullopt;
                v.items.push_back(std::move(*item));
            } while (eat(','));
            if (!eat(']')) return std::nullopt;
        } else if (c == '"') {
            auto s = string();
            if (!s) return std::nullopt;
            v.type = Json::Type::String;
            v.text = std::move(*s);
        } else if (literal("null")) {
            v.type = Json::Type::Null;
        } else if (literal("true")) {
            v.type = Json::Type::Bool;
            v.boolean = true;
        } else if (literal("false")) {
            v.type = Json::Type::Bool;
        } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
            std::size_t used = 0;
            v.type = Json::Type::Number;
            v.number = std::stoll(std::string(s_.substr(pos_, 24)), &used);
            pos_ += used;
        } else {
            return std::nullopt;
        }
        return v;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

// ---- Corpus extraction. ----
struct Corpus {
    std::vector<std::string> literal;  // normalised "3B 02 14 50"
    std::size_t patterns = 0;          // 3B/3F lines with regex syntax (".", "[", ...)
};

std::optional<Corpus> load_corpus() {
    std::ifstream in(kListPath);
    if (!in) return std::nullopt;
    Corpus c;
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("3B", 0) != 0 && line.rfind("3F", 0) != 0) continue;
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
        const bool literal = line.find_first_not_of("0123456789ABCDEFabcdef ") == std::string::npos;
        const auto bytes = literal ? from_hex(line) : std::nullopt;
        if (!bytes) {
            ++c.patterns;
            continue;
        }
        c.literal.push_back(to_hex(*bytes));
    }
    return c;
}

// Runs the script once over every ATR. nullopt (with a reason) when it cannot run here.
std::optional<std::vector<std::string>> run_pyscard(const std::vector<std::string>& atrs, std::string& why) {
    if (access(kPython, X_OK) != 0) {
        why = std::string(kPython) + " is missing";
        return std::nullopt;
    }
    char path[] = "/tmp/ccidkit_atr_corpus_XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) {
        why = "cannot create a temporary file";
        return std::nullopt;
    }
    {
        std::string all;
        for (const auto& a : atrs) all += a + "\n";
        std::FILE* f = fdopen(fd, "w");
        std::fwrite(all.data(), 1, all.size(), f);
        std::fclose(f);
    }
    const std::string command =
        std::string(kPython) + " '" + CCIDKIT_SOURCE_DIR "/scripts/pyscard_atr.py' < '" + path + "'";
    std::FILE* pipe = popen(command.c_str(), "r");
    std::vector<std::string> lines;
    if (pipe != nullptr) {
        std::string current;
        char buf[4096];
        std::size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) current.append(buf, n);
        const int status = pclose(pipe);
        std::size_t start = 0;
        for (std::size_t k = 0; k < current.size(); ++k) {
            if (current[k] == '\n') {
                lines.push_back(current.substr(start, k - start));
                start = k + 1;
            }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            why = WIFEXITED(status) && WEXITSTATUS(status) == 3 ? "python3-pyscard is not installed"
                                                                 : "scripts/pyscard_atr.py failed";
            lines.clear();
        }
    } else {
        why = "popen failed";
    }
    std::remove(path);
    if (lines.empty()) return std::nullopt;
    return lines;
}

// ---- Comparison of one well-formed ATR with pyscard's decode. ----
std::optional<std::uint8_t> our_byte(const Atr& a, InterfaceByteKind kind, std::size_t index) {
    return a.find(kind, static_cast<std::uint8_t>(index));
}

std::string compare(const Atr& a, const Json& py) {
    const Json* ok = py.get("ok");
    if (!ok || !ok->boolean) {
        const Json* e = py.get("error");
        return "pyscard raised " + (e ? e->text : std::string("?"));
    }
    std::size_t groups = 1;
    for (const auto& b : a.interface_bytes()) groups += b.kind == InterfaceByteKind::TD;
    const std::pair<const char*, InterfaceByteKind> columns[] = {{"TA", InterfaceByteKind::TA},
                                                                 {"TB", InterfaceByteKind::TB},
                                                                 {"TC", InterfaceByteKind::TC},
                                                                 {"TD", InterfaceByteKind::TD}};
    for (const auto& [key, kind] : columns) {
        const Json* list = py.get(key);
        if (!list || list->items.size() != groups) return std::string(key) + ": group count differs";
        for (std::size_t i = 0; i < groups; ++i) {
            const Json& item = list->items[i];
            const auto ours = our_byte(a, kind, i + 1);
            const std::optional<std::uint8_t> theirs =
                item.type == Json::Type::Number ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(item.number))
                                                : std::nullopt;
            if (ours != theirs) return std::string(key) + std::to_string(i + 1) + " differs";
        }
    }
    const Json* hist = py.get("historical");
    if (!hist || hist->text != to_hex(a.historical())) return "historical bytes differ";

    // pyscard lists every T of every TDi (15 included), and T=0 when TD1 is absent.
    ProtocolMask mine = a.indicated_protocols;
    if (!a.find(InterfaceByteKind::TD, 1)) mine |= protocol_bit(0);
    ProtocolMask theirs = 0;
    const Json* protocols = py.get("protocols");
    if (!protocols) return "no protocols";
    for (const auto& p : protocols->items) theirs |= protocol_bit(static_cast<std::uint8_t>(p.number));
    if (mine != theirs) return "protocols differ";

    const Json* has_tck = py.get("has_tck");
    if (!has_tck || has_tck->boolean != a.tck.has_value()) return "TCK presence differs";
    return {};
}

// pyscard has no notion of errors beyond exceptions, but its decode must be consistent with
// each class we report. Returns a reason when it is not.
std::string check_malformed(const Atr& a, AtrError error, const Json& py) {
    const Json* ok = py.get("ok");
    const bool decoded = ok && ok->boolean;
    const Json* has_tck = py.get("has_tck");
    const Json* tck_ok = py.get("tck_ok");
    const bool py_tck = decoded && has_tck && has_tck->boolean;
    const bool py_tck_ok = py_tck && tck_ok && tck_ok->boolean;
    switch (error) {
        case AtrError::Truncated:  // pyscard indexes past the end
            return decoded ? "pyscard decoded an ATR with missing interface bytes" : "";
        case AtrError::HistoricalTruncated: {
            if (!decoded) return "pyscard raised";
            const Json* hist = py.get("historical");
            return hist && hist->text == to_hex(a.historical()) ? "" : "partial historical bytes differ";
        }
        case AtrError::TckMissing: return decoded && !py_tck ? "" : "pyscard found a TCK";
        case AtrError::TckMismatch: return py_tck && !py_tck_ok ? "" : "pyscard disagrees on the bad TCK";
        case AtrError::UnexpectedTck: return py_tck_ok ? "" : "pyscard saw no valid TCK";
        case AtrError::TrailingBytes: {
            // pyscard calls the byte after the historical bytes a TCK only when it is the last.
            const bool expect_tck = !a.tck_required && a.input_size == a.end_offset + 1u;
            if (!decoded) return "pyscard raised";
            const Json* hist = py.get("historical");
            if (!hist || hist->text != to_hex(a.historical())) return "historical bytes differ";
            return py_tck == expect_tck ? "" : "pyscard disagrees on the TCK position";
        }
        default: return "";
    }
}

}  // namespace

TEST(AtrCorpus, SmartcardListAgainstPyscard) {
    const auto corpus = load_corpus();
    if (!corpus) GTEST_SKIP() << kListPath << " is missing (Debian package pcsc-tools)";
    ASSERT_GT(corpus->literal.size(), 1000u);

    std::string why;
    const auto py_lines = run_pyscard(corpus->literal, why);
    if (!py_lines) GTEST_SKIP() << "pyscard reference unavailable: " << why;
    ASSERT_EQ(py_lines->size(), corpus->literal.size());

    std::map<AtrError, std::size_t> per_class;
    std::size_t compared = 0, agreed = 0, warnings = 0;
    std::vector<std::string> disagreements;
    for (std::size_t k = 0; k < corpus->literal.size(); ++k) {
        const std::string& text = corpus->literal[k];
        const Bytes bytes = *from_hex(text);
        const AtrParse p = parse_atr(bytes);
        // Explaining must work on anything parse_atr returns.
        ASSERT_FALSE(explain_atr(p).empty()) << text;
        ++per_class[p.error];
        warnings += p.atr.warnings != 0;

        const auto py = JsonReader((*py_lines)[k]).document();
        ASSERT_TRUE(py.has_value()) << (*py_lines)[k];
        const Json* echoed = py->get("atr");
        ASSERT_TRUE(echoed != nullptr && echoed->text == text) << (*py_lines)[k];

        if (p.error == AtrError::None || p.error == AtrError::InvalidFiDi) {
            ++compared;
            const std::string diff = compare(p.atr, *py);
            if (diff.empty()) {
                ++agreed;
            } else {
                disagreements.push_back(text + ": " + diff);
            }
        } else {
            const std::string diff = check_malformed(p.atr, p.error, *py);
            if (!diff.empty()) disagreements.push_back(text + " (" + std::string(to_string(p.error)) + "): " + diff);
        }
    }

    std::printf("smartcard_list.txt: %zu literal ATRs, %zu patterns skipped\n", corpus->literal.size(),
                corpus->patterns);
    for (const auto& [error, count] : per_class) {
        std::printf("  %-60.*s %zu\n", static_cast<int>(to_string(error).size()), to_string(error).data(), count);
    }
    std::printf("  compared with pyscard: %zu, agreed: %zu; ATRs with warnings: %zu\n", compared, agreed, warnings);
    for (const auto& d : disagreements) std::printf("  DISAGREE %s\n", d.c_str());

    // No disagreement with pyscard, neither on well-formed ATRs nor on how malformed ones look.
    EXPECT_TRUE(disagreements.empty());
    EXPECT_EQ(agreed, compared);

    // Pinned for the list shipped by Debian bookworm's pcsc-tools 1.6.2 (the counts are only
    // meaningful for that file; another version prints its numbers without pinning them).
    if (corpus->literal.size() == kPinnedLiteral && corpus->patterns == kPinnedPatterns) {
        EXPECT_EQ(per_class[AtrError::None], kPinnedValid);
        EXPECT_EQ(per_class[AtrError::Truncated], kPinnedTruncated);
        EXPECT_EQ(per_class[AtrError::HistoricalTruncated], kPinnedHistoricalTruncated);
        EXPECT_EQ(per_class[AtrError::TckMissing], kPinnedTckMissing);
        EXPECT_EQ(per_class[AtrError::TckMismatch], kPinnedTckMismatch);
        EXPECT_EQ(per_class[AtrError::UnexpectedTck], kPinnedUnexpectedTck);
        EXPECT_EQ(per_class[AtrError::TrailingBytes], kPinnedTrailing);
        EXPECT_EQ(per_class[AtrError::TooLong], kPinnedTooLong);
        EXPECT_EQ(per_class[AtrError::InvalidFiDi], kPinnedInvalidFiDi);
        EXPECT_EQ(warnings, kPinnedWarnings);
    } else {
        std::printf("  (list differs from the pinned version: counts not checked)\n");
    }
}

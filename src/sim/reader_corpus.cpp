#include "sim/reader_corpus.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iterator>
#include <system_error>

#include <fmt/format.h>

#include "sim/reader_corpus_text.h"

namespace ccidkit::sim {

using namespace corpus_text;

std::string_view to_string(CorpusErrorKind kind) {
    switch (kind) {
        case CorpusErrorKind::Unreadable: return "corpus file unreadable";
        case CorpusErrorKind::NotADescriptorDump: return "not a descriptor dump";
        case CorpusErrorKind::Malformed: return "malformed descriptor dump";
    }
    return "unknown corpus error";
}

namespace {

CorpusError error(CorpusErrorKind kind, std::string message) { return CorpusError{kind, std::move(message)}; }

struct Line {
    std::size_t number = 0;  // 1-based, of the first physical line
    std::string text;
};

bool is_record_start(std::string_view text) { return text.starts_with(" idVendor:"); }

// Splits into lines without CR; inside records, a line with no indentation continues the
// previous one (one dump has a feature phrase wrapped that way).
std::vector<Line> logical_lines(std::string_view text, std::vector<std::string>& notes) {
    std::vector<Line> lines;
    bool crlf_noted = false;
    bool in_record = false;
    std::size_t number = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view raw = text.substr(pos, end - pos);
        pos = end + 1;
        ++number;
        if (!raw.empty() && raw.back() == '\r') {
            raw.remove_suffix(1);
            if (!crlf_noted) notes.push_back("CRLF line endings");
            crlf_noted = true;
        }
        if (trim(raw).empty()) continue;
        in_record = in_record || is_record_start(raw);
        if (in_record && raw.front() != ' ' && !lines.empty()) {
            notes.push_back(fmt::format("line {}: unindented line joined to line {}", number, lines.back().number));
            lines.back().text += ' ';
            lines.back().text += raw;
            continue;
        }
        lines.push_back(Line{number, std::string(raw)});
    }
    return lines;
}

std::size_t indent_of(std::string_view s) {
    const std::size_t first = s.find_first_not_of(' ');
    return first == std::string_view::npos ? s.size() : first;
}

// "key: value" with an identifier key; nullopt for descriptive lines.
std::optional<std::pair<std::string_view, std::string_view>> key_value(std::string_view body) {
    const std::size_t colon = body.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    const std::string_view key = body.substr(0, colon);
    if (!std::all_of(key.begin(), key.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }))
        return std::nullopt;
    std::string_view value = body.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return std::pair{key, value};
}

// ---- Class descriptor fields: where `parse` prints them and at which byte offset they live.
// The offsets come from the dump format (libccid's parse.c), independently of the codec in
// src/ccid/descriptor.cpp, so that the corpus test checks one against the other.

enum class Format {
    HexByte,       // 0x%02X
    Hex16,         // 0x%04X
    Hex32,         // 0x%08X
    Bcd,           // %X.%02X
    ProtocolPair,  // 0x%02X%02X 0x%02X%02X (high word, low word)
    Mhz,           // %.3f MHz of kHz/1000
    DecByte,       // %d, optionally "(will use whatever is returned)"
    Dword,         // %d, optionally followed by a unit
};

struct ClassField {
    std::string_view name;
    std::size_t offset;
    std::size_t width;
    Format format;
    std::string_view unit;
    void (*store)(ccid::CcidDescriptor&, std::uint32_t);
};

using D = ccid::CcidDescriptor;
template <typename T>
T narrow(std::uint32_t v) { return static_cast<T>(v); }

constexpr std::array<ClassField, 22> kClassFields{{
    {"bLength", 0, 1, Format::HexByte, "", [](D& d, std::uint32_t v) { d.bLength = narrow<std::uint8_t>(v); }},
    {"bDescriptorType", 1, 1, Format::HexByte, "", [](D& d, std::uint32_t v) { d.bDescriptorType = narrow<std::uint8_t>(v); }},
    {"bcdCCID", 2, 2, Format::Bcd, "", [](D& d, std::uint32_t v) { d.bcdCCID = narrow<std::uint16_t>(v); }},
    {"bMaxSlotIndex", 4, 1, Format::HexByte, "", [](D& d, std::uint32_t v) { d.bMaxSlotIndex = narrow<std::uint8_t>(v); }},
    {"bVoltageSupport", 5, 1, Format::HexByte, "", [](D& d, std::uint32_t v) { d.bVoltageSupport = narrow<std::uint8_t>(v); }},
    {"dwProtocols", 6, 4, Format::ProtocolPair, "", [](D& d, std::uint32_t v) { d.dwProtocols = v; }},
    {"dwDefaultClock", 10, 4, Format::Mhz, "MHz", [](D& d, std::uint32_t v) { d.dwDefaultClock = v; }},
    {"dwMaximumClock", 14, 4, Format::Mhz, "MHz", [](D& d, std::uint32_t v) { d.dwMaximumClock = v; }},
    {"bNumClockSupported", 18, 1, Format::DecByte, "", [](D& d, std::uint32_t v) { d.bNumClockSupported = narrow<std::uint8_t>(v); }},
    {"dwDataRate", 19, 4, Format::Dword, "bps", [](D& d, std::uint32_t v) { d.dwDataRate = v; }},
    {"dwMaxDataRate", 23, 4, Format::Dword, "bps", [](D& d, std::uint32_t v) { d.dwMaxDataRate = v; }},
    {"bNumDataRatesSupported", 27, 1, Format::DecByte, "", [](D& d, std::uint32_t v) { d.bNumDataRatesSupported = narrow<std::uint8_t>(v); }},
    {"dwMaxIFSD", 28, 4, Format::Dword, "", [](D& d, std::uint32_t v) { d.dwMaxIFSD = v; }},
    {"dwSynchProtocols", 32, 4, Format::Hex32, "", [](D& d, std::uint32_t v) { d.dwSynchProtocols = v; }},
    {"dwMechanical", 36, 4, Format::Hex32, "", [](D& d, std::uint32_t v) { d.dwMechanical = v; }},
    {"dwFeatures", 40, 4, Format::Hex32, "", [](D& d, std::uint32_t v) { d.dwFeatures = v; }},
    {"dwMaxCCIDMessageLength", 44, 4, Format::Dword, "bytes", [](D& d, std::uint32_t v) { d.dwMaxCCIDMessageLength = v; }},
    {"bClassGetResponse", 48, 1, Format::HexByte, "", [](D& d, std::uint32_t v) { d.bClassGetResponse = narrow<std::uint8_t>(v); }},
    {"bClassEnvelope", 49, 1, Format::HexByte, "", [](D& d, std::uint32_t v) { d.bClassEnvelope = narrow<std::uint8_t>(v); }},
    {"wLcdLayout", 50, 2, Format::Hex16, "", [](D& d, std::uint32_t v) { d.wLcdLayout = narrow<std::uint16_t>(v); }},
    {"bPINSupport", 52, 1, Format::HexByte, "", [](D& d, std::uint32_t v) { d.bPINSupport = narrow<std::uint8_t>(v); }},
    {"bMaxCCIDBusySlots", 53, 1, Format::DecByte, "", [](D& d, std::uint32_t v) { d.bMaxCCIDBusySlots = narrow<std::uint8_t>(v); }},
}};

constexpr std::size_t kRebuiltLength = 54;

std::optional<std::uint32_t> parse_class_value(const ClassField& f, std::string_view value) {
    const auto [token, rest] = first_token(value);
    const std::uint64_t max = f.width == 4 ? 0xFFFFFFFFu : (1u << (8 * f.width)) - 1;
    std::optional<std::uint32_t> v;
    switch (f.format) {
        case Format::HexByte:
        case Format::Hex16:
        case Format::Hex32:
            if (!rest.empty()) return std::nullopt;
            v = parse_hex(token);
            break;
        case Format::Bcd:
            if (!rest.empty()) return std::nullopt;
            v = parse_bcd(token);
            break;
        case Format::ProtocolPair: {
            const auto high = parse_hex(token);
            const auto low = parse_hex(rest);
            if (!high || !low || *high > 0xFFFF || *low > 0xFFFF) return std::nullopt;
            v = (*high << 16) | *low;
            break;
        }
        case Format::Mhz:
            if (rest != f.unit) return std::nullopt;
            v = parse_mhz_as_khz(token);
            break;
        case Format::DecByte: {
            if (!rest.empty() && rest != "(will use whatever is returned)") return std::nullopt;
            const auto d = parse_decimal(token);
            if (!d || *d < 0) return std::nullopt;
            v = static_cast<std::uint32_t>(std::min<std::int64_t>(*d, 0xFFFFFFFF));
            break;
        }
        case Format::Dword:
            if (rest != f.unit) return std::nullopt;
            v = parse_dword(token);
            break;
    }
    if (!v || *v > max) return std::nullopt;
    return v;
}

const ClassField* find_class_field(std::string_view name) {
    for (const ClassField& f : kClassFields)
        if (f.name == name) return &f;
    return nullptr;
}

// ---- Device and interface fields (before " CCID Class Descriptor").

enum DeviceField : unsigned {
    kIdVendor, kIdProduct, kBcdDevice, kIfLength, kIfType, kIfNumber, kIfAlternate,
    kIfEndpoints, kIfClass, kIfSubClass, kIfProtocol, kDeviceFieldCount,
};

constexpr std::array<std::string_view, kDeviceFieldCount> kDeviceFieldNames{
    "idVendor", "idProduct", "bcdDevice", "bLength", "bDescriptorType", "bInterfaceNumber",
    "bAlternateSetting", "bNumEndpoints", "bInterfaceClass", "bInterfaceSubClass", "bInterfaceProtocol",
};

// Descriptive lines `parse` prints in the interface part.
constexpr std::array<std::string_view, 13> kInterfaceRemarks{
    "Control only", "Interrupt-IN", "bulk-IN and bulk-OUT", "bulk-IN, bulk-OUT and Interrupt-IN",
    "UNKNOWN value", "NOT A CCID DEVICE", "Class is 0xFF (proprietary)", "UNSUPPORTED SubClass",
    "bulk transfer, optional interrupt-IN (CCID)", "bulk transfer, optional interrupt-IN",
    "ICCD Version A, Control transfers, (no interrupt-IN)",
    "ICCD Version B, Control transfers, (optional interrupt-IN)", "UNSUPPORTED InterfaceProtocol",
};

bool printable(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

class RecordParser {
public:
    RecordParser(std::size_t first_line, std::vector<std::string>& notes, std::vector<std::string>& unrecognised)
        : notes_(notes), unrecognised_(unrecognised) {
        record_.first_line = first_line;
        record_.descriptor_bytes.assign(kRebuiltLength, 0);
    }

    std::expected<void, CorpusError> feed(const Line& line) {
        const std::size_t indent = indent_of(line.text);
        const std::string_view body = std::string_view(line.text).substr(indent);
        if (!in_class_) return feed_interface_part(line, indent, body);
        return feed_class_part(line, indent, body);
    }

    std::expected<CorpusInterface, CorpusError> finish() {
        for (unsigned i = 0; i < kDeviceFieldCount; ++i)
            if (!(device_seen_ & (1u << i)))
                return std::unexpected(missing(kDeviceFieldNames[i]));
        if (!in_class_) return std::unexpected(missing("CCID Class Descriptor"));
        for (std::size_t i = 0; i < kClassFields.size(); ++i)
            if (!(class_seen_ & (1u << i))) return std::unexpected(missing(kClassFields[i].name));
        return std::move(record_);
    }

private:
    CorpusError missing(std::string_view what) const {
        return error(CorpusErrorKind::Malformed,
                     fmt::format("record at line {}: no {} line", record_.first_line, what));
    }

    CorpusError bad(const Line& line, std::string_view field, std::string_view value) const {
        return error(CorpusErrorKind::Malformed,
                     fmt::format("line {}: cannot read {} value '{}'", line.number, field, value));
    }

    void unrecognised(const Line& line) {
        unrecognised_.push_back(fmt::format("line {}: {}", line.number, line.text));
    }

    std::optional<std::string>* string_field(std::string_view key) {
        if (key == "iManufacturer") return &record_.device.manufacturer;
        if (key == "iProduct") return &record_.device.product;
        if (key == "iInterface") return &record_.interface_string;
        return nullptr;
    }

    std::string read_string(const Line& line, std::string_view field, std::string_view value) {
        if (!printable(value))
            notes_.push_back(fmt::format("line {}: {} string holds non-printable bytes", line.number, field));
        return std::string(value);
    }

    std::expected<void, CorpusError> feed_interface_part(const Line& line, std::size_t indent, std::string_view body) {
        if (indent == 1 && trim(body) == "CCID Class Descriptor") {
            in_class_ = true;
            return {};
        }
        if (body.starts_with("Can't get iManufacturer string") || body.starts_with("Can't get iProduct string") ||
            body.starts_with("Can't get iInterface string"))
            return {};  // the string stays absent
        const auto kv = key_value(body);
        if (!kv) {
            const std::string_view text = trim(body);
            if (std::find(kInterfaceRemarks.begin(), kInterfaceRemarks.end(), text) != kInterfaceRemarks.end())
                record_.interface_remarks.emplace_back(text);
            else
                unrecognised(line);
            return {};
        }
        const auto [key, value] = *kv;
        if (std::optional<std::string>* target = string_field(key)) {
            *target = read_string(line, key, value);
            return {};
        }

        const auto it = std::find(kDeviceFieldNames.begin(), kDeviceFieldNames.end(), key);
        if (it == kDeviceFieldNames.end()) {
            unrecognised(line);
            return {};
        }
        const auto field = static_cast<unsigned>(it - kDeviceFieldNames.begin());
        if (device_seen_ & (1u << field))
            return std::unexpected(error(CorpusErrorKind::Malformed,
                                         fmt::format("line {}: {} repeated in one record", line.number, key)));
        device_seen_ |= 1u << field;
        return read_device_field(line, field, key, value);
    }

    std::expected<void, CorpusError> read_device_field(const Line& line, unsigned field, std::string_view key,
                                                       std::string_view value) {
        const auto [token, rest] = first_token(value);
        if (field == kIdVendor || field == kIdProduct) {
            const auto v = parse_hex(token);
            if (!v || *v > 0xFFFF || !rest.empty()) return std::unexpected(bad(line, key, value));
            (field == kIdVendor ? record_.device.vendor_id : record_.device.product_id) = static_cast<std::uint16_t>(*v);
            return {};
        }
        if (field == kBcdDevice) {
            bool one_digit = false;
            const auto v = parse_bcd(token, &one_digit);
            if (!v || rest != "(firmware release?)") return std::unexpected(bad(line, key, value));
            if (one_digit)
                notes_.push_back(fmt::format("line {}: bcdDevice minor part printed with one digit", line.number));
            record_.device.bcd_device = *v;
            return {};
        }
        if (field == kIfClass) {
            // "0x0B [Chip Card Interface Device Class (CCID)]" or a bare "0xFF".
            const auto v = parse_hex(token);
            if (!v || *v > 0xFF) return std::unexpected(bad(line, key, value));
            record_.bInterfaceClass = static_cast<std::uint8_t>(*v);
            return {};
        }
        const auto v = parse_decimal(token);
        if (!v || *v < 0 || *v > 0xFF || !rest.empty()) return std::unexpected(bad(line, key, value));
        const auto byte = static_cast<std::uint8_t>(*v);
        switch (field) {
            case kIfLength: record_.bLength = byte; break;
            case kIfType: record_.bDescriptorType = byte; break;
            case kIfNumber: record_.bInterfaceNumber = byte; break;
            case kIfAlternate: record_.bAlternateSetting = byte; break;
            case kIfEndpoints: record_.bNumEndpoints = byte; break;
            case kIfSubClass: record_.bInterfaceSubClass = byte; break;
            case kIfProtocol: record_.bInterfaceProtocol = byte; break;
            default: break;
        }
        return {};
    }

    std::expected<void, CorpusError> feed_class_part(const Line& line, std::size_t indent, std::string_view body) {
        if (indent >= 3) {
            if (current_field_.empty() ||
                !apply_meaning_line(current_field_, body, record_, notes_, line.number))
                unrecognised(line);
            else
                record_.claims.spelled_out.emplace(current_field_);
            return {};
        }
        const auto kv = key_value(body);
        const ClassField* f = kv ? find_class_field(kv->first) : nullptr;
        if (indent != 2 || f == nullptr) {
            unrecognised(line);
            return {};
        }
        const auto index = static_cast<std::size_t>(f - kClassFields.data());
        if (class_seen_ & (1u << index))
            return std::unexpected(error(CorpusErrorKind::Malformed,
                                         fmt::format("line {}: {} repeated in one record", line.number, f->name)));
        class_seen_ |= 1u << index;
        current_field_ = f->name;
        const auto v = parse_class_value(*f, kv->second);
        if (!v) return std::unexpected(bad(line, f->name, kv->second));
        f->store(record_.descriptor, *v);
        for (std::size_t i = 0; i < f->width; ++i)
            record_.descriptor_bytes[f->offset + i] = static_cast<std::uint8_t>(*v >> (8 * i));
        return {};
    }

    CorpusInterface record_;
    std::vector<std::string>& notes_;
    std::vector<std::string>& unrecognised_;
    bool in_class_ = false;
    unsigned device_seen_ = 0;
    std::uint32_t class_seen_ = 0;
    std::string_view current_field_;
};

CorpusError not_a_dump(const std::vector<Line>& lines, const std::string& file_name) {
    const bool features = std::any_of(lines.begin(), lines.end(), [](const Line& l) {
        return l.text.starts_with("Reader:") || l.text.starts_with("IdVendor:");
    });
    const bool list = std::any_of(lines.begin(), lines.end(), [](const Line& l) {
        return l.text.starts_with("0x") && l.text.find(':') == 6;
    });
    std::string what = features ? "PIN-pad feature dump (Reader:/IdVendor: lines, no CCID descriptor)"
                       : list   ? "reader list (VID:PID:name lines, no CCID descriptor)"
                                : "no ' idVendor:' record";
    return error(CorpusErrorKind::NotADescriptorDump, fmt::format("{}: {}", file_name, what));
}

}  // namespace

std::expected<CorpusReader, CorpusError> parse_reader_text(std::string_view text, std::string file_name) {
    CorpusReader reader;
    reader.file_name = std::move(file_name);
    const std::vector<Line> lines = logical_lines(text, reader.notes);

    std::optional<RecordParser> record;
    auto close_record = [&]() -> std::expected<void, CorpusError> {
        if (!record) return {};
        auto done = record->finish();
        record.reset();
        if (!done) return std::unexpected(done.error());
        reader.interfaces.push_back(std::move(*done));
        return {};
    };
    for (const Line& line : lines) {
        if (is_record_start(line.text)) {
            if (auto closed = close_record(); !closed) return std::unexpected(closed.error());
            record.emplace(line.number, reader.notes, reader.unrecognised);
        }
        if (!record) continue;  // text before the first record belongs to no interface
        if (auto fed = record->feed(line); !fed) return std::unexpected(fed.error());
    }
    if (auto closed = close_record(); !closed) return std::unexpected(closed.error());
    if (reader.interfaces.empty()) return std::unexpected(not_a_dump(lines, reader.file_name));
    for (auto& message : reader.unrecognised) message.insert(0, reader.file_name + ": ");
    return reader;
}

std::expected<CorpusReader, CorpusError> load_reader_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return std::unexpected(error(CorpusErrorKind::Unreadable, fmt::format("{}: {}", path.string(), ec.message())));
    if (size > kMaxCorpusFileSize)
        return std::unexpected(error(CorpusErrorKind::Unreadable,
                                     fmt::format("{}: {} bytes, above the {} byte limit", path.string(), size, kMaxCorpusFileSize)));
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(error(CorpusErrorKind::Unreadable, fmt::format("{}: cannot open", path.string())));
    std::string text(static_cast<std::size_t>(size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return parse_reader_text(text, path.filename().string());
}

std::expected<std::vector<std::filesystem::path>, CorpusError> list_corpus(const std::filesystem::path& dir) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) return std::unexpected(error(CorpusErrorKind::Unreadable, fmt::format("{}: {}", dir.string(), ec.message())));
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (ec) return std::unexpected(error(CorpusErrorKind::Unreadable, fmt::format("{}: {}", dir.string(), ec.message())));
        if (it->path().extension() == ".txt" && it->is_regular_file(ec)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace ccidkit::sim

// `ccidctl info`: a reader's descriptors decoded — every field of the CCID class descriptor and
// what it means (what libccid's `parse` shows), the implausible values and what the driver
// uses instead, the clock and data-rate lists, and the quirks that apply. From a plugged-in
// (or virtual) reader, or from a file so that it works without hardware.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "ccid/class_requests.h"
#include "ccid/descriptor_report.h"
#include "ccid/quirks_lookup.h"
#include "ccid/reader_caps.h"
#include "command.h"
#include "descriptor_source.h"
#include "json.h"
#include "readers.h"

namespace ccidkit::ccidctl {
namespace {

// What the report needs about one interface, whatever it came from.
struct InfoItem {
    std::string title;   // reader name or file record
    std::string source;  // "usb:1-1.4:1.0", "virtual:0", "FILE record at line N"
    std::optional<std::uint16_t> vendor_id, product_id, bcd_device;
    std::optional<std::string> manufacturer, product, serial, interface_string;
    std::uint8_t interface_number = 0, interface_class = 0x0B, interface_protocol = 0;
    Bytes class_descriptor;
    // The class request answers; nullopt when not asked.
    std::optional<std::vector<std::int32_t>> clocks_khz, data_rates_bps;
    std::vector<std::string> remarks;
};

struct RequestAnswer {
    std::optional<std::vector<std::int32_t>> values;
    std::string remark;
};

// GET_CLOCK_FREQUENCIES / GET_DATA_RATES (CCID 1.1 section 5.3). A reader that announces no list
// (count 0) is asked anyway, as libccid's `parse` does, with room for 64 values.
RequestAnswer ask_list(ccid::Transport& t, const ccid::ControlSetup& setup, std::uint8_t count, std::string_view what) {
    const std::size_t room = count == 0 ? 64 * 4 : ccid::dword_array_reply_size(count);
    Bytes buffer(room);
    auto n = t.control_in(setup, buffer, ccid::Millis{1000});
    RequestAnswer a;
    if (!n) {
        a.remark = fmt::format("{} request failed: {}", what, to_string(n.error()));
        return a;
    }
    const auto values = ccid::whole_dwords(ByteView(buffer).first(*n), count == 0 ? 64 : count);
    std::vector<std::int32_t> out;
    for (auto v : values) out.push_back(static_cast<std::int32_t>(v));
    if (count != 0 && values.size() != count)
        a.remark = fmt::format("{}: {} value(s) returned, {} announced", what, values.size(), count);
    a.values = std::move(out);
    return a;
}

void ask_lists(const Context& ctx, const ReaderInfo& r, InfoItem& item) {
    auto descriptor = ccid::decode_ccid_descriptor(r.class_descriptor);
    if (!descriptor) return;
    auto transport = open_transport(ctx, r);
    if (!transport) {
        item.remarks.push_back("clock and data-rate lists not read: " + transport.error().message);
        return;
    }
    auto clocks = ask_list(**transport, ccid::get_clock_frequencies_request(r.interface_number),
                           descriptor->bNumClockSupported, "GET_CLOCK_FREQUENCIES");
    auto rates = ask_list(**transport, ccid::get_data_rates_request(r.interface_number),
                          descriptor->bNumDataRatesSupported, "GET_DATA_RATES");
    item.clocks_khz = clocks.values;
    item.data_rates_bps = rates.values;
    if (!clocks.remark.empty()) item.remarks.push_back(clocks.remark);
    if (!rates.remark.empty()) item.remarks.push_back(rates.remark);
}

InfoItem item_from_reader(const ReaderInfo& r) {
    InfoItem i;
    i.title = r.name;
    i.source = r.location;
    i.vendor_id = r.vendor_id;
    i.product_id = r.product_id;
    i.bcd_device = r.bcd_device;
    i.manufacturer = r.manufacturer;
    i.product = r.product;
    i.serial = r.serial;
    i.interface_string = r.interface_name;
    i.interface_number = r.interface_number;
    i.interface_class = r.interface_class;
    i.interface_protocol = r.interface_protocol;
    i.class_descriptor = r.class_descriptor;
    if (r.usb) {
        i.remarks.push_back(fmt::format("bus {} address {}", r.usb->bus, r.usb->address));
        if (r.usb->class_descriptor_location == ccid::usb::ClassDescriptorLocation::Endpoint)
            i.remarks.push_back("class descriptor found after an endpoint descriptor (non-standard place)");
    }
    return i;
}

InfoItem item_from_file(const DescribedInterface& d) {
    InfoItem i;
    i.title = d.product.value_or("reader described by a file");
    i.source = d.source;
    i.vendor_id = d.vendor_id;
    i.product_id = d.product_id;
    i.bcd_device = d.bcd_device;
    i.manufacturer = d.manufacturer;
    i.product = d.product;
    i.interface_string = d.interface_string;
    i.interface_number = d.interface_number;
    i.interface_class = d.interface_class;
    i.interface_protocol = d.interface_protocol;
    i.class_descriptor = d.class_descriptor;
    if (!d.clocks_khz.empty()) i.clocks_khz = d.clocks_khz;
    if (!d.data_rates_bps.empty()) i.data_rates_bps = d.data_rates_bps;
    i.remarks = d.remarks;
    return i;
}

// "--id VVVV:PPPP[:BCDD]" for descriptors that come without a device descriptor.
std::optional<std::string> apply_id(InfoItem& item, const std::string& id) {
    unsigned v = 0, p = 0, b = 0;
    int used = 0;
    const int n = std::sscanf(id.c_str(), "%4x:%4x%n:%4x%n", &v, &p, &used, &b, &used);
    if (n < 2 || static_cast<std::size_t>(used) != id.size()) return "--id needs VID:PID or VID:PID:BCD in hex";
    item.vendor_id = static_cast<std::uint16_t>(v);
    item.product_id = static_cast<std::uint16_t>(p);
    if (n == 3)
        item.bcd_device = static_cast<std::uint16_t>(b);
    else if (!item.bcd_device)
        item.bcd_device = 0;
    return std::nullopt;
}

std::string join_values(const std::vector<std::int32_t>& values, std::string_view unit) {
    if (values.empty()) return "none";
    std::string s;
    for (std::size_t k = 0; k < values.size(); ++k) s += fmt::format("{}{}", k ? ", " : "", values[k]);
    return s + " " + std::string(unit);
}

// The descriptor fields a quirk row overrides: "dwMaxIFSD: 0 -> 254".
std::vector<std::string> override_lines(const ccid::CcidDescriptor& d, const ccid::DescriptorOverrides& o) {
    std::vector<std::string> out;
    auto one = [&out](std::string_view name, std::uint32_t from, const auto& to) {
        if (to) out.push_back(fmt::format("{}: 0x{:X} -> 0x{:X}", name, from, static_cast<std::uint32_t>(*to)));
    };
    one("dwFeatures", d.dwFeatures, o.dwFeatures);
    one("dwMaxIFSD", d.dwMaxIFSD, o.dwMaxIFSD);
    one("dwMaxCCIDMessageLength", d.dwMaxCCIDMessageLength, o.dwMaxCCIDMessageLength);
    one("dwMaxDataRate", d.dwMaxDataRate, o.dwMaxDataRate);
    one("dwProtocols", d.dwProtocols, o.dwProtocols);
    one("bPINSupport", d.bPINSupport, o.bPINSupport);
    one("bVoltageSupport", d.bVoltageSupport, o.bVoltageSupport);
    one("bMaxCCIDBusySlots", d.bMaxCCIDBusySlots, o.bMaxCCIDBusySlots);
    return out;
}

std::vector<std::string> caps_lines(const ccid::ReaderCaps& c) {
    return {
        fmt::format("{} slot(s), at most {} busy", c.slot_count, c.max_busy_slots),
        fmt::format("protocols{}{}", c.t0 ? " T=0" : "", c.t1 ? " T=1" : ""),
        fmt::format("{}", to_string(c.level)),
        fmt::format("IFSD {}", c.ifsd),
        fmt::format("message length {} bytes", c.max_message_length),
        fmt::format("clock {}..{} kHz, data rate {}..{} bps", c.default_clock_khz, c.max_clock_khz, c.default_data_rate,
                    c.max_data_rate),
    };
}

std::string_view class_name(std::uint8_t c) {
    if (c == 0x0B) return "smart card (CCID)";
    if (c == 0xFF) return "vendor specific";
    return "other";
}

struct Analysis {
    std::optional<ccid::ParsedCcidDescriptor> parsed;
    std::optional<std::string> descriptor_error;
    bool identity_known = false;
    ccid::Quirks quirks;
    std::vector<ccid::QuirkMatch> rows;
    std::optional<ccid::ReaderCaps> caps;
};

Analysis analyse(const InfoItem& item) {
    Analysis a;
    auto parsed = ccid::parse_ccid_descriptor(item.class_descriptor);
    if (parsed) {
        a.parsed = std::move(*parsed);
    } else {
        a.descriptor_error = std::string(to_string(parsed.error()));
    }
    a.identity_known = item.vendor_id && item.product_id;
    if (a.identity_known) {
        const std::uint16_t bcd = item.bcd_device.value_or(0);
        a.quirks = ccid::quirks_for(*item.vendor_id, *item.product_id, bcd);
        a.rows = ccid::matching_rows(*item.vendor_id, *item.product_id, bcd);
    }
    if (a.parsed) a.caps = ccid::make_reader_caps(a.parsed->fields, a.quirks);
    return a;
}

void print_text(Context& ctx, std::size_t index, const InfoItem& item, const Analysis& a) {
    std::ostream& o = ctx.out;
    if (index > 0) o << '\n';
    o << "Reader " << index << ": " << item.title << '\n';
    o << "  source: " << item.source << '\n';
    if (a.identity_known) {
        o << fmt::format("  device: {:04X}:{:04X}", *item.vendor_id, *item.product_id);
        if (item.bcd_device) o << " bcdDevice " << ccid::format_bcd(*item.bcd_device);
        o << '\n';
    } else {
        o << "  device: unknown (give --id VID:PID[:BCD] to look up quirks)\n";
    }
    if (item.manufacturer && !item.manufacturer->empty()) o << "  manufacturer: " << *item.manufacturer << '\n';
    if (item.product && !item.product->empty()) o << "  product: " << *item.product << '\n';
    if (item.serial && !item.serial->empty()) o << "  serial: " << *item.serial << '\n';
    o << fmt::format("  interface {}: class 0x{:02X} ({}), protocol {}", item.interface_number, item.interface_class,
                     class_name(item.interface_class), item.interface_protocol);
    if (item.interface_string && !item.interface_string->empty()) o << ", iInterface: " << *item.interface_string;
    o << '\n';
    for (const auto& r : item.remarks) o << "  note: " << r << '\n';

    o << "  CCID class descriptor: " << (item.class_descriptor.empty() ? "(none)" : to_hex(item.class_descriptor))
      << '\n';
    if (a.descriptor_error) {
        o << "  descriptor error: " << *a.descriptor_error << '\n';
    } else {
        for (const auto& line : ccid::describe_parsed_descriptor(*a.parsed)) o << "    " << line << '\n';
    }
    if (item.clocks_khz) o << "  GET_CLOCK_FREQUENCIES: " << join_values(*item.clocks_khz, "kHz") << '\n';
    if (item.data_rates_bps) o << "  GET_DATA_RATES: " << join_values(*item.data_rates_bps, "bps") << '\n';

    o << "  quirks:";
    const auto quirk_lines = a.identity_known ? ccid::describe_quirks(a.quirks) : std::vector<std::string>{};
    if (!a.identity_known) {
        o << " unknown (no VID:PID)\n";
    } else if (a.rows.empty()) {
        o << " none (the table has no row for this reader)\n";
    } else {
        o << '\n';
        for (const auto& m : a.rows) {
            o << fmt::format("    row \"{}\" ({}): {}\n", m.name,
                             m.from_user_file ? fmt::format("user file line {}", m.line) : std::string("built-in"),
                             m.reason);
        }
        for (const auto& l : quirk_lines) o << "    " << l << '\n';
        if (a.parsed)
            for (const auto& l : override_lines(a.parsed->fields, a.quirks.descriptor)) o << "    " << l << '\n';
    }
    if (a.caps) {
        o << "  driver uses:\n";
        for (const auto& l : caps_lines(*a.caps)) o << "    " << l << '\n';
    }
}

template <typename T>
void optional_field(JsonWriter& j, std::string_view key, const std::optional<T>& v) {
    j.key(key);
    if (v) {
        j.value(*v);
    } else {
        j.null();
    }
}

void write_descriptor_json(JsonWriter& j, const ccid::ParsedCcidDescriptor& p) {
    const auto& d = p.fields;
    j.key("fields").begin_object();
    j.field("bLength", unsigned{d.bLength}).field("bDescriptorType", unsigned{d.bDescriptorType});
    j.field("bcdCCID", ccid::format_bcd_version(d.bcdCCID)).field("bMaxSlotIndex", unsigned{d.bMaxSlotIndex});
    j.field("bVoltageSupport", unsigned{d.bVoltageSupport}).field("dwProtocols", d.dwProtocols);
    j.field("dwDefaultClock", d.dwDefaultClock).field("dwMaximumClock", d.dwMaximumClock);
    j.field("bNumClockSupported", unsigned{d.bNumClockSupported}).field("dwDataRate", d.dwDataRate);
    j.field("dwMaxDataRate", d.dwMaxDataRate).field("bNumDataRatesSupported", unsigned{d.bNumDataRatesSupported});
    j.field("dwMaxIFSD", d.dwMaxIFSD).field("dwSynchProtocols", d.dwSynchProtocols);
    j.field("dwMechanical", d.dwMechanical).field("dwFeatures", d.dwFeatures);
    j.field("dwMaxCCIDMessageLength", d.dwMaxCCIDMessageLength);
    j.field("bClassGetResponse", unsigned{d.bClassGetResponse}).field("bClassEnvelope", unsigned{d.bClassEnvelope});
    j.field("wLcdLayout", unsigned{d.wLcdLayout}).field("bPINSupport", unsigned{d.bPINSupport});
    j.field("bMaxCCIDBusySlots", unsigned{d.bMaxCCIDBusySlots});
    j.end_object();
    j.string_array("meaning", ccid::describe_descriptor(d));
    j.key("warnings").begin_array();
    for (const auto& w : p.warnings)
        j.begin_object().field("field", w.field).field("value", w.value).field("reason", w.reason).end_object();
    j.end_array();
    const auto& e = p.effective;
    j.key("effective").begin_object();
    j.field("slots", e.slot_count).field("max_busy_slots", e.max_busy_slots);
    j.field("t0", e.t0).field("t1", e.t1).field("voltages", unsigned{e.voltages});
    j.field("default_clock_khz", e.default_clock_khz).field("max_clock_khz", e.max_clock_khz);
    j.field("default_data_rate", e.default_data_rate).field("max_data_rate", e.max_data_rate);
    j.field("level", to_string(e.level)).field("ifsd", e.ifsd).field("max_message_length", e.max_message_length);
    j.end_object();
}

void write_item_json(JsonWriter& j, const InfoItem& item, const Analysis& a) {
    j.begin_object();
    j.field("name", item.title).field("source", item.source);
    optional_field(j, "vendor_id", item.vendor_id);
    optional_field(j, "product_id", item.product_id);
    optional_field(j, "bcd_device", item.bcd_device);
    optional_field(j, "manufacturer", item.manufacturer);
    optional_field(j, "product", item.product);
    optional_field(j, "serial", item.serial);
    optional_field(j, "interface_string", item.interface_string);
    j.field("interface_number", unsigned{item.interface_number});
    j.field("interface_class", unsigned{item.interface_class});
    j.field("interface_protocol", unsigned{item.interface_protocol});
    j.string_array("notes", item.remarks);
    j.key("descriptor").begin_object();
    j.hex_field("hex", item.class_descriptor);
    if (a.descriptor_error) {
        j.field("error", *a.descriptor_error);
    } else {
        j.key("error").null();
        write_descriptor_json(j, *a.parsed);
    }
    j.end_object();
    auto list = [&j](std::string_view key, const std::optional<std::vector<std::int32_t>>& v) {
        j.key(key);
        if (!v) {
            j.null();
            return;
        }
        j.begin_array();
        for (auto x : *v) j.value(std::int64_t{x});
        j.end_array();
    };
    list("clock_frequencies_khz", item.clocks_khz);
    list("data_rates_bps", item.data_rates_bps);
    j.key("quirks").begin_object();
    j.field("identity_known", a.identity_known);
    j.key("rows").begin_array();
    for (const auto& m : a.rows) {
        j.begin_object().field("name", m.name).field("reason", m.reason);
        j.field("bcd_min", unsigned{m.bcd_min}).field("bcd_max", unsigned{m.bcd_max});
        j.field("from_user_file", m.from_user_file).end_object();
    }
    j.end_array();
    j.string_array("settings", a.identity_known ? ccid::describe_quirks(a.quirks) : std::vector<std::string>{});
    j.string_array("descriptor_overrides",
                   a.parsed ? override_lines(a.parsed->fields, a.quirks.descriptor) : std::vector<std::string>{});
    j.end_object();
    j.key("driver");
    if (a.caps) {
        const auto& c = *a.caps;
        j.begin_object();
        j.field("slots", c.slot_count).field("max_busy_slots", c.max_busy_slots);
        j.field("t0", c.t0).field("t1", c.t1).field("voltages", unsigned{c.voltages});
        j.field("level", to_string(c.level)).field("ifsd", c.ifsd).field("max_message_length", c.max_message_length);
        j.field("default_clock_khz", c.default_clock_khz).field("max_clock_khz", c.max_clock_khz);
        j.field("default_data_rate", c.default_data_rate).field("max_data_rate", c.max_data_rate);
        j.end_object();
    } else {
        j.null();
    }
    j.end_object();
}

ExitCode report(Context& ctx, const std::vector<InfoItem>& items, std::string_view kind) {
    std::vector<Analysis> analyses;
    for (const auto& i : items) analyses.push_back(analyse(i));
    if (ctx.json) {
        JsonWriter j(ctx.out);
        j.begin_object().field("source", kind).key("interfaces").begin_array();
        for (std::size_t k = 0; k < items.size(); ++k) write_item_json(j, items[k], analyses[k]);
        j.end_array().end_object();
    } else {
        for (std::size_t k = 0; k < items.size(); ++k) print_text(ctx, k, items[k], analyses[k]);
    }
    return ExitCode::Ok;
}

ExitCode run_info(Context& ctx, const ParsedArgs& args) {
    if (!args.positional.empty()) return fail(ctx, ExitCode::Usage, "info takes no arguments (see --help)");
    const auto file = args.value("descriptor-file");
    const auto hex = args.value("descriptor");
    if (file && hex) return fail(ctx, ExitCode::Usage, "give --descriptor-file or --descriptor, not both");

    std::vector<InfoItem> items;
    if (file || hex) {
        std::expected<DescribedFile, DescriptorFileError> described;
        if (file) {
            described = load_descriptor_file(*file);
        } else {
            auto bytes = parse_hex_text(*hex);
            if (!bytes) return fail(ctx, ExitCode::Usage, "--descriptor: not hex bytes");
            described = parse_descriptor_hex(*bytes);
        }
        if (!described) {
            return fail(ctx, described.error().unreadable ? ExitCode::IoError : ExitCode::Usage,
                        described.error().message);
        }
        for (const auto& n : described->notes) warn(ctx, n);
        for (const auto& d : described->interfaces) {
            InfoItem item = item_from_file(d);
            if (auto id = args.value("id")) {
                if (auto e = apply_id(item, *id)) return fail(ctx, ExitCode::Usage, *e);
            }
            items.push_back(std::move(item));
        }
        return report(ctx, items, described->kind);
    }

    if (args.has("id")) return fail(ctx, ExitCode::Usage, "--id only goes with --descriptor-file or --descriptor");
    auto readers = list_readers(ctx);
    if (!readers) return fail(ctx, readers.error().code, readers.error().message);
    std::vector<ReaderInfo> chosen;
    if (ctx.reader) {
        auto one = select_reader(ctx, *readers);
        if (!one) return fail(ctx, one.error().code, one.error().message);
        chosen.push_back(*one);
    } else {
        chosen = *readers;
    }
    if (chosen.empty()) return fail(ctx, ExitCode::NoReader, "no smart-card reader found");
    for (const auto& r : chosen) {
        InfoItem item = item_from_reader(r);
        if (!args.has("no-open")) ask_lists(ctx, r, item);
        items.push_back(std::move(item));
    }
    // Simulated readers ($CCID_VIRTUAL_READERS) may come with USB ones.
    const auto simulated =
        std::count_if(chosen.begin(), chosen.end(), [](const ReaderInfo& r) { return r.simulated.has_value(); });
    const std::string_view source = simulated == 0 ? "usb"
                                    : static_cast<std::size_t>(simulated) == chosen.size() ? "virtual"
                                                                                           : "virtual+usb";
    return report(ctx, items, source);
}

constexpr std::array kOptions = {
    OptionSpec{"descriptor-file", '\0', "FILE",
               "decode a file instead of a reader: a libccid `parse` dump (the readers corpus format), or hex "
               "bytes of a class descriptor, a configuration descriptor, or a device + configuration descriptor"},
    OptionSpec{"descriptor", '\0', "HEX", "decode these hex bytes (same kinds as --descriptor-file)"},
    OptionSpec{"id", '\0', "VID:PID[:BCD]", "with a file or hex: the reader identity used to look up quirks"},
    OptionSpec{"no-open", '\0', "", "do not open the readers to ask for their clock and data-rate lists"},
};

}  // namespace

const Command& info_command() {
    static const Command c{
        "info",
        "",
        "show a reader's descriptors decoded, with warnings and the quirks that apply",
        "Prints every field of the CCID class descriptor (CCID Rev 1.1 section 5.1) with its meaning,\n"
        "the values that cannot be trusted and what the driver uses instead, the answers to\n"
        "GET_CLOCK_FREQUENCIES and GET_DATA_RATES, the quirk rows that match the reader and the\n"
        "settings the driver ends up with. Without --reader every reader is shown.\n",
        kOptions,
        run_info,
    };
    return c;
}

}  // namespace ccidkit::ccidctl

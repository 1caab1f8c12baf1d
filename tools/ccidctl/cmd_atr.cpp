// `ccidctl atr [HEX...]`: an ATR explained byte by byte (ISO/IEC 7816-3:2006 clause 8), given
// on the command line or read from the card in a reader.
#include <fmt/format.h>

#include <array>
#include <string>

#include "ccid/slot.h"
#include "command.h"
#include "json.h"
#include "protocol/atr.h"
#include "protocol/atr_explain.h"
#include "readers.h"

namespace ccidkit::ccidctl {
namespace {

std::string_view convention_name(proto::Convention c) { return c == proto::Convention::Direct ? "direct" : "inverse"; }

void write_json(Context& ctx, const std::string& source, ByteView atr_bytes, const proto::AtrParse& parse) {
    const proto::Atr& atr = parse.atr;
    JsonWriter j(ctx.out);
    j.begin_object();
    j.hex_field("atr", atr_bytes);
    j.field("source", source);
    j.field("valid", parse.ok());
    if (parse.ok()) {
        j.key("error").null();
    } else {
        j.field("error", proto::to_string(parse.error));
    }
    j.field("convention", convention_name(atr.convention));
    j.key("protocols").begin_array();
    for (std::uint8_t t = 0; t < 15; ++t)
        if (atr.offers(t)) j.value(unsigned{t});
    j.end_array();
    j.field("default_protocol", unsigned{atr.default_protocol});
    j.field("fi", unsigned{atr.f_or_default()}).field("di", unsigned{atr.d_or_default()});
    if (atr.fmax_khz) {
        j.field("fmax_khz", std::uint64_t{*atr.fmax_khz});
    } else {
        j.key("fmax_khz").null();
    }
    j.hex_field("historical_bytes", atr.historical());

    const auto lines = proto::explain_atr(parse);
    j.key("bytes").begin_array();
    for (const auto& l : lines) {
        if (!l.offset) continue;
        j.begin_object();
        j.field("offset", unsigned{*l.offset});
        j.field("value", l.value ? fmt::format("{:02X}", *l.value) : std::string{});
        j.field("name", l.name).field("description", l.description);
        j.end_object();
    }
    j.end_array();
    j.key("summary").begin_array();
    for (const auto& l : lines) {
        if (l.offset) continue;
        j.begin_object().field("topic", l.name).field("description", l.description).end_object();
    }
    j.end_array();
    j.end_object();
}

ExitCode explain(Context& ctx, const std::string& source, ByteView bytes) {
    const proto::AtrParse parse = proto::parse_atr(bytes);
    if (ctx.json) {
        write_json(ctx, source, bytes, parse);
    } else {
        ctx.out << "ATR: " << to_hex(bytes) << "  (" << source << ")\n";
        const auto lines = proto::explain_atr(parse);
        ctx.out << proto::render_atr_explanation(lines);
    }
    if (!parse.ok()) ctx.err << "ccidctl: the ATR does not decode: " << proto::to_string(parse.error) << '\n';
    return parse.ok() ? ExitCode::Ok : ExitCode::CardError;
}

ExitCode read_from_reader(Context& ctx) {
    auto info = find_reader(ctx);
    if (!info) return fail(ctx, info.error().code, info.error().message);
    auto opened = open_reader(ctx, *info);
    if (!opened) return fail(ctx, opened.error().code, opened.error().message);
    ccid::Slot* slot = opened->reader->slot(ctx.slot);
    if (slot == nullptr) {
        return fail(
            ctx, ExitCode::Usage,
            fmt::format("{} has no slot {} (slots 0..{})", info->name, ctx.slot, opened->reader->slot_count() - 1));
    }
    ccid::PowerOnOptions options;
    options.negotiate = false;  // only the ATR is wanted
    auto session = slot->power_on(options);
    if (!session) {
        const auto f = failure_from(session.error(), info->name);
        return fail(ctx, f.code, f.message);
    }
    (void)slot->power_off();
    return explain(ctx, fmt::format("{}, slot {}", info->name, ctx.slot), session->atr);
}

ExitCode run_atr(Context& ctx, const ParsedArgs& args) {
    if (args.positional.empty()) return read_from_reader(ctx);
    std::string joined;
    for (const auto& p : args.positional) joined += p + " ";
    auto bytes = from_hex(joined);
    if (!bytes || bytes->empty()) return fail(ctx, ExitCode::Usage, "atr: the argument is not hex bytes: " + joined);
    if (bytes->size() > proto::kMaxAtrLength) {
        ctx.err << "ccidctl: warning: " << bytes->size() << " bytes; an ATR has at most 33\n";
    }
    return explain(ctx, "command line", *bytes);
}

constexpr std::array<OptionSpec, 0> kOptions{};

}  // namespace

const Command& atr_command() {
    static const Command c{
        "atr",
        "[HEX...]",
        "explain an Answer-to-Reset byte by byte (ISO/IEC 7816-3 clause 8)",
        "With HEX (e.g. `ccidctl atr 3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A`), explains\n"
        "those bytes. Without it, powers the card in the reader on (no PPS), explains its ATR and\n"
        "powers it off again. An ATR that does not decode is still explained as far as it goes,\n"
        "and the exit status is 4.\n",
        kOptions,
        run_atr,
    };
    return c;
}

}  // namespace ccidkit::ccidctl

// `ccidctl script FILE`: runs a scriptor-style script (script_parser.h) against the card.
#include <fmt/format.h>

#include <array>
#include <fstream>
#include <iostream>
#include <sstream>
#include <variant>

#include "apdu_exchange.h"
#include "card_connection.h"
#include "command.h"
#include "json.h"
#include "script_parser.h"

namespace ccidkit::ccidctl {
namespace {

constexpr std::size_t kMaxScriptBytes = 4 << 20;

std::expected<std::string, std::string> read_script(const std::string& path) {
    std::string text;
    if (path == "-") {
        std::ostringstream s;
        s << std::cin.rdbuf();
        text = s.str();
    } else {
        std::ifstream in(path, std::ios::binary);
        if (!in) return std::unexpected(path + ": cannot open the script");
        text.resize(kMaxScriptBytes + 1);
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<std::size_t>(in.gcount()));
    }
    if (text.size() > kMaxScriptBytes) return std::unexpected(path + ": script larger than 4 MiB");
    return text;
}

struct ResetRecord {
    std::size_t line = 0;
    std::optional<Bytes> atr;
    std::optional<ccid::ReaderError> error;
};

ExitCode run_script(Context& ctx, const ParsedArgs& args) {
    if (args.positional.size() != 1) return fail(ctx, ExitCode::Usage, "script: give one script file (or - for stdin)");
    auto text = read_script(args.positional.front());
    if (!text) return fail(ctx, ExitCode::IoError, text.error());
    auto steps = parse_script(*text);
    if (!steps) return fail(ctx, ExitCode::Usage, args.positional.front() + ": " + steps.error());

    auto card = connect_card(ctx);
    if (!card) return fail(ctx, card.error().code, card.error().message);
    if (!ctx.json) {
        ctx.out << "Reader: " << card->opened.info.name << ", slot " << ctx.slot << '\n';
        ctx.out << "ATR: " << to_hex(card->session.atr) << "  (" << protocol_name(card->session) << ")\n";
    }

    // One entry per step run, in order: an exchange or a reset.
    std::vector<std::variant<ApduExchange, ResetRecord>> log;
    ExitCode code = ExitCode::Ok;
    const bool keep_going = args.has("keep-going");
    for (const auto& step : *steps) {
        if (step.kind == ScriptStep::Kind::Exit) break;
        if (step.kind == ScriptStep::Kind::Reset) {
            ResetRecord r{step.line, std::nullopt, std::nullopt};
            auto s = card->slot->warm_reset();
            if (s) {
                r.atr = s->atr;
            } else {
                r.error = s.error();
            }
            if (!ctx.json) {
                ctx.out << "> reset\n";
                ctx.out << (r.atr ? "< ATR " + to_hex(*r.atr) : "! " + ccid::describe(*r.error)) << '\n';
            }
            log.emplace_back(r);
            if (r.error) {
                code = exit_code_for(*r.error);
                break;
            }
            continue;
        }
        ApduExchange e = transmit(*card->slot, step.apdu);
        e.expected = step.expected;
        e.line = step.line;
        if (!ctx.json) print_exchange(ctx.out, e);
        log.emplace_back(e);
        if (e.error) {
            code = exit_code_for(*e.error);
            break;
        }
        if (!e.matches_expectation()) {
            code = ExitCode::CardError;
            ctx.err << fmt::format("ccidctl: script line {}: response {} differs from the expected {}\n", e.line,
                                   to_hex(*e.response), to_hex(*e.expected));
            if (!keep_going) break;
        }
    }
    (void)card->slot->power_off();

    if (ctx.json) {
        JsonWriter j(ctx.out);
        j.begin_object().field("reader", card->opened.info.name).field("slot", ctx.slot);
        j.hex_field("atr", card->session.atr).field("protocol", unsigned{card->session.protocol});
        j.key("steps").begin_array();
        for (const auto& entry : log) {
            if (const auto* e = std::get_if<ApduExchange>(&entry)) {
                write_exchange_json(j, *e);
                continue;
            }
            const auto& r = std::get<ResetRecord>(entry);
            j.begin_object().field("line", r.line).field("reset", true);
            if (r.atr) {
                j.hex_field("atr", *r.atr);
            } else {
                j.field("error", ccid::describe(*r.error));
            }
            j.end_object();
        }
        j.end_array().field("exit_code", to_int(code)).end_object();
    }
    return code;
}

constexpr std::array kOptions = {
    OptionSpec{"keep-going", 'k', "", "go on after a response that differs from the expected one"},
};

}  // namespace

const Command& script_command() {
    static const Command c{
        "script",
        "FILE",
        "run a scriptor-style APDU script against the card",
        "One command per line: a command APDU in hex, `reset` (warm reset) or `exit`; '#' starts a\n"
        "comment. An APDU line may end with `=> SW1 SW2` (or `=> the whole response`): a response\n"
        "that differs stops the script with exit status 4 (unless --keep-going).\n"
        "  # select the Master File, expect success\n"
        "  00 A4 00 00 02 3F 00 => 90 00\n"
        "FILE - reads standard input.\n",
        kOptions,
        run_script,
    };
    return c;
}

}  // namespace ccidkit::ccidctl

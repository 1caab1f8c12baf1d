// The dispatcher: global options, command lookup, `--help` at every level, exit codes.
#include "ccidctl.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "api/ccid_backend_provider.h"
#include "ccid/logging.h"
#include "ccid/quirks_lookup.h"
#include "command.h"
#include "fd_reader.h"
#include "json.h"
#include "sim/virtual_spec.h"

namespace ccidkit::ccidctl {
namespace {

constexpr std::array kGlobalOptions = {
    OptionSpec{"help", 'h', "", "show help (for the command when one is given)"},
    OptionSpec{"json", '\0', "", "print the result as one JSON document (errors too)"},
    OptionSpec{"reader", 'r', "READER",
               "reader to use: index, name (or unique part of it), VID:PID, or usb:BUS-PORT[.PORT...]"},
    OptionSpec{"slot", '\0', "N", "slot of a multi-slot reader (default 0)"},
    OptionSpec{"virtual", '\0', "SPEC",
               "use only these simulated readers, e.g. 'short:t1,tpdu:t0', or socket=PATH for the reader "
               "a ccid-simd server shares (see `ccidctl list --help`); overrides $CCID_VIRTUAL_READERS"},
    OptionSpec{"fd", '\0', "N",
               "use only the reader behind this open usbfs file descriptor (/dev/bus/usb/BBB/DDD "
               "inherited from a launcher or a portal), for every command, monitor included; it is not closed"},
    OptionSpec{"quirks-file", '\0', "FILE", "reader quirks file to use instead of $CCIDKIT_QUIRKS_FILE"},
    OptionSpec{"verbose", 'v', "", "log the CCID layer at debug level on stderr (CCIDKIT_LOG=trace for more)"},
};

constexpr std::string_view kExitCodeHelp =
    "Exit status:\n"
    "  0  success\n"
    "  1  usage error (unknown command or option, malformed argument)\n"
    "  2  no reader found, or none matches --reader\n"
    "  3  no card in the reader\n"
    "  4  card or protocol error (mute card, bad ATR, T=0/T=1 failure, script SW mismatch)\n"
    "  5  I/O error (USB permission, device busy or gone, unreadable file)\n"
    "  6  diag found problems that need a fix\n";

// The variables the SCard API reads too: ccidctl sees the readers a PC/SC program would.
constexpr std::string_view kEnvironmentHelp =
    "Environment:\n"
    "  CCID_VIRTUAL_READERS  simulated readers listed before the USB ones, as the SCard API\n"
    "                        lists them: a count (\"2\") or a SPEC as for --virtual (file=PATH\n"
    "                        read as the library reads it); --virtual replaces it\n"
    "  CCIDKIT_USB           \"0\": no USB readers (--virtual never uses USB)\n"
    "  CCIDKIT_QUIRKS_FILE   reader quirks file (--quirks-file replaces it)\n"
    "  CCIDKIT_LOG           log level of the CCID layer on stderr (e.g. debug, trace)\n";

std::string_view kind_of(ExitCode c) {
    switch (c) {
        case ExitCode::Ok: return "ok";
        case ExitCode::Usage: return "usage";
        case ExitCode::NoReader: return "no-reader";
        case ExitCode::NoCard: return "no-card";
        case ExitCode::CardError: return "card-error";
        case ExitCode::IoError: return "io-error";
        case ExitCode::DiagFailed: return "diag-failed";
    }
    return "unknown";
}

void print_general_help(std::ostream& out) {
    out << "Usage: ccidctl [OPTIONS] COMMAND [ARGS...]\n\n"
           "Smart-card reader tool of ccidkit: decode ATRs and reader descriptors, talk to cards,\n"
           "record USB traces, and bring up new readers.\n\nCommands:\n";
    std::size_t width = 0;
    for (const auto& c : all_commands()) width = std::max(width, c.name.size());
    for (const auto& c : all_commands()) {
        out << "  " << c.name << std::string(width - c.name.size() + 2, ' ') << c.summary << '\n';
    }
    out << "\nGlobal options:\n"
        << format_options(global_options()) << '\n'
        << kExitCodeHelp << '\n'
        << kEnvironmentHelp << "\nRun `ccidctl COMMAND --help` for the options of a command.\n";
}

void print_command_help(std::ostream& out, const Command& c) {
    out << "Usage: ccidctl " << c.name;
    if (!c.options.empty()) out << " [OPTIONS]";
    if (!c.arguments.empty()) out << ' ' << c.arguments;
    out << "\n\n" << c.summary << "\n";
    if (!c.description.empty()) out << '\n' << c.description;
    if (!c.description.empty() && !c.description.ends_with('\n')) out << '\n';
    if (!c.options.empty()) out << "\nOptions:\n" << format_options(c.options);
    out << "\nGlobal options:\n"
        << format_options(global_options()) << '\n'
        << kExitCodeHelp << '\n'
        << kEnvironmentHelp;
}

// Copies the global options found in `args` into the context.
std::optional<std::string> apply_globals(Context& ctx, const ParsedArgs& args) {
    if (args.has("json")) ctx.json = true;
    if (args.has("verbose")) ctx.verbose = true;
    if (auto r = args.value("reader")) ctx.reader = *r;
    if (auto v = args.value("virtual")) ctx.virtual_readers = *v;
    if (auto f = args.value("fd")) {
        ctx.usb_fd = parse_fd_option(*f);
        if (!ctx.usb_fd) return "--fd needs a file descriptor number (0 or more), not '" + *f + "'";
    }
    if (auto q = args.value("quirks-file")) ctx.quirks_file = *q;
    if (auto s = args.value("slot")) {
        unsigned n = 0;
        if (s->empty() || s->size() > 2 ||
            !std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '9'; }))
            return "--slot needs a slot number (0..15)";
        n = static_cast<unsigned>(std::stoul(*s));
        if (n > 15) return "--slot needs a slot number (0..15)";
        ctx.slot = n;
    }
    return std::nullopt;
}

}  // namespace

std::string_view describe(ExitCode c) {
    switch (c) {
        case ExitCode::Ok: return "success";
        case ExitCode::Usage: return "usage error";
        case ExitCode::NoReader: return "no reader";
        case ExitCode::NoCard: return "no card";
        case ExitCode::CardError: return "card or protocol error";
        case ExitCode::IoError: return "I/O error";
        case ExitCode::DiagFailed: return "diagnostics found problems";
    }
    return "unknown exit code";
}

std::span<const OptionSpec> global_options() { return kGlobalOptions; }

const Command* find_command(std::string_view name) {
    for (const auto& c : all_commands())
        if (c.name == name) return &c;
    return nullptr;
}

ExitCode fail(Context& ctx, ExitCode code, std::string_view message) {
    ctx.err << "ccidctl: " << message << '\n';
    if (ctx.json) {
        JsonWriter j(ctx.out);
        j.begin_object().key("error").begin_object();
        j.field("exit_code", to_int(code)).field("kind", kind_of(code)).field("message", message);
        j.end_object().end_object();
    }
    return code;
}

void warn(Context& ctx, std::string_view message) { ctx.err << "ccidctl: warning: " << message << '\n'; }

ExitCode run_command_line(Context& ctx, std::span<const std::string> args) {
    const std::array<std::span<const OptionSpec>, 1> globals_only{global_options()};
    auto head = parse_args(args, globals_only, /*stop_at_positional=*/true);
    if (!head) {
        print_general_help(ctx.err);
        return fail(ctx, ExitCode::Usage, head.error());
    }
    if (auto e = apply_globals(ctx, *head)) return fail(ctx, ExitCode::Usage, *e);
    if (head->rest.empty()) {
        if (head->has("help")) {
            print_general_help(ctx.out);
            return ExitCode::Ok;
        }
        print_general_help(ctx.err);
        return fail(ctx, ExitCode::Usage, "no command given");
    }
    const Command* command = find_command(head->rest.front());
    if (command == nullptr) {
        return fail(ctx, ExitCode::Usage,
                    "unknown command '" + head->rest.front() + "' (`ccidctl --help` lists the commands)");
    }
    const std::array<std::span<const OptionSpec>, 2> specs{command->options, global_options()};
    auto parsed = parse_args(std::span(head->rest).subspan(1), specs, command->takes_command_line);
    if (!parsed) return fail(ctx, ExitCode::Usage, std::string(command->name) + ": " + parsed.error());
    if (head->has("help") || parsed->has("help")) {
        print_command_help(ctx.out, *command);
        return ExitCode::Ok;
    }
    if (auto e = apply_globals(ctx, *parsed)) return fail(ctx, ExitCode::Usage, *e);

    if (ctx.verbose) ccid::set_log_level(spdlog::level::debug);
    if (ctx.quirks_file) {
        auto loaded = ccid::load_quirks_file(*ctx.quirks_file);
        if (!loaded) return fail(ctx, ExitCode::IoError, ccid::describe(loaded.error()));
    }
    return command->run(ctx, *parsed);
}

int run(std::span<const std::string> args, std::ostream& out, std::ostream& err, const std::atomic<bool>* interrupted) {
    Context ctx(out, err);
    ctx.interrupted = interrupted;
    // The same variables as the SCard API reads, so that ccidctl and PC/SC programs started
    // in one environment see the same readers under the same names.
    if (const char* v = std::getenv(sim::kVirtualReadersEnvVar); v && *v) ctx.env_virtual_readers = v;
    if (const char* u = std::getenv(api::kUsbEnvVar)) ctx.usb = std::string_view(u) != "0";
    const ExitCode code = run_command_line(ctx, args);
    out.flush();
    return to_int(code);
}

}  // namespace ccidkit::ccidctl

// `ccidctl diag`: the bring-up report of a reader (diag_run.h), as text or JSON, optionally
// saved to a file (the udev-started ccidkit-diag@.service keeps it under /run/ccidkit/).
#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "command.h"
#include "diag_run.h"
#include "json.h"
#include "readers.h"

namespace ccidkit::ccidctl {
namespace {

ExitCode run_diag(Context& ctx, const ParsedArgs& args) {
    if (!args.positional.empty()) return fail(ctx, ExitCode::Usage, "diag takes no arguments (see --help)");
    DiagOptions options;
    options.slot = ctx.slot;
    if (auto n = args.value("iterations")) {
        char* end = nullptr;
        const unsigned long v = std::strtoul(n->c_str(), &end, 10);
        if (n->empty() || *end != '\0' || v < 1 || v > 10000)
            return fail(ctx, ExitCode::Usage, "--iterations needs a number from 1 to 10000");
        options.iterations = static_cast<unsigned>(v);
    }
    if (auto p = args.value("probe")) {
        auto bytes = from_hex(*p);
        if (!bytes || bytes->size() < 4) return fail(ctx, ExitCode::Usage, "--probe needs a command APDU in hex");
        options.probe_apdu = std::move(*bytes);
    }
    options.touch_card = !args.has("no-card");
    if (!args.has("quiet")) {
        options.progress = [&ctx](std::string_view step) { ctx.err << "ccidctl: diag: " << step << "...\n"; };
    }

    auto info = find_reader(ctx);
    if (!info) return fail(ctx, info.error().code, info.error().message);
    const DiagReport report = run_diagnostics(ctx, *info, options);

    if (auto save = args.value("save")) {
        // Write-then-rename so a reader of /run/ccidkit never sees half a report.
        const std::string tmp = *save + ".tmp";
        {
            std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
            {
                JsonWriter j(f);
                write_report_json(j, report);
            }
            if (!f) return fail(ctx, ExitCode::IoError, tmp + ": cannot write the report");
        }
        if (std::rename(tmp.c_str(), save->c_str()) != 0)
            return fail(ctx, ExitCode::IoError, *save + ": cannot write the report");
    }
    if (ctx.json) {
        JsonWriter j(ctx.out);
        write_report_json(j, report);
    } else {
        print_report_text(ctx.out, report);
    }
    return report.verdict() == CheckStatus::Fail ? ExitCode::DiagFailed : ExitCode::Ok;
}

constexpr std::array kOptions = {
    OptionSpec{"save", '\0', "FILE", "also write the report as JSON to FILE"},
    OptionSpec{"iterations", '\0', "N", "probe APDU round trips for the latency figure (default 20)"},
    OptionSpec{"probe", '\0', "HEX", "the APDU used to probe the card (default 00A4040000, SELECT with no name)"},
    OptionSpec{"no-card", '\0', "", "reader checks only: never power or talk to the card (used on plug-in)"},
    OptionSpec{"quiet", 'q', "", "no progress lines on stderr"},
};

}  // namespace

const Command& diag_command() {
    static const Command c{
        "diag",
        "",
        "bring-up diagnostics: exercise the reader and report what needs a quirk",
        "Checks the descriptor, opens the reader, exercises every command it claims, and with a\n"
        "card in the slot: power-on at each voltage (lowest first, never above the card's class),\n"
        "protocol and rate negotiation (PPS, SetParameters, IFSD), GetParameters/SetParameters,\n"
        "short and extended APDUs at their limits, latency, time extensions. Progress goes to\n"
        "stderr; the report ends with a verdict and, when a quirk would fix a failure, the row to\n"
        "put in the quirks file. The card is powered (and left off at the end). Exit status 6 when\n"
        "a check failed. docs/BRINGUP.md explains how to read the report.\n",
        kOptions,
        run_diag,
    };
    return c;
}

}  // namespace ccidkit::ccidctl

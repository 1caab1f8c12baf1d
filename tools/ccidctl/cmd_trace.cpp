// `ccidctl trace --output FILE COMMAND...`: runs another ccidctl command and records the USB
// traffic of every reader it opens into a pcapng file (Linux usbmon format, LINKTYPE 220) that
// Wireshark and tshark decode with their USB CCID dissector.
#include <fmt/format.h>

#include <array>

#include "ccid/pcapng_recorder.h"
#include "command.h"

namespace ccidkit::ccidctl {
namespace {

ExitCode run_trace(Context& ctx, const ParsedArgs& args) {
    const auto output = args.value("output");
    if (!output) return fail(ctx, ExitCode::Usage, "trace: --output FILE is required");
    if (args.rest.empty())
        return fail(ctx, ExitCode::Usage, "trace: give the command to run, e.g. `trace -o t.pcapng atr`");
    if (ctx.capture) return fail(ctx, ExitCode::Usage, "trace: already tracing");

    auto writer = ccid::pcapng::PcapngWriter::create(*output);
    if (!writer) return fail(ctx, ExitCode::IoError, fmt::format("{}: {}", *output, to_string(writer.error())));
    ctx.capture = std::make_shared<ccid::pcapng::UsbCapture>(std::move(*writer));

    const ExitCode code = run_command_line(ctx, args.rest);

    ctx.capture->flush();
    const auto error = ctx.capture->error();
    const auto packets = ctx.capture->packets_written();
    ctx.capture.reset();
    if (error) {
        ctx.err << "ccidctl: trace: " << *output << ": " << to_string(*error) << '\n';
        return code == ExitCode::Ok ? ExitCode::IoError : code;
    }
    ctx.err << "ccidctl: trace: " << packets << " USB packet(s) written to " << *output << '\n';
    return code;
}

constexpr std::array kOptions = {
    OptionSpec{"output", 'o', "FILE", "the pcapng file to write (replaced if it exists)"},
};

}  // namespace

const Command& trace_command() {
    static const Command c{
        "trace",
        "COMMAND [ARGS...]",
        "run a command and record its USB traffic into a pcapng file for Wireshark",
        "Every reader the command opens is recorded: each USB transfer as a URB submission and\n"
        "completion in the Linux usbmon format (pcapng, link type 220). The file starts with the\n"
        "device and configuration descriptors of each reader (rebuilt from enumeration), so\n"
        "Wireshark's USB CCID dissector decodes the bulk messages without any setting:\n"
        "  ccidctl trace -o t.pcapng apdu 00A4040000\n"
        "  tshark -r t.pcapng -Y usbccid\n"
        "Idle interrupt-pipe polls that time out are left out.\n",
        kOptions,
        run_trace,
        /*takes_command_line=*/true,
    };
    return c;
}

}  // namespace ccidkit::ccidctl

// What every ccidctl command gets (the output streams, the global options) and how a command
// describes itself to the dispatcher and to `--help`.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "args.h"
#include "exit_codes.h"

namespace ccidkit::ccid::pcapng {
class UsbCapture;
}

namespace ccidkit::ccidctl {

struct Context {
    Context(std::ostream& o, std::ostream& e) : out(o), err(e) {}

    std::ostream& out;  // the result: text or one JSON document
    std::ostream& err;  // errors, warnings and progress
    bool json = false;
    bool verbose = false;
    std::optional<std::string> reader;           // --reader NAME|INDEX|VID:PID|usb:LOCATION
    std::optional<std::string> virtual_readers;  // --virtual SPEC (see readers.h)
    std::optional<int> usb_fd;                   // --fd N: only the reader behind it (fd_reader.h)
    // What the SCard API would use too (readers.h): $CCID_VIRTUAL_READERS (ignored when
    // --virtual is given) and $CCIDKIT_USB ("0": no USB readers). Read by run().
    std::optional<std::string> env_virtual_readers;
    bool usb = true;
    unsigned slot = 0;                           // --slot
    std::optional<std::string> quirks_file;      // --quirks-file (replaces $CCIDKIT_QUIRKS_FILE)
    // Set by `trace`: every transport the command opens is recorded into it.
    std::shared_ptr<ccid::pcapng::UsbCapture> capture;
    // Set when SIGINT/SIGTERM arrived (long-running commands poll it); may be null.
    const std::atomic<bool>* interrupted = nullptr;

    bool stop_requested() const { return interrupted != nullptr && interrupted->load(); }
};

using CommandFn = ExitCode (*)(Context&, const ParsedArgs&);

struct Command {
    std::string_view name;
    std::string_view arguments;    // usage after the name: "[HEX...]"
    std::string_view summary;      // one line, for the command list
    std::string_view description;  // paragraphs for `ccidctl NAME --help`
    std::span<const OptionSpec> options;
    CommandFn run = nullptr;
    // The command takes another command line after its options (`trace`).
    bool takes_command_line = false;
};

// Prints "ccidctl: message" on the error stream and, with --json, an error document
// {"error": {"exit_code": N, "kind": "...", "message": "..."}} on the output. Returns `code`.
ExitCode fail(Context& ctx, ExitCode code, std::string_view message);

// Reports a problem that does not end the command ("ccidctl: warning: ...").
void warn(Context& ctx, std::string_view message);

// The commands, in the order `ccidctl --help` lists them.
std::span<const Command> all_commands();
const Command* find_command(std::string_view name);

// The global options, accepted before or after the command name.
std::span<const OptionSpec> global_options();

// Runs one command line (without the program name). Used by main() and by `trace`.
ExitCode run_command_line(Context& ctx, std::span<const std::string> args);

}  // namespace ccidkit::ccidctl

// ccid-simd: serves one simulated reader (and its card) over a Unix socket, so that several
// processes share it as they would share a USB reader: set CCID_VIRTUAL_READERS=socket=PATH in
// each of them. See docs/design/simulators.md ("ccid-simd").
//
//   ccid-simd serve --socket PATH [--reader SPEC]
//   ccid-simd ctl --socket PATH insert [t1|t0|t1-1v8] | remove | status | unplug
//                               | hardware-error [CODE] | storm COUNT | fault KEY=N[,...]
#include <fmt/format.h>
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ccid/logging.h"
#include "sim/socket/sim_control_client.h"
#include "sim/socket/sim_server.h"
#include "sim/virtual_spec.h"

namespace {

using namespace ccidkit;
using ccid::socket::Op;

constexpr const char* kUsage = R"(usage:
  ccid-simd serve --socket PATH [--reader SPEC]
      Serves one simulated reader at the Unix socket PATH until SIGTERM/SIGINT or an unplug
      request; prints "ready" once clients can connect. SPEC is one item of the
      CCID_VIRTUAL_READERS syntax: tpdu|short|extended|file=PATH, then :t1 (default), :t0,
      :t1-1v8 or :none for the card (default "tpdu:t1"). --verbose logs to stderr.
  ccid-simd ctl --socket PATH COMMAND
      insert [t1|t0|t1-1v8]   put a card in the slot (replacing the one there)
      remove                  take the card out
      status                  print the reader's state
      unplug                  the reader goes away: the server closes every connection and exits
      hardware-error [CODE]   the reader reports a hardware error (default code 1)
      storm COUNT             COUNT slot-change notifications in a row (bouncing contact)
      fault KEY=N[,...]       reply faults: stale_seq, oversize, truncated, silent,
                              bulk_in_stalls, endless_time_extension=0|1, clear
Clients: CCID_VIRTUAL_READERS=socket=PATH makes the SCard library use the served reader.
)";

sim::SimServer* g_server = nullptr;

extern "C" void on_stop_signal(int) {
    if (g_server) g_server->stop();
}

struct Args {
    std::string command;
    std::string socket;
    std::string reader = "tpdu:t1";
    bool verbose = false;
    std::vector<std::string> rest;
};

std::optional<Args> parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if ((arg == "--socket" || arg == "--reader") && i + 1 < argc) {
            (arg == "--socket" ? a.socket : a.reader) = argv[++i];
        } else if (arg == "--verbose") {
            a.verbose = true;
        } else if (arg.starts_with("--")) {
            return std::nullopt;
        } else if (a.command.empty()) {
            a.command = arg;
        } else {
            a.rest.emplace_back(arg);
        }
    }
    if (a.command.empty() || a.socket.empty()) return std::nullopt;
    return a;
}

int serve(const Args& a) {
    if (!a.rest.empty()) {
        fmt::print(stderr, "ccid-simd: serve takes no argument '{}'\n", a.rest.front());
        return 2;
    }
    auto specs = sim::parse_virtual_spec(a.reader);
    if (!specs || specs->size() != 1) {
        fmt::print(stderr, "ccid-simd: --reader {}: {}\n", a.reader, specs ? "exactly one reader, please" : specs.error());
        return 2;
    }
    if (a.verbose) ccid::set_log_level(spdlog::level::debug);
    auto server = sim::SimServer::listen(sim::SimServerOptions{a.socket, std::move(specs->front())});
    if (!server) {
        fmt::print(stderr, "ccid-simd: {}\n", server.error());
        return 1;
    }
    g_server = server->get();
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    // Plain stdio: a reader of stdout that went away must not make the server fail.
    std::fputs("ready\n", stdout);
    std::fflush(stdout);
    (*server)->run();
    const bool unplugged = (*server)->unplugged();
    g_server = nullptr;
    server->reset();
    if (unplugged) std::fputs("unplugged\n", stdout);
    return 0;
}

// Decimal, or hexadecimal after 0x; at most `max`.
std::optional<unsigned long> number(const std::string& s, unsigned long max) {
    const bool hex = s.starts_with("0x");
    const char* first = s.data() + (hex ? 2 : 0);
    const char* last = s.data() + s.size();
    unsigned long n = 0;
    const auto [end, ec] = std::from_chars(first, last, n, hex ? 16 : 10);
    if (first == last || ec != std::errc{} || end != last || n > max) return std::nullopt;
    return n;
}

int ctl(const Args& a) {
    if (a.rest.empty()) {
        fmt::print(stderr, "ccid-simd: ctl needs a command\n{}", kUsage);
        return 2;
    }
    const std::string& what = a.rest[0];
    const std::string arg = a.rest.size() > 1 ? a.rest[1] : std::string();
    if (a.rest.size() > 2) {
        fmt::print(stderr, "ccid-simd: too many arguments for ctl {}\n", what);
        return 2;
    }
    Op op{};
    Bytes body;
    if (what == "insert") {
        op = Op::Insert;
        body.assign(arg.begin(), arg.end());
    } else if (what == "remove" || what == "status" || what == "unplug") {
        op = what == "remove" ? Op::Remove : what == "status" ? Op::Status : Op::Unplug;
    } else if (what == "hardware-error") {
        const auto code = arg.empty() ? std::optional<unsigned long>(1) : number(arg, 0xFF);
        if (!code) return fmt::print(stderr, "ccid-simd: hardware-error CODE is 0..255\n"), 2;
        op = Op::HardwareError;
        body.push_back(static_cast<std::uint8_t>(*code));
    } else if (what == "storm") {
        const auto count = number(arg, 100000);
        if (!count) return fmt::print(stderr, "ccid-simd: storm COUNT is 0..100000\n"), 2;
        op = Op::SlotChangeStorm;
        body = ccid::socket::BodyWriter().u32(static_cast<std::uint32_t>(*count)).take();
    } else if (what == "fault" && !arg.empty()) {
        op = Op::SetFaults;
        body.assign(arg.begin(), arg.end());
    } else {
        fmt::print(stderr, "ccid-simd: unknown ctl command '{}'\n{}", what, kUsage);
        return 2;
    }
    auto answer = sim::send_sim_control(a.socket, op, body);
    if (!answer) {
        fmt::print(stderr, "ccid-simd: {}\n", answer.error());
        return 1;
    }
    fmt::print("{}", *answer);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            fmt::print("{}", kUsage);
            return 0;
        }
    }
    const auto args = parse(argc, argv);
    if (!args) {
        fmt::print(stderr, "{}", kUsage);
        return 2;
    }
    if (args->command == "serve") return serve(*args);
    if (args->command == "ctl") return ctl(*args);
    fmt::print(stderr, "ccid-simd: unknown command '{}'\n{}", args->command, kUsage);
    return 2;
}

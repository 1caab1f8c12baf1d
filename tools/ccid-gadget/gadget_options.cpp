#include "gadget_options.h"

#include <charconv>
#include <string_view>

namespace ccidkit::gadget {

namespace {

template <typename T>
std::optional<T> parse_number(std::string_view text) {
    T value{};
    int base = 10;
    if (text.starts_with("0x") || text.starts_with("0X")) {
        text.remove_prefix(2);
        base = 16;
    }
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value, base);
    if (ec != std::errc{} || ptr != end || text.empty()) return std::nullopt;
    return value;
}

}  // namespace

const char* usage_text() {
    return "usage: ccid-gadget [options]\n"
           "Exposes ccidkit's simulated CCID reader as a real USB device through FunctionFS\n"
           "(configfs gadget on a UDC, e.g. dummy_hcd). Runs until SIGINT/SIGTERM or 'quit'.\n"
           "Reader:\n"
           "  --corpus FILE          impersonate a reader of the corpus (libccid `parse` dump)\n"
           "  --corpus-interface N   which interface record of that file (default 0)\n"
           "  --level L              built-in reader: character|tpdu|short|extended (default tpdu)\n"
           "  --slots N              built-in reader: number of slots (default 1)\n"
           "  --no-interrupt         no interrupt-IN endpoint\n"
           "  --time-extensions N    time extensions before each card command's reply\n"
           "  --vid 0xVVVV --pid 0xPPPP   override the USB identity\n"
           "  --card t0|t1|none      card in slot 0 at start (default t1)\n"
           "  --echo                 raw mode: bulk-OUT transfers are echoed on bulk-IN\n"
           "Plumbing:\n"
           "  --name NAME            gadget / FunctionFS instance name (default ccidkit)\n"
           "  --configfs DIR         configfs mount point (default /sys/kernel/config)\n"
           "  --ffs-dir DIR          FunctionFS mount point (default /dev/ffs-NAME)\n"
           "  --udc NAME             UDC to bind (default: first in /sys/class/udc)\n"
           "  --control FIFO         read commands from this FIFO (created if missing)\n"
           "  --ack FILE             append '<command> -> ok|error ...' for each command\n"
           "  --ready FILE           write 'ready' here once bound to the UDC\n"
           "  --verbose              log USB events to stderr\n"
           "Commands (FIFO lines): insert [SLOT] [t0|t1] | remove [SLOT] | unplug | plug |\n"
           "  hwerror SLOT [CODE] | storm N | fault NAME [VALUE [BYTES]] |\n"
           "  fault clear | stats | quit\n"
           "  fault names: stale_seq silent oversize truncated stalls endless disappear_after only_for\n"
           "Signals: SIGUSR1 toggles the card in slot 0; SIGINT/SIGTERM stop.\n";
}

std::expected<GadgetOptions, std::string> parse_options(const std::vector<std::string>& args) {
    GadgetOptions o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::expected<std::string, std::string> {
            if (i + 1 >= args.size()) return std::unexpected(a + " needs a value");
            return args[++i];
        };
        auto number = [&]<typename T>(T& out) -> std::expected<void, std::string> {
            auto v = value();
            if (!v) return std::unexpected(v.error());
            auto n = parse_number<T>(*v);
            if (!n) return std::unexpected(a + ": not a number: " + *v);
            out = *n;
            return {};
        };
        std::expected<void, std::string> ok;
        if (a == "--help" || a == "-h") return std::unexpected(usage_text());
        if (a == "--corpus") {
            auto v = value();
            if (!v) return std::unexpected(v.error());
            o.corpus_file = *v;
        } else if (a == "--corpus-interface") {
            ok = number(o.corpus_interface);
        } else if (a == "--level") {
            auto v = value();
            if (!v) return std::unexpected(v.error());
            if (*v != "character" && *v != "tpdu" && *v != "short" && *v != "extended") {
                return std::unexpected("--level: expected character, tpdu, short or extended, got " + *v);
            }
            o.level = *v;
        } else if (a == "--slots") {
            ok = number(o.slots);
            if (ok && (o.slots == 0 || o.slots > 16)) return std::unexpected("--slots: 1..16");
        } else if (a == "--no-interrupt") {
            o.no_interrupt = true;
        } else if (a == "--time-extensions") {
            ok = number(o.time_extensions);
        } else if (a == "--vid" || a == "--pid") {
            std::uint16_t id = 0;
            ok = number(id);
            (a == "--vid" ? o.vendor_id : o.product_id) = id;
        } else if (a == "--card") {
            auto v = value();
            if (!v) return std::unexpected(v.error());
            if (*v == "t0") o.card = CardKind::T0;
            else if (*v == "t1") o.card = CardKind::T1;
            else if (*v == "none") o.card = CardKind::None;
            else return std::unexpected("--card: expected t0, t1 or none, got " + *v);
        } else if (a == "--echo") {
            o.echo = true;
        } else if (a == "--name" || a == "--configfs" || a == "--ffs-dir" || a == "--udc" || a == "--control" ||
                   a == "--ack" || a == "--ready") {
            auto v = value();
            if (!v) return std::unexpected(v.error());
            std::string& field = a == "--name"       ? o.name
                                 : a == "--configfs" ? o.configfs
                                 : a == "--ffs-dir"  ? o.ffs_dir
                                 : a == "--udc"      ? o.udc
                                 : a == "--control"  ? o.control_fifo
                                 : a == "--ack"      ? o.ack_file
                                                     : o.ready_file;
            field = *v;
        } else if (a == "--verbose" || a == "-v") {
            o.verbose = true;
        } else {
            return std::unexpected("unknown argument: " + a + " (see --help)");
        }
        if (!ok) return std::unexpected(ok.error());
    }
    if (o.name.empty() || o.name.find('/') != std::string::npos || o.name.size() > 32) {
        return std::unexpected("--name: 1..32 characters, no '/'");
    }
    if (o.ffs_dir.empty()) o.ffs_dir = "/dev/ffs-" + o.name;
    return o;
}

}  // namespace ccidkit::gadget

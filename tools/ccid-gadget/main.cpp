// ccid-gadget: ccidkit's simulated CCID reader as a real USB device, through a configfs
// gadget with one FunctionFS function (on dummy_hcd in the test VM, or on any UDC). The host
// side sees an ordinary CCID reader: enumeration, class descriptor, bulk/interrupt pipes and
// class requests all go through the kernel's USB stack. See docs/design/usb-vm.md.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ccid/descriptor.h"
#include "configfs_gadget.h"
#include "ffs_bridge.h"
#include "ffs_descriptors.h"
#include "gadget_device.h"
#include "gadget_options.h"
#include "sim/reader/reader_config.h"
#include "sim/reader_corpus.h"

namespace {

using namespace ccidkit;
using namespace ccidkit::gadget;
using namespace std::chrono_literals;

std::atomic<bool> g_stop{false};

// Printable ASCII only: corpus strings may hold binary garbage, and configfs/USB strings
// should not.
std::string printable(const std::string& s) {
    std::string out;
    for (const char c : s) {
        if (c >= 0x20 && c < 0x7F) out.push_back(c);
    }
    return out.substr(0, 100);
}

struct ReaderSetup {
    sim::ReaderSimConfig config;
    std::string interface_name;
    std::vector<std::string> notes;
};

std::expected<ReaderSetup, std::string> reader_setup(const GadgetOptions& o) {
    ReaderSetup s;
    if (!o.corpus_file.empty()) {
        auto file = sim::load_reader_file(o.corpus_file);
        if (!file) return std::unexpected(fmt::format("{}: {}", o.corpus_file, file.error().message));
        if (o.corpus_interface >= file->interfaces.size()) {
            return std::unexpected(fmt::format("{} has {} interface record(s)", o.corpus_file, file->interfaces.size()));
        }
        const sim::CorpusInterface& rec = file->interfaces[o.corpus_interface];
        s.config = sim::reader_config_from_corpus(rec);
        s.interface_name = printable(rec.interface_string.value_or(""));
        if (rec.bInterfaceClass != 0x0B) {
            s.notes.push_back(fmt::format("interface class {:02X} presented as 0B (FunctionFS accepts the CCID "
                                          "descriptor only in a CCID interface)",
                                          rec.bInterfaceClass));
        }
        const auto bcd = rec.device.bcd_device;
        if (((bcd & 0xF) > 9) || (((bcd >> 4) & 0xF) > 9) || (((bcd >> 8) & 0xF) > 9) || ((bcd >> 12) > 9)) {
            s.notes.push_back(fmt::format("bcdDevice {:04X} is not BCD: configfs refuses it, 0000 is shown", bcd));
        }
        if (rec.descriptor.bDescriptorType != ccid::kCcidDescriptorType || !rec.descriptor.trailing.empty()) {
            s.notes.push_back("class descriptor presented as type 21h, 54 bytes (FunctionFS accepts nothing else)");
        }
    } else {
        const ccid::ExchangeLevel level = o.level == "character"  ? ccid::ExchangeLevel::Character
                                          : o.level == "short"    ? ccid::ExchangeLevel::ShortApdu
                                          : o.level == "extended" ? ccid::ExchangeLevel::ExtendedApdu
                                                                  : ccid::ExchangeLevel::Tpdu;
        s.config = sim::make_reader_config(level, o.slots);
        s.config.clocks_khz = {4000, 8000};
        s.config.data_rates_bps = {10752, 21505, 43010, 86021, 172043, 344086};
        s.config.descriptor.bNumClockSupported = static_cast<std::uint8_t>(s.config.clocks_khz.size());
        s.config.descriptor.bNumDataRatesSupported = static_cast<std::uint8_t>(s.config.data_rates_bps.size());
        s.interface_name = "ccidkit CCID";
    }
    if (o.no_interrupt) s.config.has_interrupt = false;
    if (o.vendor_id) s.config.vendor_id = *o.vendor_id;
    if (o.product_id) s.config.product_id = *o.product_id;
    s.config.time_extensions = o.time_extensions;
    // FunctionFS hands class requests over with the function-local interface number (0).
    s.config.interface_number = 0;
    s.config.descriptor.bDescriptorType = ccid::kCcidDescriptorType;
    s.config.descriptor.trailing.clear();
    return s;
}

void write_file(const std::string& path, const std::string& text, bool append) {
    if (path.empty()) return;
    std::ofstream f(path, append ? std::ios::app : std::ios::trunc);
    f << text << '\n';
}

// SIGINT/SIGTERM/SIGHUP stop, SIGUSR1 toggles the card; all blocked in every thread and taken
// here with sigwait, so handlers never run inside the simulator's locks.
void signal_loop(const sigset_t& set, GadgetDevice& device) {
    while (!g_stop) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGUSR1) {
            device.toggle_card();
        } else {
            g_stop = true;
        }
    }
}

void control_loop(const GadgetOptions& o, GadgetDevice& device) {
    int fd = -1;
    if (!o.control_fifo.empty()) {
        if (::mkfifo(o.control_fifo.c_str(), 0600) != 0 && errno != EEXIST) {
            std::fprintf(stderr, "ccid-gadget: mkfifo %s: %s\n", o.control_fifo.c_str(), std::strerror(errno));
        }
        // O_RDWR: the FIFO never reports end-of-file when a writer closes it.
        fd = ::open(o.control_fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    }
    std::string pending;
    while (!g_stop) {
        device.tick();
        if (fd < 0) {
            std::this_thread::sleep_for(50ms);
            continue;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        char buf[512];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) continue;
        pending.append(buf, static_cast<std::size_t>(n));
        if (pending.size() > 1 << 16) pending.clear();  // a writer that never ends its line
        std::size_t eol;
        while ((eol = pending.find('\n')) != std::string::npos) {
            const std::string line = pending.substr(0, eol);
            pending.erase(0, eol + 1);
            const std::string result = line == "quit" ? "ok" : device.command(line);
            write_file(o.ack_file, line + " -> " + result, true);
            if (o.verbose) std::fprintf(stderr, "ccid-gadget: %s -> %s\n", line.c_str(), result.c_str());
            if (line == "quit") g_stop = true;
        }
    }
    if (fd >= 0) ::close(fd);
}

int run(const GadgetOptions& o) {
    auto setup = reader_setup(o);
    if (!setup) {
        std::fprintf(stderr, "ccid-gadget: %s\n", setup.error().c_str());
        return 2;
    }
    for (const auto& note : setup->notes) std::fprintf(stderr, "ccid-gadget: note: %s\n", note.c_str());

    std::string udc = o.udc;
    if (udc.empty()) {
        const auto udcs = ConfigfsGadget::list_udcs();
        if (udcs.empty()) {
            std::fprintf(stderr, "ccid-gadget: no UDC in /sys/class/udc (modprobe dummy_hcd?)\n");
            return 1;
        }
        udc = udcs.front();
    }

    const sim::ReaderSimConfig& cfg = setup->config;
    InterfaceLayout layout;
    layout.class_descriptor = ccid::encode_ccid_descriptor(cfg.descriptor);
    layout.interrupt_in = cfg.has_interrupt;
    layout.interrupt_max_packet = interrupt_packet_size(std::size_t{cfg.descriptor.bMaxSlotIndex} + 1);
    layout.interface_name = setup->interface_name;

    DeviceIdentity identity{cfg.vendor_id, cfg.product_id, cfg.bcd_device, printable(cfg.manufacturer),
                            printable(cfg.product), printable(cfg.serial)};
    if (o.echo) identity.product = "ccidkit echo device";

    // Signals are blocked before any thread starts so that every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    ConfigfsGadget gadget(o.configfs, o.name, o.ffs_dir);
    if (auto r = gadget.create(identity); !r) {
        std::fprintf(stderr, "ccid-gadget: %s\n", r.error().c_str());
        return 1;
    }
    GadgetDevice device(cfg, o.echo, gadget, udc);
    if (!o.echo && o.card != CardKind::None) {
        (void)device.command(o.card == CardKind::T0 ? "insert 0 t0" : "insert 0 t1");
    }
    int status = 0;
    {
        FfsBridge bridge(o.ffs_dir, [&device] { return device.device(); }, cfg.has_interrupt, o.verbose);
        if (auto r = bridge.open(ffs_descriptors(layout), ffs_strings(layout)); !r) {
            std::fprintf(stderr, "ccid-gadget: %s\n", r.error().c_str());
            return 1;
        }
        bridge.start();
        const std::string bound = device.bind();
        if (bound != "ok") {
            std::fprintf(stderr, "ccid-gadget: bind to %s: %s\n", udc.c_str(), bound.c_str());
            status = 1;
        } else {
            std::fprintf(stderr, "ccid-gadget: %04x:%04x bound to %s (%s)\n", cfg.vendor_id, cfg.product_id,
                         udc.c_str(), o.echo ? "echo" : "reader simulator");
            // "ready", then the ATR of the card in slot 0 (if any) for scripts to compare with.
            std::string ready = "ready";
            if (auto r = device.reader(); r && r->card(0)) ready += "\natr " + to_hex(r->card(0)->atr(), '\0');
            write_file(o.ready_file, ready, false);
            std::thread signals([&] { signal_loop(set, device); });
            control_loop(o, device);
            // Wake the signal thread (it may be in sigwait) and let it see g_stop.
            pthread_kill(signals.native_handle(), SIGTERM);
            signals.join();
        }
        (void)device.unplug();
        bridge.stop();
        const auto& c = bridge.counters();
        if (o.verbose) {
            std::fprintf(stderr, "ccid-gadget: bulk-out %llu bulk-in %llu interrupt %llu zlp %llu setups %llu\n",
                         static_cast<unsigned long long>(c.bulk_out_messages.load()),
                         static_cast<unsigned long long>(c.bulk_in_messages.load()),
                         static_cast<unsigned long long>(c.interrupt_messages.load()),
                         static_cast<unsigned long long>(c.zero_length_packets.load()),
                         static_cast<unsigned long long>(c.setups.load()));
        }
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    auto options = parse_options(args);
    if (!options) {
        const bool help = options.error() == usage_text();
        std::fprintf(help ? stdout : stderr, "%s%s", help ? "" : "ccid-gadget: ", options.error().c_str());
        if (!help) std::fprintf(stderr, "\n");
        return help ? 0 : 2;
    }
    return run(*options);
}

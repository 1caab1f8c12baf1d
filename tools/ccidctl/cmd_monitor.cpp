// `ccidctl monitor`: prints readers arriving and leaving and cards being inserted and removed,
// until SIGINT/SIGTERM (or --timeout / --count). One thread per open reader waits for its card
// events (interrupt pipe, or GetSlotStatus polling); USB arrivals come from the hotplug
// monitor. The main thread owns the readers and does all the printing.
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "api/reader_naming.h"
#include "ccid/quirks_lookup.h"
#include "ccid/usb/usb_hotplug.h"
#include "card_signals.h"
#include "command.h"
#include "json.h"
#include "readers.h"
#include "sim/reader/reader_sim.h"

namespace ccidkit::ccidctl {
namespace {

using Clock = std::chrono::steady_clock;

struct Event {
    enum class Kind : std::uint8_t {
        ReaderAdded,
        ReaderRemoved,
        CardPresent,  // state when the reader is first seen
        CardAbsent,
        CardInserted,  // changes
        CardRemoved,
        HardwareError,
        Error,
    };
    Kind kind = Kind::Error;
    std::string reader;
    std::optional<unsigned> slot;
    std::string detail;
};

std::string_view kind_name(Event::Kind k) {
    switch (k) {
        case Event::Kind::ReaderAdded: return "reader-added";
        case Event::Kind::ReaderRemoved: return "reader-removed";
        case Event::Kind::CardPresent: return "card-present";
        case Event::Kind::CardAbsent: return "card-absent";
        case Event::Kind::CardInserted: return "card-inserted";
        case Event::Kind::CardRemoved: return "card-removed";
        case Event::Kind::HardwareError: return "hardware-error";
        case Event::Kind::Error: return "error";
    }
    return "unknown";
}

// USB arrivals and departures, as the hotplug callback reports them.
struct Plug {
    bool added = false;
    ccid::usb::UsbReaderCandidate candidate;
};

class Monitor {
public:
    explicit Monitor(Context& ctx) : ctx_(ctx) {}
    ~Monitor() { stop_all(); }

    void add_reader(const ReaderInfo& info) {
        auto opened = open_reader(ctx_, info);
        if (!opened) {
            emit({Event::Kind::Error, info.name, std::nullopt, opened.error().message});
            return;
        }
        emit({Event::Kind::ReaderAdded, info.name, std::nullopt, info.location});
        auto w = std::make_unique<Watched>();
        w->opened = std::move(*opened);
        for (unsigned s = 0; s < w->opened.reader->slot_count(); ++s) {
            const bool present = w->opened.reader->card_present(s);
            emit({present ? Event::Kind::CardPresent : Event::Kind::CardAbsent, info.name, s, ""});
        }
        Watched* raw = w.get();
        w->thread = std::thread([this, raw] { watch(*raw); });
        watched_[info.location] = std::move(w);
    }

    // A simulated reader: it keeps its index for the whole run (USB arrivals get other ones).
    void add_fixed_reader(const ReaderInfo& info) {
        indexes_.acquire(info.location);
        add_reader(info);
    }

    void remove_reader(const std::string& location) {
        auto it = watched_.find(location);
        if (it == watched_.end()) return;
        const std::string name = it->second->opened.info.name;
        stop(*it->second);
        watched_.erase(it);
        emit({Event::Kind::ReaderRemoved, name, std::nullopt, location});
    }

    // Called from the hotplug worker.
    void plug(Plug p) {
        std::lock_guard lock(mutex_);
        plugs_.push_back(std::move(p));
        cv_.notify_all();
    }

    // Prints what happened; returns false once the end condition is met.
    bool pump(Clock::time_point deadline, std::optional<std::size_t> max_events) {
        apply_card_signals();
        std::deque<Event> events;
        std::deque<Plug> plugs;
        {
            std::unique_lock lock(mutex_);
            cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return !events_.empty() || !plugs_.empty(); });
            events.swap(events_);
            plugs.swap(plugs_);
        }
        for (auto& p : plugs) {
            if (p.added) {
                if (auto idx = indexes_.acquire(ccid::usb::location_name(p.candidate)))
                    add_reader(reader_info_from_usb(p.candidate, *idx));
            } else {
                const std::string location = "usb:" + ccid::usb::location_name(p.candidate);
                remove_reader(location);
                indexes_.release(ccid::usb::location_name(p.candidate));
            }
        }
        {
            std::lock_guard lock(mutex_);
            for (auto& e : events_) events.push_back(std::move(e));
            events_.clear();
        }
        for (const auto& e : events) {
            print(e);
            ++printed_;
            if (max_events && printed_ >= *max_events) return false;
        }
        // Readers that went away on their own (poll_events said ReaderGone).
        for (auto it = watched_.begin(); it != watched_.end();) {
            if (it->second->finished.load()) {
                stop(*it->second);
                it = watched_.erase(it);
            } else {
                ++it;
            }
        }
        return !ctx_.stop_requested() && Clock::now() < deadline;
    }

    void stop_all() {
        for (auto& [location, w] : watched_) stop(*w);
        watched_.clear();
    }

    std::size_t printed() const { return printed_; }

private:
    struct Watched {
        OpenedReader opened;
        std::thread thread;
        std::atomic<bool> stop{false};
        std::atomic<bool> finished{false};
    };

    // SIGUSR1/SIGUSR2 (card_signals.h): the card of every simulated reader goes in or out.
    // The simulator queues the slot change; the reader's watch thread reports it as usual.
    void apply_card_signals() {
        const unsigned sent = g_card_requests_sent.load();
        while (requests_seen_ != sent) {
            const CardRequest r = g_card_requests[requests_seen_ % kCardRequestSlots].exchange(CardRequest::None);
            if (r == CardRequest::None) break;  // counted, not stored yet: next time
            ++requests_seen_;
            for (auto& [location, w] : watched_) {
                sim::ReaderSim* sim = w->opened.sim;
                if (sim == nullptr) continue;
                if (r == CardRequest::Remove) {
                    sim->remove_card(0);
                } else if (!sim->card_present(0)) {
                    auto card = sim::make_virtual_card(w->opened.info.simulated->card);
                    sim->insert_card(0, card ? std::move(*card) : sim::SimCard::t1_default());
                }
            }
        }
    }

    void emit(Event e) {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(e));
        cv_.notify_all();
    }

    void watch(Watched& w) {
        const std::string& name = w.opened.info.name;
        while (!w.stop.load()) {
            auto events = w.opened.reader->poll_events(ccid::Millis{200});
            if (w.stop.load()) break;  // stopping: whatever poll_events says is not news
            if (!events) {
                const bool gone = events.error().code == ccid::ReaderErrc::ReaderGone;
                emit({gone ? Event::Kind::ReaderRemoved : Event::Kind::Error, name, std::nullopt,
                      ccid::describe(events.error())});
                if (gone) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(200));  // do not spin on a failing reader
                continue;
            }
            for (const auto& s : events->slots) {
                if (!s.changed) continue;
                emit({s.present ? Event::Kind::CardInserted : Event::Kind::CardRemoved, name, s.slot,
                      s.present ? "card inserted" : "card removed"});
            }
            for (const auto& f : events->hardware_faults) {
                emit({Event::Kind::HardwareError, name, f.slot,
                      fmt::format("bHardwareErrorCode {:02X}h{}", f.code,
                                  f.stale ? " (about a command from before the last power-on)" : "")});
            }
        }
        w.finished.store(true);
    }

    void stop(Watched& w) {
        w.stop.store(true);
        w.opened.reader->wake_events();
        w.opened.reader->transport().cancel();
        if (w.thread.joinable()) w.thread.join();
    }

    void print(const Event& e) {
        if (ctx_.json) {
            JsonWriter j(ctx_.out, /*compact=*/true);
            j.begin_object().field("event", kind_name(e.kind)).field("reader", e.reader);
            j.key("slot");
            if (e.slot) {
                j.value(*e.slot);
            } else {
                j.null();
            }
            j.field("detail", e.detail).end_object();
        } else {
            ctx_.out << kind_name(e.kind) << ": " << e.reader;
            if (e.slot) ctx_.out << ", slot " << *e.slot;
            if (!e.detail.empty()) ctx_.out << " (" << e.detail << ')';
            ctx_.out << '\n';
        }
        ctx_.out.flush();
    }

    Context& ctx_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Event> events_;
    std::deque<Plug> plugs_;
    std::map<std::string, std::unique_ptr<Watched>> watched_;
    api::ReaderIndexTable indexes_;
    std::size_t printed_ = 0;
    // Requests of card_signals.h taken so far (those sent before this monitor started do not count).
    unsigned requests_seen_ = g_card_requests_sent.load();
};

std::optional<double> parse_seconds(const std::string& s) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end != '\0' || !(v >= 0) || v > 1e7) return std::nullopt;
    return v;
}

ExitCode run_monitor(Context& ctx, const ParsedArgs& args) {
    if (!args.positional.empty()) return fail(ctx, ExitCode::Usage, "monitor takes no arguments (see --help)");
    auto deadline = Clock::time_point::max();
    if (auto t = args.value("timeout")) {
        auto s = parse_seconds(*t);
        if (!s) return fail(ctx, ExitCode::Usage, "--timeout needs a number of seconds");
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*s));
    }
    std::optional<std::size_t> max_events;
    if (auto c = args.value("count")) {
        auto n = parse_seconds(*c);
        if (!n || *n < 1 || *n != static_cast<double>(static_cast<std::size_t>(*n)))
            return fail(ctx, ExitCode::Usage, "--count needs a positive whole number");
        max_events = static_cast<std::size_t>(*n);
    }

    Monitor monitor(ctx);
    std::unique_ptr<ccid::usb::HotplugMonitor> hotplug;
    // The --fd reader alone, else the simulated readers first (--virtual, else
    // $CCID_VIRTUAL_READERS), as the SCard API lists them: they take the indexes 0..N-1, and
    // USB arrivals the free ones after (no hotplug with --fd or --virtual).
    auto fixed = fixed_readers(ctx);
    if (!fixed) return fail(ctx, fixed.error().code, fixed.error().message);
    if (fixed->empty() && !usb_wanted(ctx)) {
        return fail(ctx, ExitCode::NoReader,
                    ctx.virtual_readers ? "nothing to monitor: no virtual reader"
                                        : "nothing to monitor: no simulated reader and USB is off (CCIDKIT_USB=0)");
    }
    for (const auto& r : *fixed) monitor.add_fixed_reader(r);
    if (usb_wanted(ctx)) {
        ccid::usb::HotplugOptions options;
        options.is_vendor_class_reader = [](std::uint16_t v, std::uint16_t p, std::uint16_t b) {
            return ccid::is_vendor_class_reader(v, p, b);
        };
        auto started = ccid::usb::HotplugMonitor::start(
            options, [&monitor](ccid::usb::HotplugEvent e, const ccid::usb::UsbReaderCandidate& c) {
                monitor.plug(Plug{e == ccid::usb::HotplugEvent::Added, c});
            });
        if (started) {
            hotplug = std::move(*started);
        } else if (fixed->empty()) {
            return fail(ctx, ExitCode::IoError, fmt::format("cannot watch USB: {}", to_string(started.error())));
        } else {
            warn(ctx, fmt::format("cannot watch USB: {}; showing the simulated readers only",
                                  to_string(started.error())));
        }
    }
    if (!ctx.json) ctx.err << "ccidctl: monitoring; Ctrl-C ends\n";
    while (monitor.pump(deadline, max_events)) {
    }
    if (hotplug) hotplug->stop();
    monitor.stop_all();
    return ExitCode::Ok;
}

constexpr std::array kOptions = {
    OptionSpec{"timeout", 't', "SECONDS", "stop after this long (default: until Ctrl-C)"},
    OptionSpec{"count", 'n', "N", "stop after N events"},
};

}  // namespace

const Command& monitor_command() {
    static const Command c{
        "monitor",
        "",
        "show readers and cards coming and going until Ctrl-C",
        "Prints one line per event: reader-added, reader-removed, card-inserted, card-removed,\n"
        "hardware-error, error. Each reader first reports the state of its slots (card-present or\n"
        "card-absent). USB readers are watched for hotplug; simulated readers (--virtual, or\n"
        "$CCID_VIRTUAL_READERS) are fixed and listed first. With --fd N, only the reader behind\n"
        "that descriptor is watched; with --virtual, only those readers (no USB hotplug).\n"
        "socket=PATH readers are those ccid-simd serves. With --json,\n"
        "one JSON object per line (JSON Lines): {\"event\", \"reader\", \"slot\", \"detail\"}.\n"
        "Test and demo aid: on simulated readers, SIGUSR1 inserts a card into slot 0 (the spec's\n"
        "card, else T=1) and SIGUSR2 removes it (`kill -USR1 PID`); USB readers and socket=PATH\n"
        "readers ignore both (`ccid-simd ctl` moves their card).\n",
        kOptions,
        run_monitor,
    };
    return c;
}

}  // namespace ccidkit::ccidctl

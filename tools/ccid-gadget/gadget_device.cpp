#include "gadget_device.h"

#include <charconv>
#include <fmt/format.h>
#include <sstream>

#include "ccid/message_types.h"
#include "echo_device.h"
#include "sim/card/sim_card.h"

namespace ccidkit::gadget {

namespace {

std::vector<std::string> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::istringstream in{std::string(line)};
    std::string w;
    while (in >> w && words.size() < 8) words.push_back(w);
    return words;
}

std::optional<std::size_t> to_number(const std::string& text) {
    std::size_t v = 0;
    int base = 10;
    std::string_view t = text;
    if (t.starts_with("0x")) {
        t.remove_prefix(2);
        base = 16;
    }
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v, base);
    if (ec != std::errc{} || p != t.data() + t.size() || t.empty()) return std::nullopt;
    return v;
}

sim::SimCard make_card(CardKind kind) {
    return kind == CardKind::T0 ? sim::SimCard::t0_default() : sim::SimCard::t1_default();
}

}  // namespace

GadgetDevice::GadgetDevice(sim::ReaderSimConfig config, bool echo, ConfigfsGadget& gadget, std::string udc)
    : config_(std::move(config)), echo_(echo), gadget_(gadget), udc_(std::move(udc)) {
    cards_.assign(echo_ ? 0 : std::size_t{config_.descriptor.bMaxSlotIndex} + 1, CardKind::None);
    make_device();
}

void GadgetDevice::make_device() {
    if (echo_) {
        device_ = std::make_shared<EchoDevice>();
        return;
    }
    reader_ = std::make_shared<sim::ReaderSim>(config_);
    for (std::size_t slot = 0; slot < cards_.size(); ++slot) {
        if (cards_[slot] != CardKind::None) reader_->insert_card(static_cast<std::uint8_t>(slot), make_card(cards_[slot]));
    }
    device_ = reader_;
}

std::shared_ptr<ccid::Transport> GadgetDevice::device() const {
    std::lock_guard lock(mutex_);
    return device_;
}

std::shared_ptr<sim::ReaderSim> GadgetDevice::reader() const {
    std::lock_guard lock(mutex_);
    return reader_;
}

std::string GadgetDevice::bind() {
    std::lock_guard lock(mutex_);
    if (plugged_) return "ok (already plugged)";
    if (auto r = gadget_.bind(udc_); !r) return "error: " + r.error();
    plugged_ = true;
    return "ok";
}

std::string GadgetDevice::unplug() {
    std::lock_guard lock(mutex_);
    if (!plugged_) return "ok (already unplugged)";
    // The simulator goes first, so that nothing it says after this reaches the host; then the
    // UDC lets go of the bus and the host sees a disconnect.
    if (reader_) reader_->disconnect();
    device_->cancel();
    if (auto r = gadget_.unbind(); !r) return "error: " + r.error();
    plugged_ = false;
    return "ok";
}

std::string GadgetDevice::plug() {
    std::lock_guard lock(mutex_);
    if (plugged_) return "ok (already plugged)";
    make_device();  // a reader powered up again starts from scratch
    if (auto r = gadget_.bind(udc_); !r) return "error: " + r.error();
    plugged_ = true;
    return "ok";
}

void GadgetDevice::tick() {
    auto r = reader();
    if (r && r->disconnected()) {
        bool plugged = false;
        {
            std::lock_guard lock(mutex_);
            plugged = plugged_;
        }
        if (plugged) (void)unplug();
    }
}

std::string GadgetDevice::insert(unsigned slot, CardKind kind) {
    std::lock_guard lock(mutex_);
    if (!reader_) return "error: no simulator in echo mode";
    if (slot >= cards_.size()) return fmt::format("error: no slot {}", slot);
    cards_[slot] = kind;
    reader_->insert_card(static_cast<std::uint8_t>(slot), make_card(kind));
    return "ok";
}

std::string GadgetDevice::remove(unsigned slot) {
    std::lock_guard lock(mutex_);
    if (!reader_) return "error: no simulator in echo mode";
    if (slot >= cards_.size()) return fmt::format("error: no slot {}", slot);
    cards_[slot] = CardKind::None;
    reader_->remove_card(static_cast<std::uint8_t>(slot));
    return "ok";
}

void GadgetDevice::toggle_card() {
    CardKind now = CardKind::None;
    {
        std::lock_guard lock(mutex_);
        if (cards_.empty()) return;
        now = cards_[0];
    }
    if (now == CardKind::None) {
        (void)insert(0, CardKind::T1);
    } else {
        (void)remove(0);
    }
}

std::string GadgetDevice::fault(const std::vector<std::string>& w) {
    auto r = reader();
    if (!r) return "error: no simulator in echo mode";
    if (w.size() < 2) return "error: fault NAME [VALUE]";
    if (w[1] == "clear") {
        r->set_faults({});
        return "ok";
    }
    sim::ReaderFaults f = r->faults();
    const std::optional<std::size_t> v = w.size() > 2 ? to_number(w[2]) : std::optional<std::size_t>{1};
    // Second number (oversize / truncated byte counts); 0 when absent or unreadable.
    std::size_t extra = 0;
    if (w.size() > 3) {
        if (auto e = to_number(w[3])) extra = *e;
    }
    const std::string& name = w[1];
    if (name == "endless") {
        f.endless_time_extension = w.size() < 3 || w[2] == "on" || w[2] == "1";
    } else if (name == "only_for") {
        if (w.size() > 2 && w[2] == "any") {
            f.only_for.reset();
        } else {
            if (!v || *v > 0xFF) return "error: only_for TYPE (hex message type) or any";
            f.only_for = static_cast<ccid::MessageType>(*v);
        }
    } else {
        if (!v) return "error: bad number";
        const auto count = static_cast<unsigned>(std::min<std::size_t>(*v, 1u << 20));
        if (name == "stale_seq") f.stale_seq = count;
        else if (name == "silent") f.silent = count;
        else if (name == "stalls") f.bulk_in_stalls = count;
        else if (name == "oversize") {
            f.oversize = count;
            f.oversize_bytes = extra;
        } else if (name == "truncated") {
            f.truncated = count;
            f.truncate_bytes = extra == 0 ? 1 : extra;
        } else if (name == "disappear_after") {
            f.disappear_after_calls = *v;
        } else {
            return "error: unknown fault " + name;
        }
    }
    r->set_faults(f);
    // The bridge's threads sit in bulk_in/interrupt_in calls that began before the change; wake
    // them so that the next call, which sees the new faults, is the one the host's next
    // transfer meets (a stall in particular).
    r->cancel();
    return "ok";
}

std::string GadgetDevice::stats() const {
    auto r = reader();
    if (!r) return "ok echo mode";
    const sim::ReaderStats s = r->stats();
    std::size_t received = 0, replied = 0, interrupts = 0;
    for (std::size_t i = 0; i < 256; ++i) {
        received += s.received[i];
        replied += s.replied[i];
        interrupts += s.interrupts[i];
    }
    return fmt::format("ok received={} replied={} interrupts={} time_extensions={} malformed={} busy={} "
                       "aborted={} control_requests={} faults_applied={} stalls={}",
                       received, replied, interrupts, s.time_extensions, s.malformed, s.busy, s.aborted,
                       s.control_requests, s.faults_applied, s.stalls);
}

std::string GadgetDevice::command(std::string_view line) {
    const std::vector<std::string> w = split_words(line);
    if (w.empty()) return "ok";
    const std::string& c = w[0];
    auto slot_arg = [&](std::size_t i) -> std::optional<unsigned> {
        if (w.size() <= i) return 0u;
        auto n = to_number(w[i]);
        if (!n || *n > 255) return std::nullopt;
        return static_cast<unsigned>(*n);
    };
    if (c == "insert") {
        auto slot = slot_arg(1);
        if (!slot) return "error: bad slot";
        CardKind kind = CardKind::T1;
        if (w.size() > 2) {
            if (w[2] == "t0") kind = CardKind::T0;
            else if (w[2] != "t1") return "error: card t0 or t1";
        }
        return insert(*slot, kind);
    }
    if (c == "remove") {
        auto slot = slot_arg(1);
        return slot ? remove(*slot) : "error: bad slot";
    }
    if (c == "unplug") return unplug();
    if (c == "plug") return plug();
    if (c == "hwerror" || c == "storm") {
        auto r = reader();
        if (!r) return "error: no simulator in echo mode";
        if (c == "storm") {
            auto n = w.size() > 1 ? to_number(w[1]) : std::nullopt;
            if (!n) return "error: storm N";
            r->inject_slot_change_storm(*n);
            return "ok";
        }
        auto slot = slot_arg(1);
        auto code = w.size() > 2 ? to_number(w[2]) : std::optional<std::size_t>{1};
        if (!slot || !code || *code > 0xFF) return "error: hwerror SLOT [CODE]";
        r->inject_hardware_error(static_cast<std::uint8_t>(*slot), static_cast<std::uint8_t>(*code));
        return "ok";
    }
    if (c == "fault") return fault(w);
    if (c == "stats") return stats();
    return "error: unknown command " + c;
}

}  // namespace ccidkit::gadget

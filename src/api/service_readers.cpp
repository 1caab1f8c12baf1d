// Service: construction, provider synchronisation, card insertion/removal bookkeeping.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <unistd.h>

#include "api/cross_process.h"
#include "api/service.h"

namespace ccidkit::api {

ReaderState::ReaderState() = default;
ReaderState::~ReaderState() = default;

DWORD ReaderState::pcsc_state() const {
    if (unavailable) return SCARD_UNKNOWN;
    switch (card) {
        case CardState::Absent: return SCARD_ABSENT;
        case CardState::Present: return SCARD_PRESENT;
        case CardState::Mute: return SCARD_PRESENT | SCARD_SWALLOWED;
        case CardState::Powered: return SCARD_PRESENT | SCARD_POWERED | SCARD_NEGOTIABLE;
    }
    return SCARD_UNKNOWN;
}

ServiceOptions options_from_environment() {
    ServiceOptions o;
    o.no_blocking = std::getenv("PCSCLITE_NO_BLOCKING") != nullptr;
    o.lock_dir = default_lock_dir();
    return o;
}

Service::Service(std::shared_ptr<ReaderProvider> provider, ServiceOptions options)
    : provider_(std::move(provider)), options_(std::move(options)), poll_interval_(provider_->poll_interval()) {
    provider_->set_listener(this);
}

Service::~Service() { shutdown(); }

void Service::shutdown() {
    {
        Lock lk(m_);
        if (shut_down_) return;
        shut_down_ = true;
        bump_change();
    }
    cv_.notify_all();
    provider_->set_listener(nullptr);
}

void Service::changed() noexcept {
    try {
        Lock lk(m_);
        provider_dirty_ = true;
        bump_change();
    } catch (...) {
        // A failed lock only delays the wake-up until the next poll or call.
    }
    cv_.notify_all();
}

SCARDHANDLE Service::new_id() {
    // Handles of a replaced service must never be confused with new ones, so the counter is
    // process-wide. Values stay positive 31-bit numbers: some bindings store them in an int.
    static std::atomic<std::uint32_t> next{static_cast<std::uint32_t>(
        (static_cast<std::uint64_t>(::getpid()) * 2654435761u ^
         static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())) &
        0x3FFFFFFF)};
    for (;;) {
        const SCARDHANDLE id = static_cast<SCARDHANDLE>(next.fetch_add(1) & 0x7FFFFFFF);
        if (id != 0 && !handles_.contains(id) && !contexts_.contains(id)) return id;
    }
}

std::shared_ptr<ReaderState> Service::find_reader(std::string_view name) const {
    for (const auto& r : readers_)
        if (r->name == name) return r;
    return nullptr;
}

std::shared_ptr<ReaderState> Service::reader_of(SCARDHANDLE h) {
    Lock lk(m_);
    auto it = handles_.find(h);
    return it == handles_.end() ? nullptr : it->second->reader;
}

void Service::card_removed(ReaderState& r) {
    for_each_handle(r, HandleEvent::Removed, false);
    // pcsc-lite releases the transaction of a removed card (RFSetReaderEventState).
    drop_lock(r);
    r.card = CardState::Absent;
    r.atr.clear();
    r.protocol = SCARD_PROTOCOL_UNDEFINED;
    r.power_attempted = false;
    ++r.card_generation;
}

void Service::card_inserted(ReaderState& r) {
    r.card = CardState::Present;
    r.atr.clear();
    r.protocol = SCARD_PROTOCOL_UNDEFINED;
    r.power_attempted = false;
    ++r.card_generation;
}

bool Service::apply_status(ReaderState& r, const SlotStatus& st) {
    bool changed = false;
    const bool unavailable = st.presence == CardPresence::Unavailable;
    if (unavailable != r.unavailable) {
        r.unavailable = unavailable;
        changed = true;
    }
    if (unavailable) return changed;

    const bool believed_present = r.card != CardState::Absent;
    const bool now_present = st.presence == CardPresence::Present || st.presence == CardPresence::Powered;
    // Transitions the backend counted; a counter that went backwards only tells "something".
    std::uint64_t delta = st.card_events >= r.backend_events ? st.card_events - r.backend_events : 1;
    r.backend_events = st.card_events;
    if (delta == 0 && believed_present == now_present) return changed;

    const auto add_events = [&r](std::uint64_t n) {
        r.event_counter = static_cast<std::uint16_t>(r.event_counter + static_cast<std::uint16_t>(n & 0xFFFF));
    };
    if (believed_present) {
        // Gone, or swapped for another card between two looks: either way the old one left.
        card_removed(r);
        if (now_present) {
            card_inserted(r);
            add_events(std::max<std::uint64_t>(delta, 2));
        } else {
            add_events(std::max<std::uint64_t>(delta, 1));
        }
    } else if (now_present) {
        card_inserted(r);
        add_events(std::max<std::uint64_t>(delta, 1));
    } else {
        // In and out again: handles (direct ones) still learn that a card left.
        card_removed(r);
        add_events(delta);
    }
    return true;
}

void Service::check_foreign_reset(ReaderState& r) {
    if (!r.shared_file) return;
    const std::uint32_t g = r.shared_file->reset_generation();
    if (g == r.reset_generation_seen) return;
    r.reset_generation_seen = g;
    // Another process reset or powered off the card: every handle here must reconnect, and
    // our view of the card (ATR, protocol) is stale until the next power-on.
    for_each_handle(r, HandleEvent::Reset, true);
    if (r.card == CardState::Powered) r.card = CardState::Present;
    r.protocol = SCARD_PROTOCOL_UNDEFINED;
    ++r.card_generation;
    bump_change();
}

void Service::add_reader(const std::shared_ptr<ReaderBackend>& backend, const SlotStatus& st) {
    const ReaderDescription& d = backend->description();
    const std::string base = reader_base_name(d);
    const std::string device_id = d.device_id.empty() ? base : d.device_id;
    for (const auto& r : readers_)
        if (r->device_id == device_id && r->slot == d.slot) return;  // duplicate: keep the first
    const auto index = indexes_.acquire(device_id);
    if (!index) return;  // 256 devices already

    auto r = std::make_shared<ReaderState>();
    r->backend = backend;
    r->device_id = device_id;
    r->slot = d.slot;
    r->index = *index;
    r->name = reader_full_name(base, *index, d.slot);
    r->unavailable = st.presence == CardPresence::Unavailable;
    r->backend_events = st.card_events;
    if (st.presence == CardPresence::Present || st.presence == CardPresence::Powered) r->card = CardState::Present;
    if (!options_.lock_dir.empty()) {
        r->shared_file = SharedReaderFile::open(options_.lock_dir, device_id, d.slot);
        if (r->shared_file) r->reset_generation_seen = r->shared_file->reset_generation();
    }
    readers_.push_back(std::move(r));
    ++reader_events_;
}

void Service::remove_reader(const std::shared_ptr<ReaderState>& r) {
    r->present = false;
    for_each_handle(*r, HandleEvent::Removed, false);
    drop_lock(*r);
    std::erase(readers_, r);
    indexes_.release(r->device_id);
    ++reader_events_;
}

void Service::sync_readers() {
    std::lock_guard sync(sync_mutex_);
    {
        // Cleared before reading, so that a change reported meanwhile is read again next time.
        Lock lk(m_);
        provider_dirty_ = false;
    }
    std::vector<std::shared_ptr<ReaderBackend>> list = provider_->readers();
    std::erase(list, nullptr);
    std::vector<SlotStatus> statuses;
    statuses.reserve(list.size());
    for (const auto& b : list) statuses.push_back(b->status());

    Lock lk(m_);
    if (shut_down_) return;
    bool changed = false;
    for (const auto& r : std::vector<std::shared_ptr<ReaderState>>(readers_)) {
        if (std::find(list.begin(), list.end(), r->backend) == list.end()) {
            remove_reader(r);
            changed = true;
        }
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
        auto it = std::find_if(readers_.begin(), readers_.end(), [&](const auto& r) { return r->backend == list[i]; });
        if (it == readers_.end()) {
            const std::size_t before = readers_.size();
            add_reader(list[i], statuses[i]);
            changed = changed || readers_.size() != before;
        } else {
            changed = apply_status(**it, statuses[i]) || changed;
        }
    }
    for (const auto& r : readers_) check_foreign_reset(*r);
    std::sort(readers_.begin(), readers_.end(), [](const auto& a, const auto& b) {
        return a->index != b->index ? a->index < b->index : a->slot < b->slot;
    });
    if (changed) {
        bump_change();
        cv_.notify_all();
    }
}

void Service::refresh_reader(const std::shared_ptr<ReaderState>& r) {
    if (!r) return;
    bool whole_list = false;
    {
        Lock lk(m_);
        if (!r->present || shut_down_) return;
        whole_list = provider_dirty_ || poll_interval_.count() > 0;
    }
    if (whole_list) {
        sync_readers();
        return;
    }
    std::lock_guard sync(sync_mutex_);
    {
        Lock lk(m_);
        if (!r->present || shut_down_) return;
    }
    const SlotStatus st = r->backend->status();
    Lock lk(m_);
    if (!r->present || shut_down_) return;
    const bool changed = apply_status(*r, st);
    check_foreign_reset(*r);
    if (changed) {
        bump_change();
        cv_.notify_all();
    }
}

}  // namespace ccidkit::api

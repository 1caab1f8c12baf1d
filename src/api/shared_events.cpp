// The event thread of a CcidDevice shared with other processes (see shared_device.h):
//  - alone and holding the claim: exactly as an unshared device (interrupt pipe or polling),
//    publishing presence changes for processes that arrive later; every tick it checks that it
//    is still alone;
//  - otherwise: it gives the claim back when idle, applies what the others publish (waiting on
//    the shared page's futex), and when nobody polled for kPollEvery takes the token without
//    waiting and polls every slot with GetSlotStatus for everybody;
//  - alone again without the claim: takes it back and polls once, then watches as above.
#include <chrono>

#include "api/ccid_backend.h"
#include "api/shared_device.h"
#include "ccid/logging.h"

namespace ccidkit::api {
namespace {

constexpr ccid::Millis kTick{100};       // the "alone?" check, and the wait on the shared page
constexpr ccid::Millis kPollTick{250};   // alone, with a reader that is polled (no interrupt pipe)
constexpr ccid::Millis kPollEvery{150};  // presence polling, all processes together
constexpr unsigned kFailuresBeforeUnavailable = 3;

}  // namespace

bool CcidDevice::take_shared_presence() {
    bool changed = false;
    const auto views = shared_->read_slots();
    for (std::size_t s = 0; s < views.size() && s < slots_.size(); ++s) {
        SlotState& state = *slots_[s];
        const std::uint32_t delta = views[s].events - shared_seen_[s];  // wraps like the counter
        shared_seen_[s] = views[s].events;
        const bool was = state.present.exchange(views[s].present);
        if (delta == 0 && was == views[s].present) continue;
        state.events += delta;
        state.powered = false;  // another card, or none
        changed = true;
    }
    return changed;
}

bool CcidDevice::poll_shared_presence() {
    const auto views = shared_->read_slots();
    bool failed = false;
    for (unsigned s = 0; s < slots_.size() && s < views.size(); ++s) {
        ccid::Slot* slot = reader_->slot(s);
        if (!slot) continue;
        auto status = slot->status();
        if (!status) {
            if (status.error().code == ccid::ReaderErrc::ReaderGone || reader_->gone()) {
                mark_gone();
                return false;
            }
            failed = true;
            continue;
        }
        const bool present = status->presence != ccid::CardPresence::Absent;
        shared_->publish_presence(static_cast<std::uint8_t>(s), present, views[s].present != present ? 1 : 0);
    }
    // A failed poll is not noted: every process then polls (and counts failures) itself.
    if (!failed) shared_->note_poll();
    return !failed;
}

void CcidDevice::publish_local_presence(const std::vector<std::uint64_t>& events_before) {
    for (std::size_t s = 0; s < slots_.size() && s < events_before.size(); ++s) {
        const auto delta = static_cast<std::uint32_t>(slots_[s]->events.load() - events_before[s]);
        shared_->publish_presence(static_cast<std::uint8_t>(s), slots_[s]->present.load(), delta);
        shared_seen_[s] += delta;
    }
}

void CcidDevice::run_shared_events() {
    unsigned failures = 0;
    while (!stopping_ && !gone_) {
        const std::uint32_t change = shared_->change_count();
        if (shared_->holding() && shared_->alone()) {
            std::vector<std::uint64_t> before;
            for (const auto& s : slots_) before.push_back(s->events.load());
            auto events = reader_->poll_events(reader_->uses_interrupt_events() ? kTick : kPollTick);
            if (stopping_) break;
            if (!events) {
                if (events.error().code == ccid::ReaderErrc::ReaderGone || reader_->gone()) {
                    mark_gone();
                    break;
                }
                // Cancelled or Busy: the claim went to another process under our feet.
                if (!shared_->holding() || events.error().code == ccid::ReaderErrc::Cancelled) continue;
                if (++failures >= kFailuresBeforeUnavailable && !unresponsive_.exchange(true)) notify();
                std::unique_lock lock(sleep_mutex_);
                sleep_cv_.wait_for(lock, kPollTick, [this] { return stopping_.load(); });
                continue;
            }
            failures = 0;
            bool changed = unresponsive_.exchange(false);
            if (apply(*events)) changed = true;
            // The reader deactivated the card (6.3.2): the published session says so too.
            for (const auto& f : events->hardware_faults)
                if (!f.stale) shared_->republish_session(f.slot);
            publish_local_presence(before);
            if (changed) notify();
            continue;
        }
        shared_->release_if_shared_and_idle();
        if (take_shared_presence()) notify();
        const bool alone = shared_->alone();
        if ((alone && !shared_->holding()) || shared_->since_last_poll() >= kPollEvery) {
            const auto taken = shared_->try_begin_io();
            if (taken == SharedDevice::TryIo::Gone) {
                mark_gone();
                break;
            }
            if (taken == SharedDevice::TryIo::Taken) {
                const bool polled = poll_shared_presence();
                shared_->end_io(std::nullopt);  // keeps the claim when alone
                if (gone_) break;
                // As unshared (run_events): a reader whose polls keep failing is unavailable
                // until one succeeds.
                bool changed = false;
                if (polled) {
                    failures = 0;
                    changed = unresponsive_.exchange(false);
                } else if (++failures >= kFailuresBeforeUnavailable && !unresponsive_.exchange(true)) {
                    ccid::logger()->warn("api: reader {} does not answer", identity_.device_id);
                    changed = true;
                }
                if (take_shared_presence()) changed = true;
                if (changed) notify();
                if (alone) continue;
            }
        }
        if (stopping_) break;
        shared_->wait_change(change, kTick);
    }
}

}  // namespace ccidkit::api

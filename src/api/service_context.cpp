// Service: application contexts, reader listing, SCardGetStatusChange and SCardCancel.
#include <chrono>
#include <vector>

#include "api/cross_process.h"
#include "api/service.h"
#include "api/status_change.h"

namespace ccidkit::api {

LONG Service::establish_context(SCARDCONTEXT& out) {
    Lock lk(m_);
    if (shut_down_) return SCARD_E_NO_SERVICE;
    const SCARDCONTEXT id = new_id();
    contexts_[id];
    out = id;
    return SCARD_S_SUCCESS;
}

bool Service::valid_context(SCARDCONTEXT ctx) {
    Lock lk(m_);
    return !shut_down_ && contexts_.contains(ctx);
}

bool Service::valid_handle(SCARDHANDLE h) {
    Lock lk(m_);
    return !shut_down_ && handles_.contains(h);
}

LONG Service::release_context(SCARDCONTEXT ctx) {
    Lock lk(m_);
    auto it = contexts_.find(ctx);
    if (it == contexts_.end()) return SCARD_E_INVALID_HANDLE;
    // The context's transaction holders go first: a reset by another of its handles would
    // otherwise wait for a transaction that only this release can end (a self-deadlock).
    std::vector<SCARDHANDLE> handles;
    for (SCARDHANDLE h : it->second.handles) {
        auto hit = handles_.find(h);
        const bool holds_lock = hit != handles_.end() && hit->second->reader->lock_owner == h;
        handles.insert(holds_lock ? handles.begin() : handles.end(), h);
    }
    // Waiting SCardGetStatusChange calls on this context see it vanish and return.
    contexts_.erase(it);
    bump_change();
    cv_.notify_all();
    // As pcscd (winscard_svc.c, MSGRemoveContext): a handle that holds the reader's lock (a
    // transaction, or an exclusive connection) is disconnected with a reset, unless it already
    // saw a reset or removal, so that what it unlocked on the card does not stay open; every
    // other handle leaves the card as it is, so the other applications sharing it keep
    // their state.
    for (SCARDHANDLE h : handles) {
        auto hit = handles_.find(h);
        if (hit == handles_.end()) continue;
        const bool holds_lock = hit->second->reader->lock_owner == h;
        const bool reset = holds_lock && hit->second->event == HandleEvent::None;
        (void)disconnect_locked(lk, h, reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
    }
    return SCARD_S_SUCCESS;
}

LONG Service::list_readers(SCARDCONTEXT ctx, std::vector<std::string>& names) {
    if (!valid_context(ctx)) return SCARD_E_INVALID_HANDLE;
    sync_readers();
    Lock lk(m_);
    if (!contexts_.contains(ctx)) return SCARD_E_INVALID_HANDLE;
    names.clear();
    for (const auto& r : readers_) names.push_back(r->name);
    return SCARD_S_SUCCESS;
}

LONG Service::cancel(SCARDCONTEXT ctx) {
    {
        Lock lk(m_);
        auto it = contexts_.find(ctx);
        if (it == contexts_.end()) return SCARD_E_INVALID_HANDLE;
        // As in pcsc-lite, a cancel with nobody waiting is a no-op: it does not cancel the
        // next call.
        if (it->second.waiters == 0) return SCARD_S_SUCCESS;
        it->second.cancel = true;
    }
    cv_.notify_all();
    return SCARD_S_SUCCESS;
}

LONG Service::get_status_change(SCARDCONTEXT ctx, DWORD timeout_ms, std::span<SCARD_READERSTATE> states) {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point start = Clock::now();
    // INFINITE, and anything above it: pcsc-lite also takes (DWORD)-1, i.e. a LONG -1 passed
    // through a 64-bit DWORD, as INFINITE.
    const bool infinite = timeout_ms >= INFINITE;
    const Clock::time_point deadline = start + std::chrono::milliseconds(infinite ? 0 : timeout_ms);
    const std::chrono::milliseconds poll = provider_->poll_interval();

    if (!valid_context(ctx)) return SCARD_E_INVALID_HANDLE;
    sync_readers();

    Lock lk(m_);
    auto ctx_it = contexts_.find(ctx);
    if (ctx_it == contexts_.end()) return SCARD_E_INVALID_HANDLE;
    for (const SCARD_READERSTATE& e : states)
        if (!is_pnp_notification(e.szReader) && !find_reader(e.szReader)) return SCARD_E_UNKNOWN_READER;

    ++ctx_it->second.waiters;
    struct Leave {
        Service& s;
        Lock& lk;
        SCARDCONTEXT ctx;
        ~Leave() {
            if (!lk.owns_lock()) lk.lock();  // also when an exception left it unlocked
            auto it = s.contexts_.find(ctx);
            if (it != s.contexts_.end() && --it->second.waiters == 0) it->second.cancel = false;
        }
    } leave{*this, lk, ctx};

    for (SCARD_READERSTATE& e : states) e.dwEventState = 0;
    const std::uint16_t pnp_at_start = reader_events_;
    bool changed = false;
    for (SCARD_READERSTATE& e : states)
        if (!(e.dwCurrentState & SCARD_STATE_IGNORE) && is_pnp_notification(e.szReader))
            changed = evaluate_pnp_initial(e, pnp_at_start) || changed;

    for (;;) {
        std::vector<std::shared_ptr<ReaderState>> watched;
        for (const SCARD_READERSTATE& e : states)
            if (!(e.dwCurrentState & SCARD_STATE_IGNORE))
                if (auto r = find_reader(e.szReader)) watched.push_back(r);
        lk.unlock();
        auto_power_on(watched);
        lk.lock();

        for (SCARD_READERSTATE& e : states) {
            if (e.dwCurrentState & SCARD_STATE_IGNORE) continue;
            if (is_pnp_notification(e.szReader)) {
                changed = evaluate_pnp(e, pnp_at_start, reader_events_) || changed;
            } else if (auto r = find_reader(e.szReader)) {
                // pcscd's reader state is global: another process's connection shows too.
                int sharing = r->sharing;
                if (sharing == 0 && r->shared_file) {
                    const auto others = r->shared_file->others_connection();
                    sharing = others == SharedReaderFile::Connection::Exclusive ? -1
                              : others == SharedReaderFile::Connection::Shared  ? 1
                                                                                : 0;
                }
                const ReaderView view{r->pcsc_state(), sharing, r->event_counter, r->atr};
                changed = evaluate_reader(e, view) || changed;
            } else {
                changed = evaluate_missing_reader(e) || changed;
            }
        }
        if (changed) return SCARD_S_SUCCESS;
        if (!infinite && Clock::now() >= deadline) return SCARD_E_TIMEOUT;

        const std::uint64_t seen = change_seq_;
        const auto stop = [&] {
            auto it = contexts_.find(ctx);
            return shut_down_ || it == contexts_.end() || it->second.cancel;
        };
        auto until = infinite ? Clock::time_point::max() : deadline;
        if (poll.count() > 0) until = std::min(until, Clock::now() + poll);
        if (until == Clock::time_point::max())
            cv_.wait(lk, [&] { return stop() || change_seq_ != seen; });
        else
            cv_.wait_until(lk, until, [&] { return stop() || change_seq_ != seen; });
        if (shut_down_) return SCARD_E_NO_SERVICE;
        if (auto it = contexts_.find(ctx); it == contexts_.end() || it->second.cancel) return SCARD_E_CANCELLED;

        lk.unlock();
        sync_readers();
        lk.lock();
    }
}

}  // namespace ccidkit::api

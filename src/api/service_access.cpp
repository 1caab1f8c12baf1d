// Service: handle checks, the per-reader I/O token, transaction lock bookkeeping, card power
// and protocol operations.
#include <algorithm>
#include <optional>

#include "api/cross_process.h"
#include "api/protocol_negotiation.h"
#include "api/service.h"

namespace ccidkit::api {

namespace {

LONG event_error(HandleEvent e) {
    return e == HandleEvent::Reset ? SCARD_W_RESET_CARD : SCARD_W_REMOVED_CARD;
}

}  // namespace

LONG backend_error_code(BackendError e) {
    switch (e) {
        case BackendError::NoCard: return SCARD_E_NO_SMARTCARD;
        case BackendError::CardMute: return SCARD_W_UNRESPONSIVE_CARD;
        case BackendError::ProtocolNotSupported: return SCARD_E_PROTO_MISMATCH;
        case BackendError::NegotiationFailed: return SCARD_W_UNRESPONSIVE_CARD;
        case BackendError::ReaderGone: return SCARD_E_READER_UNAVAILABLE;
        case BackendError::NotSupported: return SCARD_E_UNSUPPORTED_FEATURE;
        case BackendError::InvalidParameter: return SCARD_E_INVALID_PARAMETER;
        case BackendError::Cancelled: return SCARD_E_CANCELLED;
        case BackendError::CommunicationError:
        case BackendError::Timeout: return SCARD_E_NOT_TRANSACTED;
    }
    return SCARD_F_UNKNOWN_ERROR;
}

LONG Service::io_error(BackendError e) {
    // A vanished device: read the provider's list again at the next call, even if the
    // provider did not (yet) report the departure.
    if (e == BackendError::ReaderGone) provider_dirty_ = true;
    return backend_error_code(e);
}

void Service::for_each_handle(ReaderState& r, HandleEvent e, bool keep_removed) {
    for (SCARDHANDLE h : r.handles) {
        auto it = handles_.find(h);
        if (it == handles_.end()) continue;
        if (keep_removed && it->second->event == HandleEvent::Removed) continue;
        it->second->event = e;
    }
}

LONG Service::acquire(Lock& lk, SCARDHANDLE h, const Access& access, std::shared_ptr<HandleState>& out) {
    std::shared_ptr<ReaderState> token;  // the reader whose I/O token this call holds
    for (;;) {
        // Every condition is checked again after each wait: the world may have moved.
        LONG rc = SCARD_S_SUCCESS;
        bool wait = false;
        std::shared_ptr<HandleState> hs;
        if (shut_down_) {
            rc = SCARD_E_NO_SERVICE;
        } else if (auto it = handles_.find(h); it == handles_.end()) {
            rc = SCARD_E_INVALID_HANDLE;
        } else {
            hs = it->second;
            ReaderState& r = *hs->reader;
            if (!r.present) {
                rc = SCARD_E_READER_UNAVAILABLE;
            } else if (r.lock_owner != 0 && r.lock_owner != h && access.lock != LockPolicy::Ignore) {
                if (access.lock == LockPolicy::Fail || (access.lock == LockPolicy::Wait && options_.no_blocking))
                    rc = SCARD_E_SHARING_VIOLATION;
                else
                    wait = true;
            } else if (r.unavailable) {
                rc = SCARD_E_READER_UNAVAILABLE;
            } else if (access.check_events && hs->event != HandleEvent::None) {
                rc = event_error(hs->event);
            } else if (access.need_io && !token) {
                if (r.busy) {
                    wait = true;
                } else {
                    r.busy = true;
                    token = hs->reader;
                    io_enter(lk, r);
                    continue;  // io_enter may have released the lock: check again
                }
            }
        }
        if (rc != SCARD_S_SUCCESS || wait) {
            if (token) {
                release_io(*token);
                token.reset();
            }
            if (rc != SCARD_S_SUCCESS) return rc;
            wait_for_news(lk);
            continue;
        }
        out = std::move(hs);
        return SCARD_S_SUCCESS;
    }
}

void Service::wait_for_news(Lock& lk) {
    // A waiter may be the only thread left to notice that the card went away (which, as in
    // pcsc-lite, releases the lock it waits for): it re-reads the provider when told of a
    // change, and at the poll interval of providers that do not tell.
    if (poll_interval_.count() > 0)
        cv_.wait_for(lk, poll_interval_);
    else
        cv_.wait(lk);
    if (!shut_down_ && (provider_dirty_ || poll_interval_.count() > 0)) {
        lk.unlock();
        sync_readers();
        lk.lock();
    }
}

bool Service::take_io(Lock& lk, ReaderState& r, bool respect_lock, SCARDHANDLE owner) {
    for (;;) {
        if (shut_down_ || !r.present) return false;
        const bool locked_out = respect_lock && r.lock_owner != 0 && r.lock_owner != owner;
        if (!r.busy && !locked_out) break;
        wait_for_news(lk);
    }
    r.busy = true;
    io_enter(lk, r);
    return true;
}

void Service::release_io(ReaderState& r) {
    r.busy = false;
    if (r.io_pinned) {
        r.io_pinned = false;
        r.backend->unpin();
    } else {
        xio_leave(r);
    }
    cv_.notify_all();
}

void Service::take_lock(Lock& lk, ReaderState& r, SCARDHANDLE h) {
    const bool first = r.lock_owner == 0;
    r.lock_owner = h;
    ++r.lock_count;
    if (first) xio_enter(lk, r);
}

void Service::drop_lock(ReaderState& r) {
    const bool held = r.lock_owner != 0;
    r.lock_owner = 0;
    r.lock_count = 0;
    if (held) xio_leave(r);
    cv_.notify_all();
}

void Service::io_enter(Lock& lk, ReaderState& r) {
    // Alone on the device, the pin keeps every other process off it until release_io, which
    // is all the io lock would do here (another process's transaction cannot exist: it would
    // have the device open). Inside this process's own transaction the io lock is held anyway.
    if (r.shared_file && r.xio != ReaderState::XioState::Locked && r.backend->pin_alone()) {
        r.io_pinned = true;
        return;
    }
    xio_enter(lk, r);
}

void Service::xio_enter(Lock& lk, ReaderState& r) {
    if (!r.shared_file) return;
    ++r.xio_users;
    for (;;) {
        if (r.xio == ReaderState::XioState::Locked) return;
        if (r.xio == ReaderState::XioState::Acquiring) {
            cv_.wait(lk);
            continue;
        }
        r.xio = ReaderState::XioState::Acquiring;
        lk.unlock();
        // Sleeps in the kernel while another process holds a transaction on this reader.
        (void)r.shared_file->lock_io();
        lk.lock();
        r.xio = ReaderState::XioState::Locked;
        if (r.xio_users == 0) {
            // Every user left while we waited (e.g. the transaction was dropped by a removal).
            r.shared_file->unlock_io();
            r.xio = ReaderState::XioState::Unlocked;
        }
        cv_.notify_all();
        return;
    }
}

void Service::xio_leave(ReaderState& r) {
    if (!r.shared_file || r.xio_users == 0) return;
    if (--r.xio_users == 0 && r.xio == ReaderState::XioState::Locked) {
        r.shared_file->unlock_io();
        r.xio = ReaderState::XioState::Unlocked;
    }
}

bool Service::update_connection_lock(ReaderState& r, int sharing) {
    if (!r.shared_file) return true;
    const auto wanted = sharing < 0   ? SharedReaderFile::Connection::Exclusive
                        : sharing > 0 ? SharedReaderFile::Connection::Shared
                                      : SharedReaderFile::Connection::None;
    if (wanted == r.shared_file->connection()) return true;
    return r.shared_file->set_connection(wanted);
}

void Service::mark_reset(ReaderState& r) {
    for_each_handle(r, HandleEvent::Reset, true);
    if (r.shared_file) r.reset_generation_seen = r.shared_file->bump_reset_generation();
    bump_change();
}

LONG Service::power_up(Lock& lk, ReaderState& r) {
    const auto backend = r.backend;
    const std::uint64_t generation = r.card_generation;
    lk.unlock();
    BackendResult<Bytes> atr = backend->power_on();
    lk.lock();
    r.power_attempted = true;
    if (generation != r.card_generation) return SCARD_E_NO_SMARTCARD;  // removed meanwhile
    r.protocol = SCARD_PROTOCOL_UNDEFINED;
    bump_change();
    // An empty ATR is allowed: memory cards may have none (pcsc-lite accepts it too).
    if (atr && atr->size() <= MAX_ATR_SIZE) {
        r.card = CardState::Powered;
        r.atr = std::move(*atr);
        return SCARD_S_SUCCESS;
    }
    if (!atr && (atr.error() == BackendError::NoCard || atr.error() == BackendError::ReaderGone))
        return io_error(atr.error());
    // pcsc-lite keeps such a card as SCARD_PRESENT | SCARD_SWALLOWED (GetStatusChange: MUTE).
    r.card = CardState::Mute;
    r.atr.clear();
    return SCARD_W_UNPOWERED_CARD;
}

LONG Service::power_action(Lock& lk, ReaderState& r, PowerAction action) {
    mark_reset(r);
    const auto backend = r.backend;
    const std::uint64_t generation = r.card_generation;
    lk.unlock();
    BackendResult<Bytes> atr = std::unexpected(BackendError::NotSupported);
    std::optional<BackendError> off_error;
    switch (action) {
        case PowerAction::WarmReset: atr = backend->warm_reset(); break;
        case PowerAction::ColdReset:
            (void)backend->power_off();  // a failed power-off is followed by a power-on anyway
            atr = backend->power_on();
            break;
        case PowerAction::PowerOff:
            if (auto off = backend->power_off(); !off) off_error = off.error();
            break;
    }
    lk.lock();
    r.protocol = SCARD_PROTOCOL_UNDEFINED;
    if (generation != r.card_generation) return SCARD_E_NO_SMARTCARD;
    if (action == PowerAction::PowerOff) {
        if (r.card != CardState::Absent) r.card = CardState::Present;
        return off_error ? io_error(*off_error) : SCARD_S_SUCCESS;
    }
    if (atr && atr->size() <= MAX_ATR_SIZE) {
        r.card = CardState::Powered;
        r.atr = std::move(*atr);
        return SCARD_S_SUCCESS;
    }
    if (!atr && (atr.error() == BackendError::NoCard || atr.error() == BackendError::ReaderGone))
        return io_error(atr.error());
    r.card = CardState::Mute;
    r.atr.clear();
    return SCARD_W_UNRESPONSIVE_CARD;
}

LONG Service::ensure_protocol(Lock& lk, ReaderState& r, DWORD preferred, DWORD share_mode) {
    // pcsc-lite: asking for RAW sets the reader's protocol to RAW, without any negotiation.
    if (preferred & SCARD_PROTOCOL_RAW) {
        r.protocol = SCARD_PROTOCOL_RAW;
        return SCARD_S_SUCCESS;
    }
    if (share_mode == SCARD_SHARE_DIRECT) return SCARD_S_SUCCESS;
    if (r.protocol != SCARD_PROTOCOL_UNDEFINED)
        return (preferred & r.protocol) ? SCARD_S_SUCCESS : SCARD_E_PROTO_MISMATCH;

    const auto backend = r.backend;
    const Bytes atr = r.atr;
    const std::uint64_t generation = r.card_generation;
    lk.unlock();
    const auto negotiated = negotiate_protocol(*backend, atr, preferred);
    lk.lock();
    if (generation != r.card_generation) return SCARD_E_NO_SMARTCARD;
    if (!negotiated) {
        if (negotiated.error() == SCARD_E_READER_UNAVAILABLE) provider_dirty_ = true;
        return negotiated.error();
    }
    r.protocol = *negotiated;
    bump_change();
    return SCARD_S_SUCCESS;
}

void Service::auto_power_on(const std::vector<std::shared_ptr<ReaderState>>& readers) {
    // pcscd powers every inserted card so that SCardGetStatusChange can show its ATR (or MUTE).
    // Without a daemon thread, it happens here, once per insertion, for the readers asked about.
    for (const auto& r : readers) {
        Lock lk(m_);
        const auto wanted = [&] {
            return r->present && !r->unavailable && r->card == CardState::Present && !r->power_attempted &&
                   !r->busy;
        };
        // Never waits: not for this process's I/O, nor for another process that holds the
        // reader (exclusively, or in a transaction); the ATR then shows up at a later call.
        if (!wanted() || !xio_try_enter(*r)) continue;
        r->busy = true;
        (void)power_up(lk, *r);
        release_io(*r);
    }
}

bool Service::xio_try_enter(ReaderState& r) {
    if (!r.shared_file) return true;
    if (r.xio == ReaderState::XioState::Locked) {
        ++r.xio_users;
        return true;
    }
    if (r.xio == ReaderState::XioState::Acquiring || !r.shared_file->try_lock_io()) return false;
    r.xio = ReaderState::XioState::Locked;
    ++r.xio_users;
    return true;
}

}  // namespace ccidkit::api

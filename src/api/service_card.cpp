// Service: connections (SCardConnect / Reconnect / Disconnect) and transactions.
#include "api/protocol_negotiation.h"
#include "api/service.h"

namespace ccidkit::api {

namespace {

bool valid_share_mode(DWORD m) {
    return m == SCARD_SHARE_EXCLUSIVE || m == SCARD_SHARE_SHARED || m == SCARD_SHARE_DIRECT;
}

bool valid_disposition(DWORD d) {
    return d == SCARD_LEAVE_CARD || d == SCARD_RESET_CARD || d == SCARD_UNPOWER_CARD || d == SCARD_EJECT_CARD;
}

// pcsc-lite refuses a request that names no protocol at all, except for direct access.
bool names_a_protocol(DWORD share_mode, DWORD preferred) {
    return share_mode == SCARD_SHARE_DIRECT ||
           (preferred & (SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_RAW | kProtocolAnyOld)) != 0;
}

}  // namespace

LONG Service::connect(SCARDCONTEXT ctx, std::string_view reader, DWORD share_mode, DWORD preferred,
                      SCARDHANDLE& handle, DWORD& active_protocol) {
    handle = 0;
    if (!valid_context(ctx)) return SCARD_E_INVALID_HANDLE;
    if (!names_a_protocol(share_mode, preferred)) return SCARD_E_PROTO_MISMATCH;
    if (!valid_share_mode(share_mode)) return SCARD_E_INVALID_VALUE;
    sync_readers();

    Lock lk(m_);
    const std::shared_ptr<ReaderState> r = find_reader(reader);
    if (!r) return SCARD_E_UNKNOWN_READER;
    bool have_token = false;
    bool waited_other_processes = false;
    for (;;) {
        LONG rc = SCARD_S_SUCCESS;
        bool wait = false;
        if (shut_down_) rc = SCARD_E_NO_SERVICE;
        else if (!contexts_.contains(ctx)) rc = SCARD_E_INVALID_HANDLE;
        else if (!r->present) rc = SCARD_E_UNKNOWN_READER;
        else if (r->unavailable) rc = SCARD_E_READER_UNAVAILABLE;
        else if (r->sharing < 0) rc = SCARD_E_SHARING_VIOLATION;
        // pcsc-lite lets a new connection wait until a running transaction ends.
        else if (r->lock_owner != 0) wait = true;
        else if (share_mode != SCARD_SHARE_DIRECT && r->card == CardState::Absent) rc = SCARD_E_NO_SMARTCARD;
        else if (share_mode == SCARD_SHARE_EXCLUSIVE && r->sharing != 0) rc = SCARD_E_SHARING_VIOLATION;
        // Another process holding the reader exclusively (or using it while we want it
        // alone) is refused before any card I/O, which would otherwise wait for it.
        else if (!update_connection_lock(*r, share_mode == SCARD_SHARE_EXCLUSIVE ? -1 : r->sharing + 1))
            rc = SCARD_E_SHARING_VIOLATION;
        if (rc != SCARD_S_SUCCESS || wait) {
            if (have_token) {
                release_io(*r);
                have_token = false;
            }
            if (rc != SCARD_S_SUCCESS) {
                if (r->present) (void)update_connection_lock(*r, r->sharing);
                return rc;
            }
            wait_for_news(lk);
            continue;
        }
        const bool need_power = share_mode != SCARD_SHARE_DIRECT &&
                                (r->card == CardState::Present || r->card == CardState::Mute);
        const bool need_protocol = share_mode != SCARD_SHARE_DIRECT && !(preferred & SCARD_PROTOCOL_RAW) &&
                                   r->protocol == SCARD_PROTOCOL_UNDEFINED;
        if ((need_power || need_protocol) && !have_token) {
            if (r->busy) {
                wait_for_news(lk);
                continue;
            }
            r->busy = true;
            have_token = true;
            io_enter(lk, *r);
            continue;
        }
        // No card I/O needed: still wait out another process's transaction (its slot I/O
        // lock), as pcsc-lite's connect waits for any; this process's own I/O is not waited for.
        if (!have_token && !waited_other_processes && r->shared_file) {
            waited_other_processes = true;
            xio_enter(lk, *r);
            xio_leave(*r);
            continue;  // the lock was released meanwhile: check again
        }
        break;
    }

    LONG rc = SCARD_S_SUCCESS;
    if (share_mode != SCARD_SHARE_DIRECT && (r->card == CardState::Present || r->card == CardState::Mute))
        rc = power_up(lk, *r);
    if (rc == SCARD_S_SUCCESS) rc = ensure_protocol(lk, *r, preferred, share_mode);
    if (have_token) release_io(*r);
    if (rc == SCARD_S_SUCCESS && !contexts_.contains(ctx)) rc = SCARD_E_INVALID_HANDLE;
    if (rc == SCARD_S_SUCCESS && !r->present) rc = SCARD_E_UNKNOWN_READER;
    if (rc == SCARD_S_SUCCESS && share_mode == SCARD_SHARE_EXCLUSIVE && r->sharing != 0)
        rc = SCARD_E_SHARING_VIOLATION;
    const int sharing = share_mode == SCARD_SHARE_EXCLUSIVE ? -1 : r->sharing + 1;
    // Taken again: another connection of this process may have dropped it meanwhile.
    if (rc == SCARD_S_SUCCESS && !update_connection_lock(*r, sharing)) rc = SCARD_E_SHARING_VIOLATION;
    if (rc != SCARD_S_SUCCESS) {
        (void)update_connection_lock(*r, r->sharing);  // back to what the existing handles need
        return rc;
    }

    auto hs = std::make_shared<HandleState>();
    hs->id = new_id();
    hs->context = ctx;
    hs->reader = r;
    hs->share_mode = share_mode;
    handles_[hs->id] = hs;
    r->handles.insert(hs->id);
    contexts_[ctx].handles.insert(hs->id);
    r->sharing = sharing;
    if (share_mode == SCARD_SHARE_EXCLUSIVE) take_lock(lk, *r, hs->id);
    handle = hs->id;
    active_protocol = r->protocol;
    bump_change();
    cv_.notify_all();
    return SCARD_S_SUCCESS;
}

LONG Service::reconnect(SCARDHANDLE h, DWORD share_mode, DWORD preferred, DWORD initialization,
                        DWORD& active_protocol) {
    const std::shared_ptr<ReaderState> reader = reader_of(h);
    if (!reader) return SCARD_E_INVALID_HANDLE;
    if (initialization != SCARD_LEAVE_CARD && initialization != SCARD_RESET_CARD &&
        initialization != SCARD_UNPOWER_CARD)
        return SCARD_E_INVALID_VALUE;
    if (!valid_share_mode(share_mode)) return SCARD_E_INVALID_VALUE;
    if (!names_a_protocol(share_mode, preferred)) return SCARD_E_PROTO_MISMATCH;
    refresh_reader(reader);

    Lock lk(m_);
    std::shared_ptr<HandleState> hs;
    for (;;) {
        if (LONG rc = acquire(lk, h, Access{LockPolicy::Wait, false, true}, hs); rc != SCARD_S_SUCCESS) return rc;
        // pcsc-lite's client retries an exclusive SCardReconnect that pcscd refuses because other
        // handles share the reader, until they leave (unless PCSCLITE_NO_BLOCKING). Wait for
        // that here, before touching the card and without the I/O token.
        if (share_mode != SCARD_SHARE_EXCLUSIVE || options_.no_blocking || hs->reader->sharing <= 1) break;
        release_io(*hs->reader);
        wait_for_news(lk);
    }
    ReaderState& r = *hs->reader;

    LONG rc = SCARD_S_SUCCESS;
    if (initialization == SCARD_RESET_CARD || initialization == SCARD_UNPOWER_CARD) {
        if (r.card == CardState::Absent) rc = SCARD_E_NO_SMARTCARD;
        else rc = power_action(lk, r, initialization == SCARD_RESET_CARD ? PowerAction::WarmReset : PowerAction::ColdReset);
    } else if (r.card == CardState::Absent) {
        rc = share_mode == SCARD_SHARE_DIRECT ? SCARD_S_SUCCESS : SCARD_E_NO_SMARTCARD;
    } else if (r.card == CardState::Mute) {
        rc = SCARD_W_UNRESPONSIVE_CARD;
    } else if (r.card == CardState::Present && share_mode != SCARD_SHARE_DIRECT) {
        // Powered off by another handle (or by a reset in another process): power it again.
        rc = power_up(lk, r);
        if (rc == SCARD_W_UNPOWERED_CARD) rc = SCARD_W_UNRESPONSIVE_CARD;
    }
    if (rc == SCARD_S_SUCCESS && share_mode != SCARD_SHARE_DIRECT && r.card == CardState::Absent)
        rc = SCARD_E_NO_SMARTCARD;
    if (rc == SCARD_S_SUCCESS) rc = ensure_protocol(lk, r, preferred, share_mode);
    release_io(r);
    if (rc != SCARD_S_SUCCESS) return rc;
    if (!handles_.contains(h)) return SCARD_E_INVALID_HANDLE;

    if (share_mode == SCARD_SHARE_EXCLUSIVE) {
        if (r.sharing != -1) {
            if (r.sharing != 1) return SCARD_E_SHARING_VIOLATION;
            if (!update_connection_lock(r, -1)) return SCARD_E_SHARING_VIOLATION;
            r.sharing = -1;
            take_lock(lk, r, h);
        } else if (r.lock_owner == 0) {
            take_lock(lk, r, h);  // the card was removed meanwhile, which released the lock
        }
    } else if (r.sharing == -1) {
        r.sharing = 1;
        (void)update_connection_lock(r, 1);  // downgrading never conflicts
        // Give back the level the exclusive connection held; a transaction begun on top of
        // it stays (pcsc-lite keeps the whole lock here, which blocks every other handle).
        if (r.lock_owner == h) {
            if (r.lock_count > 1) --r.lock_count;
            else drop_lock(r);
        }
    }
    hs->share_mode = share_mode;
    hs->event = HandleEvent::None;
    active_protocol = r.protocol;
    bump_change();
    cv_.notify_all();
    return SCARD_S_SUCCESS;
}

LONG Service::disconnect(SCARDHANDLE h, DWORD disposition) {
    Lock lk(m_);
    if (!handles_.contains(h)) return SCARD_E_INVALID_HANDLE;
    if (!valid_disposition(disposition)) return SCARD_E_INVALID_VALUE;
    return disconnect_locked(lk, h, disposition);
}

LONG Service::disconnect_locked(Lock& lk, SCARDHANDLE h, DWORD disposition) {
    auto it = handles_.find(h);
    if (it == handles_.end()) return SCARD_E_INVALID_HANDLE;
    const std::shared_ptr<HandleState> hs = it->second;
    const std::shared_ptr<ReaderState> r = hs->reader;

    if (r->present && disposition != SCARD_LEAVE_CARD) {
        // Do not reset the card under another handle's transaction: wait for its end.
        while (!(shut_down_ || !handles_.contains(h) || !r->present || r->lock_owner == 0 || r->lock_owner == h))
            wait_for_news(lk);
        if (!handles_.contains(h)) return SCARD_E_INVALID_HANDLE;
    }
    if (r->lock_owner == h) drop_lock(*r);

    if (r->present && !shut_down_ && disposition != SCARD_LEAVE_CARD && r->card != CardState::Absent &&
        take_io(lk, *r, true, h)) {
        if (disposition == SCARD_EJECT_CARD) {
            const auto backend = r->backend;
            lk.unlock();
            (void)backend->eject();  // most readers cannot eject; pcsc-lite ignores the outcome too
            lk.lock();
        } else {
            (void)power_action(lk, *r, disposition == SCARD_RESET_CARD ? PowerAction::WarmReset : PowerAction::PowerOff);
        }
        release_io(*r);
    }

    if (handles_.erase(h) == 0) return SCARD_E_INVALID_HANDLE;  // disconnected meanwhile by another thread
    r->handles.erase(h);
    if (auto c = contexts_.find(hs->context); c != contexts_.end()) c->second.handles.erase(h);
    if (r->lock_owner == h) drop_lock(*r);
    r->sharing = r->sharing < 0 ? 0 : std::max(0, r->sharing - 1);
    (void)update_connection_lock(*r, r->sharing);
    bump_change();
    cv_.notify_all();
    return SCARD_S_SUCCESS;
}

LONG Service::begin_transaction(SCARDHANDLE h) {
    const std::shared_ptr<ReaderState> reader = reader_of(h);
    if (!reader) return SCARD_E_INVALID_HANDLE;
    refresh_reader(reader);
    Lock lk(m_);
    for (;;) {
        std::shared_ptr<HandleState> hs;
        // Waits (on the condition variable, no polling) while another handle holds the lock.
        // pcsc-lite blocks here even with PCSCLITE_NO_BLOCKING.
        if (LONG rc = acquire(lk, h, Access{LockPolicy::WaitAlways, true, false}, hs); rc != SCARD_S_SUCCESS)
            return rc;
        ReaderState& r = *hs->reader;
        take_lock(lk, r, h);
        if (r.lock_owner == h && handles_.contains(h)) {
            bump_change();
            return SCARD_S_SUCCESS;
        }
        // Lost while waiting for the other processes (card removed, handle closed): retry the
        // checks, which now report why.
    }
}

LONG Service::end_transaction(SCARDHANDLE h, DWORD disposition) {
    const std::shared_ptr<ReaderState> reader = reader_of(h);
    if (!reader) return SCARD_E_INVALID_HANDLE;
    if (!valid_disposition(disposition)) return SCARD_E_INVALID_VALUE;
    refresh_reader(reader);

    Lock lk(m_);
    std::shared_ptr<HandleState> hs;
    if (LONG rc = acquire(lk, h, Access{LockPolicy::Ignore, true, false}, hs); rc != SCARD_S_SUCCESS) return rc;
    ReaderState& r = *hs->reader;
    if (disposition != SCARD_LEAVE_CARD && r.lock_owner != 0 && r.lock_owner != h) return SCARD_E_SHARING_VIOLATION;

    LONG rc = SCARD_S_SUCCESS;
    if (disposition != SCARD_LEAVE_CARD && take_io(lk, r, true, h)) {
        if (disposition == SCARD_EJECT_CARD) {
            // Unlike SCardDisconnect, pcscd's SCardEndTransaction returns the eject's failure
            // (SCARD_E_UNSUPPORTED_FEATURE with libccid, which cannot eject); the transaction
            // ends all the same.
            const auto backend = r.backend;
            lk.unlock();
            const BackendResult<void> ejected = backend->eject();
            lk.lock();
            if (!ejected) rc = io_error(ejected.error());
        } else {
            // pcsc-lite marks every handle of the reader as reset, this one included: the
            // next call on it returns SCARD_W_RESET_CARD until SCardReconnect.
            rc = power_action(lk, r, disposition == SCARD_RESET_CARD ? PowerAction::WarmReset : PowerAction::ColdReset);
        }
        release_io(r);
    }

    LONG unlock_rc = SCARD_S_SUCCESS;
    if (r.lock_owner != 0 && r.lock_owner != h) {
        unlock_rc = SCARD_E_SHARING_VIOLATION;
    } else if (r.sharing == -1) {
        // The exclusive connection itself holds one level that only Disconnect releases.
        if (r.lock_owner == h && r.lock_count > 1) --r.lock_count;
        else unlock_rc = SCARD_E_NOT_TRANSACTED;
    } else if (r.lock_owner == h && r.lock_count > 0) {
        if (--r.lock_count == 0) drop_lock(r);
    } else {
        unlock_rc = SCARD_E_NOT_TRANSACTED;
    }
    bump_change();
    cv_.notify_all();
    return rc != SCARD_S_SUCCESS ? rc : unlock_rc;
}

}  // namespace ccidkit::api

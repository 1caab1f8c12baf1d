// The in-process equivalent of pcscd: the readers of one ReaderProvider, the application
// contexts and card handles, and the sharing rules between them (pcsc-lite's readerfactory.c
// and winscard.c semantics).
//
// Locking: one mutex (m_) guards all state; one condition variable (cv_) signals every state
// change (lock released, card event, reader list change, cancel). Backend I/O runs outside m_
// while the reader's I/O token (ReaderState::busy) is held, so I/O on one reader is serialised
// and I/O on different readers runs in parallel. Reading the provider (readers(), status())
// is serialised by sync_mutex_, which is always taken before m_, never after.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "PCSC/winscard.h"
#include "api/backend.h"
#include "api/reader_naming.h"
#include "api/service_options.h"

namespace ccidkit::api {

class SharedReaderFile;

// The SCARD_* code for a backend failure (operations may refine it).
LONG backend_error_code(BackendError e);

enum class CardState : std::uint8_t {
    Absent,
    Present,  // inserted, not powered (or powered off)
    Mute,     // inserted, power-on failed (pcsc-lite: SCARD_SWALLOWED)
    Powered,  // ATR known
};

struct ReaderState {
    std::shared_ptr<ReaderBackend> backend;
    std::string device_id;
    std::uint8_t slot = 0;
    std::uint8_t index = 0;
    std::string name;
    bool present = true;       // false once the provider stopped listing it
    bool unavailable = false;  // the backend reports CardPresence::Unavailable

    CardState card = CardState::Absent;
    Bytes atr;  // kept after a power-off, as pcsc-lite does
    DWORD protocol = SCARD_PROTOCOL_UNDEFINED;
    bool power_attempted = false;  // the automatic power-on for this insertion was done
    std::uint64_t backend_events = 0;
    std::uint64_t card_generation = 0;  // bumped at every insertion, removal or foreign reset
    std::uint16_t event_counter = 0;  // insertions + removals, for dwEventState bits 16-31

    int sharing = 0;  // -1: one exclusive handle; n: shared and direct handles
    SCARDHANDLE lock_owner = 0;  // transaction (or exclusive) holder
    std::uint32_t lock_count = 0;
    bool busy = false;  // I/O token
    std::set<SCARDHANDLE> handles;

    // Cross-process state (null when disabled).
    std::unique_ptr<SharedReaderFile> shared_file;
    std::uint32_t reset_generation_seen = 0;
    int xio_users = 0;
    bool io_pinned = false;  // the current I/O runs on the backend's pin instead of the io lock
    enum class XioState : std::uint8_t { Unlocked, Acquiring, Locked } xio = XioState::Unlocked;

    ReaderState();
    ~ReaderState();
    ReaderState(const ReaderState&) = delete;
    ReaderState& operator=(const ReaderState&) = delete;

    DWORD pcsc_state() const;  // SCARD_UNKNOWN / ABSENT / PRESENT | ... bits
};

enum class HandleEvent : std::uint8_t { None, Reset, Removed };

struct HandleState {
    SCARDHANDLE id = 0;
    SCARDCONTEXT context = 0;
    std::shared_ptr<ReaderState> reader;
    DWORD share_mode = SCARD_SHARE_SHARED;
    HandleEvent event = HandleEvent::None;
};

struct ContextState {
    std::set<SCARDHANDLE> handles;
    int waiters = 0;        // threads inside SCardGetStatusChange with this context
    bool cancel = false;    // SCardCancel arrived while waiting
};

struct CardStatus {
    std::string reader;
    DWORD state = 0;  // event counter << 16 | SCARD_* bits
    DWORD protocol = SCARD_PROTOCOL_UNDEFINED;
    Bytes atr;
};

class Service final : public ChangeListener {
public:
    Service(std::shared_ptr<ReaderProvider> provider, ServiceOptions options);
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // Wakes every waiting call (they return SCARD_E_NO_SERVICE) and detaches from the provider.
    void shutdown();

    LONG establish_context(SCARDCONTEXT& out);
    LONG release_context(SCARDCONTEXT ctx);
    bool valid_context(SCARDCONTEXT ctx);
    bool valid_handle(SCARDHANDLE h);
    LONG list_readers(SCARDCONTEXT ctx, std::vector<std::string>& names);
    LONG cancel(SCARDCONTEXT ctx);
    LONG get_status_change(SCARDCONTEXT ctx, DWORD timeout_ms, std::span<SCARD_READERSTATE> states);

    LONG connect(SCARDCONTEXT ctx, std::string_view reader, DWORD share_mode, DWORD preferred,
                 SCARDHANDLE& handle, DWORD& active_protocol);
    LONG reconnect(SCARDHANDLE h, DWORD share_mode, DWORD preferred, DWORD initialization,
                   DWORD& active_protocol);
    LONG disconnect(SCARDHANDLE h, DWORD disposition);
    LONG begin_transaction(SCARDHANDLE h);
    LONG end_transaction(SCARDHANDLE h, DWORD disposition);
    LONG status(SCARDHANDLE h, CardStatus& out);
    LONG transmit(SCARDHANDLE h, DWORD send_protocol, ByteView command, Bytes& response);
    LONG control(SCARDHANDLE h, DWORD code, ByteView input, Bytes& output);
    LONG get_attrib(SCARDHANDLE h, DWORD id, Bytes& value);
    LONG set_attrib(SCARDHANDLE h, DWORD id, ByteView value);

    void changed() noexcept override;

    // The readers' source (e.g. for ccidkit_SCardAddReaderFromFd, which adds to it).
    ReaderProvider& provider() const { return *provider_; }

private:
    using Lock = std::unique_lock<std::mutex>;
    // What to do when another handle holds the transaction lock: go on, fail with
    // SCARD_E_SHARING_VIOLATION, wait (unless PCSCLITE_NO_BLOCKING), or always wait.
    enum class LockPolicy : std::uint8_t { Ignore, Fail, Wait, WaitAlways };
    enum class PowerAction : std::uint8_t { WarmReset, ColdReset, PowerOff };
    struct Access {
        LockPolicy lock = LockPolicy::Ignore;
        bool check_events = false;
        bool need_io = false;
    };

    // Provider synchronisation (take sync_mutex_, then m_).
    void sync_readers();
    void refresh_reader(const std::shared_ptr<ReaderState>& r);
    bool apply_status(ReaderState& r, const SlotStatus& st);
    void add_reader(const std::shared_ptr<ReaderBackend>& backend, const SlotStatus& st);
    void remove_reader(const std::shared_ptr<ReaderState>& r);
    void card_removed(ReaderState& r);
    void card_inserted(ReaderState& r);
    void check_foreign_reset(ReaderState& r);

    std::shared_ptr<ReaderState> find_reader(std::string_view name) const;
    std::shared_ptr<ReaderState> reader_of(SCARDHANDLE h);
    SCARDHANDLE new_id();

    // Looks the handle up and applies the checks of `access`; may wait on cv_. On success the
    // I/O token is held when access.need_io.
    LONG acquire(Lock& lk, SCARDHANDLE h, const Access& access, std::shared_ptr<HandleState>& out);
    // Waits for and takes the I/O token of r (and, with respect_lock, for the transaction
    // lock to be free or owned by `owner`). False when the reader or the service went away.
    bool take_io(Lock& lk, ReaderState& r, bool respect_lock, SCARDHANDLE owner);
    void release_io(ReaderState& r);
    void take_lock(Lock& lk, ReaderState& r, SCARDHANDLE h);
    void drop_lock(ReaderState& r);
    void for_each_handle(ReaderState& r, HandleEvent e, bool keep_removed);
    // cv_.wait, then re-read the provider if it reported a change meanwhile.
    void wait_for_news(Lock& lk);
    void xio_enter(Lock& lk, ReaderState& r);
    // For one I/O operation (with r.busy taken): the backend's pin when this process is alone
    // on the device (no lock call), otherwise xio_enter. release_io undoes either.
    void io_enter(Lock& lk, ReaderState& r);
    bool xio_try_enter(ReaderState& r);  // without waiting; false when another process holds it
    void xio_leave(ReaderState& r);
    bool update_connection_lock(ReaderState& r, int sharing);

    // Card operations; called with m_ locked and the I/O token held. They release m_ around
    // the backend call, update r and return SCARD_* codes.
    LONG power_up(Lock& lk, ReaderState& r);
    LONG power_action(Lock& lk, ReaderState& r, PowerAction action);
    LONG ensure_protocol(Lock& lk, ReaderState& r, DWORD preferred, DWORD share_mode);
    void mark_reset(ReaderState& r);
    LONG io_error(BackendError e);
    void auto_power_on(const std::vector<std::shared_ptr<ReaderState>>& readers);

    LONG disconnect_locked(Lock& lk, SCARDHANDLE h, DWORD disposition);
    void bump_change() { ++change_seq_; }

    std::shared_ptr<ReaderProvider> provider_;
    ServiceOptions options_;

    std::mutex sync_mutex_;
    mutable std::mutex m_;
    std::condition_variable cv_;
    bool shut_down_ = false;
    std::uint64_t change_seq_ = 0;
    // The provider reported a change not read yet (or polls): the next call re-reads the list.
    bool provider_dirty_ = true;
    std::chrono::milliseconds poll_interval_{0};

    std::vector<std::shared_ptr<ReaderState>> readers_;  // present readers, sorted by name
    ReaderIndexTable indexes_;
    std::uint16_t reader_events_ = 0;  // reader additions + removals (PnP notification)

    std::map<SCARDCONTEXT, ContextState> contexts_;
    std::map<SCARDHANDLE, std::shared_ptr<HandleState>> handles_;
};

}  // namespace ccidkit::api

// One reader device driven by several processes without a daemon: the USB interface claim
// goes from process to process, and so do what each must know to continue where the last one
// stopped (slot presence, card events, the card session). See docs/design/api.md, "Across
// processes", for the whole picture.
//
// Per device there is one lock file <lock dir>/<device>.dev-00.lock (next to the per-slot files
// of cross_process.h), opened once per SharedDevice (one open file description), with Linux
// OFD locks, which the kernel drops when the process dies:
//   byte 0, "presence": read-locked by every process that has the device open. A process is
//           alone when it can turn its read lock into a write lock without waiting (it then
//           turns it back at once).
//   byte 1, "token": write-locked by the process that holds (or is taking) the transport claim.
//           Nobody claims the interface without it, so the claim never fails between
//           coordinated processes; a holder that dies loses both.
// The first 4 KiB are a shared page (magic, version, slot count checked before use): a change
// counter the processes wait on with a futex (not private: it crosses processes), the time of
// the last presence poll, and per slot the presence, a card event counter, the card session
// (ccid/session_snapshot.h) with a generation counter, and whether that session has the card
// powered (one word, so that status() of every process can tell without the token). Only the token holder writes
// presence and sessions; sessions are read under the token, and decoded (validated) before
// use.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <optional>
#include <string>
#include <vector>

#include "ccid/transport.h"
#include "common/bytes.h"

namespace ccidkit::ccid {
class Reader;
}

namespace ccidkit::api {

// "<sanitised device id>.dev-00.lock".
std::string device_lock_file_name(const std::string& device_id);

// The shared page of one device, as this process reads it.
struct SharedSlotView {
    bool present = false;
    std::uint32_t events = 0;  // insertions + removals seen by every process together
};

class SharedDeviceFile;

class SharedDevice {
public:
    // At most this many slots are shared; a reader with more keeps its claim (not shared).
    static constexpr unsigned kMaxSlots = 16;
    // nullptr when `dir` is empty (sharing disabled) or unusable, or `slots` is out of range.
    static std::unique_ptr<SharedDevice> open(const std::string& dir, const std::string& device_id,
                                              ccid::Transport& transport, unsigned slots);
    ~SharedDevice();
    SharedDevice(const SharedDevice&) = delete;
    SharedDevice& operator=(const SharedDevice&) = delete;

    // The Reader whose slots' sessions are exported and adopted (after Reader::open).
    void attach(ccid::Reader& reader);

    // Before I/O: takes the token (waiting for it) and the claim, then adopts the sessions
    // that other processes published since. Nested and concurrent users in this process
    // share one acquisition. Busy: someone outside the coordination holds the interface.
    std::expected<void, ccid::TransportError> begin_io();
    // After I/O: publishes `slot`'s session (if given), and gives the claim and the token
    // back when this is the last user and another process has the device open.
    void end_io(std::optional<std::uint8_t> slot);

    // The transport went away while this process held the claim (a failed Reader::open):
    // gives the token back without touching the transport.
    void abandon();

    // True when no other process has the device open (asks the kernel: two fcntl calls).
    bool alone();
    // While this process holds the claim and is alone (alone_cached), keeps it as one more
    // user until end_io() and returns true, without system calls on the usual path: the
    // caller's I/O then needs no other cross-process lock, since nobody else can do I/O on
    // the device before end_io(). False: not holding, not alone, or the state is changing.
    bool try_pin();
    // This process holds the token and the claim.
    bool holding() const;
    // Event thread, while holding: gives the claim back if idle and not alone. True if released.
    bool release_if_shared_and_idle();
    // Event thread, while not holding: takes the token and the claim without waiting; end
    // with end_io() when Taken. Gone: the device refused the claim as absent (NoDevice).
    enum class TryIo { Taken, Busy, Gone };
    TryIo try_begin_io();

    // Publishes `slot`'s session again (only while holding), e.g. after the reader ended it.
    void republish_session(std::uint8_t slot);
    // Presence, as published.
    std::vector<SharedSlotView> read_slots() const;
    // Publishes presence (only while holding); bumps the slot's event counter by `events` and,
    // when the presence changed, ends its published session. Wakes the other processes.
    void publish_presence(std::uint8_t slot, bool present, std::uint32_t events);
    // The card in `slot` is powered, as the last process that used it published (no token
    // needed: one word; a removal clears it).
    bool powered(std::uint8_t slot) const;
    // Time since a process last polled presence for everybody.
    std::chrono::milliseconds since_last_poll() const;
    void note_poll();
    // Change counter: wait_change() returns when it differs from `seen` or after `timeout`.
    std::uint32_t change_count() const;
    void wait_change(std::uint32_t seen, std::chrono::milliseconds timeout) const;
    // Wakes this process's waiters (stop()).
    void wake_local();

private:
    SharedDevice(std::unique_ptr<SharedDeviceFile> file, ccid::Transport& transport, unsigned slots);
    void adopt_sessions();
    void publish_session(std::uint8_t slot);
    void give_back();  // with mutex_ held, users_ == 0
    // With mutex_ held. probe_alone() asks the kernel and remembers a "yes" with the page's
    // join count; alone_cached() answers from that memory while the count has not moved, so
    // a process alone on its reader makes no lock calls per APDU.
    bool probe_alone();
    bool alone_cached();

    std::unique_ptr<SharedDeviceFile> file_;
    ccid::Transport& transport_;
    ccid::Reader* reader_ = nullptr;
    const unsigned slots_;
    std::vector<std::uint32_t> adopted_generation_;  // per slot, guarded by the token

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    unsigned users_ = 0;
    bool holding_ = false;
    bool acquiring_ = false;
    std::optional<std::uint32_t> alone_at_joins_;
};

}  // namespace ccidkit::api

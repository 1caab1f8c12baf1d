// One CCID interface seen from the host (CCID Rev 1.1): it owns the Transport, the reader's
// capabilities (descriptor + quirks), one Slot per bMaxSlotIndex + 1, and the command pipe.
//
// Opening (Reader::open): stale interrupt messages and stale bulk-IN replies are drained with
// short reads, the ABORT sequence is sent to every slot when the quirks ask for it, every slot
// gets a GetSlotStatus (warm-up, and the initial presence), and the clock / data-rate lists
// are read with GET_CLOCK_FREQUENCIES / GET_DATA_RATES (5.3) when the descriptor announces
// them. Every timeout of the opening is multiplied by Quirks::open_timeout_factor.
//
// Threading: every member function is thread-safe.
//  - One wire mutex serialises command/reply pairs on the bulk pipes, so at most one command
//    is outstanding at a time: bMaxCCIDBusySlots (5.1) is respected whatever its value, at the
//    cost of no overlap between slots of a multi-slot reader.
//  - Each Slot has its own mutex held for a whole operation (a power-on with negotiation, an
//    APDU with all its TPDUs or chained parts), so operations on one slot never interleave,
//    while another slot's commands may go between two messages of a long APDU. Lock order is
//    slot mutex, then wire mutex; never the reverse.
//  - poll_events() reads the interrupt pipe without the wire mutex (it is another endpoint), and
//    takes the wire mutex only for GetSlotStatus polling. It is meant to run in its own thread.
#pragma once

#include <atomic>
#include <bitset>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "ccid/descriptor.h"
#include "ccid/exchange.h"
#include "ccid/quirks.h"
#include "ccid/reader_caps.h"
#include "ccid/reader_error.h"
#include "ccid/reader_events.h"
#include "ccid/slot.h"
#include "ccid/transport.h"

namespace ccidkit::ccid {

struct ReaderOptions {
    Quirks quirks;
    ExchangeLimits exchange;
    // T=0 at TPDU level: answer 61XX / 6CXX for the caller (GET RESPONSE, Le correction).
    // Off by default, as in pcsc-lite and WinSCard: SCardTransmit returns SW1 SW2 as received.
    bool auto_get_response = false;
    Millis control_timeout = kControlTimeout;      // commands that do not reach the card
    Millis poll_interval{400};                     // GetSlotStatus polling (pcscd's rate)
    Millis drain_read_timeout{10};                 // each short read while draining at open
    std::size_t max_drained_messages = 32;         // per pipe, at open
    std::optional<Millis> power_on_timeout;        // default: power_on_timeout(clock) of timeouts.h
    // The device's bcdDevice, checked against Quirks::min_firmware (known-broken firmware).
    std::optional<std::uint16_t> bcd_device;
    // NAD the host uses in T=1 blocks at TPDU level; only when the reader accepts a NAD other
    // than 00 (dwFeatures 200h) and Quirks::no_nad is off (ISO/IEC 7816-3 11.3.2.1).
    std::uint8_t t1_nad = 0;
};

class Reader {
public:
    static std::expected<std::unique_ptr<Reader>, ReaderError> open(std::unique_ptr<Transport> transport,
                                                                    const CcidDescriptor& descriptor,
                                                                    ReaderOptions options = {});
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    const ReaderCaps& caps() const { return caps_; }
    const ReaderOptions& options() const { return options_; }
    unsigned slot_count() const { return static_cast<unsigned>(slots_.size()); }
    // nullptr when `index` is not a slot of this reader.
    Slot* slot(unsigned index);

    // Waits up to `timeout` for card events (insertions, removals, hardware errors). Returns
    // an empty ReaderEvents on timeout. With an interrupt pipe (and neither quirk
    // ignore_interrupt_endpoint nor poll_slot_status) it reads NotifySlotChange; otherwise it
    // polls every slot with GetSlotStatus every poll_interval and reports differences.
    // A removal also invalidates the slot's session: its next transmit fails CardRemoved.
    std::expected<ReaderEvents, ReaderError> poll_events(Millis timeout);
    // Makes a poll_events() that is waiting between polling rounds return now. (An interrupt
    // read returns at its timeout; Transport::cancel() interrupts it.)
    void wake_events();
    bool uses_interrupt_events() const { return use_interrupt_; }
    // The last presence poll_events() established (from open's GetSlotStatus until then).
    bool card_present(unsigned slot) const;

    // PC_to_RDR_Escape (6.1.8) to slot 0.
    std::expected<Bytes, ReaderError> escape(ByteView data);

    // True once the device was found gone; every operation then fails with ReaderGone.
    bool gone() const { return gone_.load(); }
    ExchangeStats exchange_stats() const;
    Transport& transport() { return *transport_; }

    // One command/reply pair under the wire mutex (Slot uses these).
    std::expected<Response, ReaderError> command(Command command, Millis timeout);
    // As command(), with a failed bmCommandStatus turned into its ReaderError.
    std::expected<Response, ReaderError> command_ok(Command command, Millis timeout);

private:
    Reader(std::unique_ptr<Transport> transport, ReaderCaps caps, ReaderOptions options);
    std::expected<void, ReaderError> initialise();
    void drain_interrupts(Millis per_read);
    void read_rate_lists(Millis timeout);
    std::expected<ReaderEvents, ReaderError> poll_interrupt(Millis timeout);
    std::expected<ReaderEvents, ReaderError> poll_status(Millis timeout);
    // Applies one observation of a slot; returns the event to report, if any.
    std::optional<SlotEvent> observe(std::uint8_t slot, bool present, bool changed);
    void note_error(const ReaderError& e);
    // Records the bSeq values [first, end) a command to `slot` used; a power-on starts afresh.
    void note_session_seqs(std::uint8_t slot, std::uint8_t first, std::uint8_t end, bool power_on);
    // Whether a HardwareError with this bSeq is about the slot's current power-on (its command
    // was sent since), rather than a stale one read after a new power-on.
    bool seq_in_session(std::uint8_t slot, std::uint8_t seq) const;

    std::unique_ptr<Transport> transport_;
    ReaderCaps caps_;
    ReaderOptions options_;
    bool use_interrupt_ = false;

    mutable std::mutex wire_mutex_;
    Exchange exchange_;

    std::mutex events_mutex_;  // one poll_events() at a time
    // Per slot, the bSeq values sent since its last power-on (all 256 once it wrapped).
    mutable std::mutex seqs_mutex_;
    std::vector<std::bitset<256>> session_seqs_;
    mutable std::mutex presence_mutex_;
    std::vector<bool> present_;  // guarded by presence_mutex_
    std::mutex wake_mutex_;
    std::condition_variable wake_cv_;
    bool wake_requested_ = false;

    std::atomic<bool> gone_{false};
    std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace ccidkit::ccid

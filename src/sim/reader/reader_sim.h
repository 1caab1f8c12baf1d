// ReaderSim: the device side of a USB CCID reader, behind the same ccid::Transport interface
// as a real reader on libusb. The host-side driver cannot tell it from hardware, except that
// it is fast, deterministic and can be told to misbehave.
//
// Quick start (host side of a test):
//     sim::ReaderSim reader(sim::make_reader_config(ccid::ExchangeLevel::ShortApdu));
//     auto card = reader.insert_card(0, sim::SimCard::t1_default());
//     reader.bulk_out(ccid::encode(ccid::pc_to_rdr::IccPowerOn{0, 1}), 1s);
//     std::array<uint8_t, 1024> buf; auto n = reader.bulk_in(buf, 1s);   // RDR_to_PC_DataBlock + ATR
//
// What it models (CCID Rev 1.1):
//  - bulk_out takes one PC_to_RDR message. A message that does not decode is answered with a
//    failed reply of the matching type, bSlot/bSeq echoed and bError = offset of the bad field
//    (00 for an unknown message type); fewer than 10 bytes are ignored. bSlot beyond
//    bMaxSlotIndex: bError 05. Longer than dwMaxCCIDMessageLength: bError 01.
//  - Commands run when the host reads (bulk_in), in arrival order, so a slot stays busy from
//    bulk_out until its final reply is produced. A command to a busy slot, or to an idle slot
//    while bMaxCCIDBusySlots slots are busy, is answered CMD_SLOT_BUSY at once (Abort excepted).
//  - Every slot follows the descriptor: exchange level, voltages, protocols, automatic
//    parameter features, message length, PIN support, mechanical features, clock stop
//    (see ReaderSlot in reader_slot.h for the details of each command).
//  - Time extensions: config.time_extensions replies with bmCommandStatus = 2 before the final
//    reply of IccPowerOn / XfrBlock / Secure / Escape, plus one per S(WTX) the card asks for
//    when the reader runs T=1 (APDU levels). If the card is removed meanwhile, the final reply
//    becomes ICC_MUTE with ICC status "absent".
//  - Abort (5.3.1, 6.1.13): the ABORT class request ends the slot's command in progress with
//    CMD_ABORTED, and commands other than PC_to_RDR_Abort are answered CMD_ABORTED until the
//    PC_to_RDR_Abort with the same bSeq arrives; that one is answered (SlotStatus) once both
//    halves have been received, in either order.
//  - interrupt_in delivers RDR_to_PC_NotifySlotChange (coalesced: one pending message carries
//    every change since the last read) and RDR_to_PC_HardwareError.
//  - bulk_in delivers one message per call. A buffer that is a multiple of wMaxPacketSize but
//    too small gets the first bytes and the rest comes with the next call (a USB transfer ends
//    when the buffer is full); any other buffer too small gets Overflow and the message is lost.
//  - control_in/out answer ABORT, GET_CLOCK_FREQUENCIES and GET_DATA_RATES; anything else
//    (and the lists when they are empty) stalls.
//  - Blocking calls wait on a condition variable (one for the bulk pipe, one for the interrupt
//    pipe) until something is there, the timeout, or
//    cancel() (Cancelled; calls made after cancel() are not affected).
//
// Thread-safe: every method may be called from any thread (typically one thread on the bulk
// pipe, one on the interrupt pipe, and the test inserting and removing cards).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "ccid/message_commands.h"
#include "ccid/transport.h"
#include "common/bytes.h"
#include "sim/card/sim_card.h"
#include "sim/reader/reader_config.h"
#include "sim/reader/reader_faults.h"
#include "sim/reader/reader_slot.h"
#include "sim/reader/reader_stats.h"

namespace ccidkit::sim {

class ReaderSim final : public ccid::Transport {
public:
    explicit ReaderSim(ReaderSimConfig config = {});
    ~ReaderSim() override;
    ReaderSim(const ReaderSim&) = delete;
    ReaderSim& operator=(const ReaderSim&) = delete;

    // ---- ccid::Transport ----
    std::expected<void, ccid::TransportError> bulk_out(ByteView message, ccid::Millis timeout) override;
    std::expected<std::size_t, ccid::TransportError> bulk_in(std::span<std::uint8_t> buffer,
                                                             ccid::Millis timeout) override;
    std::expected<std::size_t, ccid::TransportError> interrupt_in(std::span<std::uint8_t> buffer,
                                                                  ccid::Millis timeout) override;
    std::expected<std::size_t, ccid::TransportError> control_in(const ccid::ControlSetup& setup,
                                                                std::span<std::uint8_t> buffer,
                                                                ccid::Millis timeout) override;
    std::expected<void, ccid::TransportError> control_out(const ccid::ControlSetup& setup, ByteView data,
                                                          ccid::Millis timeout) override;
    std::expected<void, ccid::TransportError> clear_halt() override;
    bool has_interrupt_in() const override { return config_.has_interrupt; }
    std::uint16_t bulk_in_max_packet() const override { return config_.max_packet_size; }
    std::uint8_t interface_number() const override { return config_.interface_number; }
    void cancel() override;

    // ---- Cards (any thread, any time; each change queues a NotifySlotChange) ----
    // Inserting into an occupied slot replaces the card (a removal, then an insertion).
    // Slots beyond bMaxSlotIndex are ignored (nullptr returned).
    std::shared_ptr<SimCard> insert_card(std::uint8_t slot, SimCard card);
    void insert_card(std::uint8_t slot, std::shared_ptr<SimCard> card);
    std::shared_ptr<SimCard> remove_card(std::uint8_t slot);
    std::shared_ptr<SimCard> card(std::uint8_t slot) const;
    bool card_present(std::uint8_t slot) const;
    std::size_t slot_count() const { return slots_.size(); }

    // ---- Faults (see reader_faults.h) ----
    void set_faults(const ReaderFaults& faults);
    ReaderFaults faults() const;
    // Queues RDR_to_PC_HardwareError (bSeq of the slot's last command) and deactivates the
    // card; the slot's command in progress ends with HW_ERROR.
    void inject_hardware_error(std::uint8_t slot, std::uint8_t code = 0x01);
    // Queues `count` NotifySlotChange messages (each: current state, every slot marked
    // changed), as a bouncing card contact would. At most 100000.
    void inject_slot_change_storm(std::size_t count);
    // The device is unplugged: every call from now on, and every blocked call, gets NoDevice.
    void disconnect();
    bool disconnected() const;

    // ---- Observation ----
    ReaderStats stats() const;
    void reset_stats();
    SlotSnapshot slot_state(std::uint8_t slot) const;
    void set_trace(TraceHook hook);
    const ReaderSimConfig& config() const { return config_; }
    // Replies waiting in the bulk-IN queue plus commands not yet answered.
    std::size_t pending() const;

private:
    struct Job {
        ccid::Command command;
        std::uint8_t type = 0;
        std::uint8_t slot = 0;
        std::uint8_t seq = 0;
        bool started = false;
        bool card_command = false;  // subject to time extensions
        bool needs_card = false;    // its result is void if the card leaves meanwhile
        bool endless = false;
        std::deque<std::uint8_t> extensions;
        std::optional<ccid::Response> final_reply;
        std::uint64_t epoch = 0;
    };
    struct InterruptItem {
        bool coalesced = false;  // built from the slot states when delivered
        Bytes message;
    };
    using Lock = std::unique_lock<std::mutex>;

    bool count_call();  // false: the device is gone
    void wake_all();    // every waiter re-checks (device gone, cancel, faults, cards)
    void accept_command(ByteView message);
    void queue_reply(Bytes reply);
    void queue_final(Bytes reply, std::uint8_t command_type);
    bool service_one();
    void start_job(Job& job);
    void finish_job_now(std::size_t index, std::uint8_t error);
    bool slot_busy(std::uint8_t slot) const;
    std::size_t busy_slots() const;
    void note_slot_change(std::uint8_t slot);
    Bytes notify_message(bool all_changed);

    const ReaderSimConfig config_;
    mutable std::mutex mutex_;
    // Bulk and interrupt waiters sleep apart: on a gadget every bulk message used to wake the
    // interrupt thread too, two needless context switches per APDU.
    std::condition_variable bulk_cv_;       // bulk_in (a reply) and bulk_out (queue space)
    std::condition_variable interrupt_cv_;  // interrupt_in

    std::vector<ReaderSlot> slots_;
    std::vector<std::uint64_t> epochs_;          // bumped at every insertion/removal
    std::vector<bool> changed_;                  // slot changes not yet notified
    std::vector<std::uint8_t> last_seq_;         // bSeq of the last command per slot
    std::vector<std::optional<std::uint8_t>> abort_requests_;  // ABORT class request bSeq per slot

    std::deque<Job> jobs_;
    std::deque<Bytes> replies_;
    std::size_t reply_offset_ = 0;  // bytes of replies_.front() already delivered
    std::deque<InterruptItem> interrupts_;

    ReaderFaults faults_;
    std::size_t calls_ = 0;
    bool gone_ = false;
    bool halted_ = false;
    std::uint64_t cancel_generation_ = 0;

    ReaderStats stats_;
    TraceHook trace_;
};

}  // namespace ccidkit::sim

#include "sim/reader/reader_sim.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "ccid/class_requests.h"
#include "ccid/message_framing.h"
#include "ccid/message_interrupts.h"
#include "ccid/slot_error.h"
#include "sim/reader/reader_replies.h"

namespace ccidkit::sim {

namespace code = ccid::slot_error_code;
using ccid::TransportError;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint8_t kOffsetSlot = 5;  // bSlot (CCID 6.2.6)
constexpr std::size_t kMaxStorm = 100000;
// Oversize faults never build more than this many extra bytes.
constexpr std::size_t kMaxOversize = std::size_t{1} << 20;

bool is_card_command(std::uint8_t type) {
    using ccid::MessageType;
    return type == static_cast<std::uint8_t>(MessageType::PcToRdrIccPowerOn) ||
           type == static_cast<std::uint8_t>(MessageType::PcToRdrXfrBlock) ||
           type == static_cast<std::uint8_t>(MessageType::PcToRdrSecure) ||
           type == static_cast<std::uint8_t>(MessageType::PcToRdrEscape);
}

bool needs_card(std::uint8_t type) {
    return is_card_command(type) && type != static_cast<std::uint8_t>(ccid::MessageType::PcToRdrEscape);
}

bool is_abort(const ccid::Command& c) { return std::holds_alternative<ccid::pc_to_rdr::Abort>(c); }

}  // namespace

ReaderSim::ReaderSim(ReaderSimConfig config) : config_(std::move(config)) {
    const std::size_t n = std::size_t{config_.descriptor.bMaxSlotIndex} + 1;
    slots_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) slots_.emplace_back(config_, static_cast<std::uint8_t>(i));
    epochs_.assign(n, 0);
    changed_.assign(n, false);
    last_seq_.assign(n, 0);
    abort_requests_.assign(n, std::nullopt);
}

ReaderSim::~ReaderSim() = default;

// ---------------------------------------------------------------------------------------------
// Bookkeeping

void ReaderSim::wake_all() {
    bulk_cv_.notify_all();
    interrupt_cv_.notify_all();
}

bool ReaderSim::count_call() {
    ++calls_;
    if (faults_.disappear_after_calls && calls_ > *faults_.disappear_after_calls && !gone_) {
        gone_ = true;
        wake_all();
    }
    return !gone_;
}

bool ReaderSim::slot_busy(std::uint8_t slot) const {
    return std::ranges::any_of(jobs_, [slot](const Job& j) { return j.slot == slot; });
}

std::size_t ReaderSim::busy_slots() const {
    std::vector<bool> busy(slots_.size(), false);
    for (const Job& j : jobs_) busy[j.slot] = true;
    return static_cast<std::size_t>(std::ranges::count(busy, true));
}

void ReaderSim::queue_reply(Bytes reply) {
    if (trace_) trace_(TraceEvent::BulkIn, reply);
    if (!reply.empty()) ++stats_.replied[reply[0]];
    replies_.push_back(std::move(reply));
    bulk_cv_.notify_all();
}

void ReaderSim::queue_final(Bytes reply, std::uint8_t command_type) {
    const bool applies = !faults_.only_for || static_cast<std::uint8_t>(*faults_.only_for) == command_type;
    if (!applies || reply.size() < ccid::kHeaderSize) {
        queue_reply(std::move(reply));
        return;
    }
    if (faults_.silent > 0) {
        --faults_.silent;
        ++stats_.faults_applied;
        return;
    }
    if (faults_.stale_seq > 0) {
        --faults_.stale_seq;
        ++stats_.faults_applied;
        Bytes stale = reply;
        stale[6] = static_cast<std::uint8_t>(stale[6] - 1);
        queue_reply(std::move(stale));
    }
    if (faults_.oversize > 0) {
        --faults_.oversize;
        ++stats_.faults_applied;
        const std::size_t limit = std::size_t{config_.descriptor.dwMaxCCIDMessageLength} + 1;
        std::size_t extra = faults_.oversize_bytes;
        if (extra == 0) extra = limit > reply.size() ? limit - reply.size() : 1;
        reply.resize(reply.size() + std::min(extra, kMaxOversize), 0xA5);
        store_le32(&reply[1], static_cast<std::uint32_t>(reply.size() - ccid::kHeaderSize));
    }
    if (faults_.truncated > 0) {
        --faults_.truncated;
        ++stats_.faults_applied;
        const std::uint64_t announced = std::uint64_t{load_le32(&reply[1])} + faults_.truncate_bytes;
        store_le32(&reply[1], static_cast<std::uint32_t>(std::min<std::uint64_t>(announced, 0xFFFFFFFFu)));
    }
    queue_reply(std::move(reply));
}

// ---------------------------------------------------------------------------------------------
// Commands

void ReaderSim::accept_command(ByteView message) {
    stats_.last_command.assign(message.begin(), message.end());
    stats_.last_decoded.reset();
    const auto header = ccid::decode_header(message);
    if (!header) {
        ++stats_.ignored;  // no bSlot/bSeq to answer with
        return;
    }
    ++stats_.received[header->bMessageType];
    const std::uint8_t type = header->bMessageType;
    const std::uint8_t slot = header->bSlot;
    const std::uint8_t seq = header->bSeq;
    const ccid::IccStatus icc = slot < slots_.size() ? slots_[slot].icc_status() : ccid::IccStatus::Absent;
    const auto reject = [&](std::uint8_t error) {
        queue_final(ccid::encode(failure_reply(type, slot, seq, icc, error)), type);
    };

    auto decoded = ccid::decode_command(message, config_.descriptor.dwMaxCCIDMessageLength);
    if (!decoded) {
        ++stats_.malformed;
        return reject(ccid::bad_parameter_offset(decoded.error()));
    }
    stats_.last_decoded = *decoded;
    if (slot >= slots_.size()) return reject(kOffsetSlot);
    last_seq_[slot] = seq;
    const bool abort = is_abort(*decoded);
    if (!abort && abort_requests_[slot]) {
        ++stats_.aborted;
        return reject(code::kCmdAborted);
    }
    const std::size_t limit = std::max<std::size_t>(1, config_.descriptor.bMaxCCIDBusySlots);
    if (!abort && (slot_busy(slot) || busy_slots() >= limit)) {
        ++stats_.busy;
        return reject(code::kCmdSlotBusy);
    }
    Job job;
    job.command = std::move(*decoded);
    job.type = type;
    job.slot = slot;
    job.seq = seq;
    job.card_command = is_card_command(type);
    job.needs_card = needs_card(type);
    jobs_.push_back(std::move(job));
}

void ReaderSim::start_job(Job& job) {
    job.started = true;
    job.epoch = epochs_[job.slot];
    if (job.card_command) {
        const std::uint8_t m = std::max<std::uint8_t>(1, config_.time_extension_multiplier);
        for (unsigned i = 0; i < config_.time_extensions; ++i) job.extensions.push_back(m);
        if (faults_.endless_time_extension) {
            job.endless = true;  // the command never reaches the card
            return;
        }
    }
    SlotOutcome outcome = slots_[job.slot].execute(job.command);
    for (const std::uint8_t w : outcome.card_time_extensions) job.extensions.push_back(std::max<std::uint8_t>(1, w));
    job.final_reply = std::move(outcome.reply);
    if (outcome.card_left) {
        ++epochs_[job.slot];
        note_slot_change(job.slot);
    }
}

void ReaderSim::finish_job_now(std::size_t index, std::uint8_t error) {
    const Job job = std::move(jobs_[index]);
    jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(index));
    queue_final(ccid::encode(failure_reply(job.type, job.slot, job.seq, slots_[job.slot].icc_status(), error)),
                job.type);
}

bool ReaderSim::service_one() {
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
        Job& job = jobs_[i];
        if (is_abort(job.command)) {
            // Both halves of the abort are needed (CCID 5.3.1): wait for the class request.
            auto& request = abort_requests_[job.slot];
            if (!request || *request != job.seq) continue;
            request.reset();
            SlotOutcome outcome = slots_[job.slot].execute(job.command);
            const std::uint8_t type = job.type;
            jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(i));
            queue_final(ccid::encode(outcome.reply), type);
            return true;
        }
        if (!job.started) start_job(job);
        const bool card_gone = job.needs_card && epochs_[job.slot] != job.epoch;
        if (!card_gone && (job.endless || !job.extensions.empty())) {
            std::uint8_t multiplier = std::max<std::uint8_t>(1, config_.time_extension_multiplier);
            if (!job.endless) {
                multiplier = job.extensions.front();
                job.extensions.pop_front();
            }
            ++stats_.time_extensions;
            queue_reply(ccid::encode(
                time_extension_reply(job.type, job.slot, job.seq, slots_[job.slot].icc_status(), multiplier)));
            // Round robin: other slots' commands go on while this one waits.
            Job moved = std::move(job);
            jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(i));
            jobs_.push_back(std::move(moved));
            return true;
        }
        const std::uint8_t type = job.type;
        const ccid::IccStatus icc = slots_[job.slot].icc_status();
        ccid::Response reply = card_gone ? failure_reply(type, job.slot, job.seq, icc, code::kIccMute)
                                         : std::move(*job.final_reply);
        jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(i));
        queue_final(ccid::encode(reply), type);
        return true;
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Transport

std::expected<void, TransportError> ReaderSim::bulk_out(ByteView message, ccid::Millis timeout) {
    Lock lock(mutex_);
    if (!count_call()) return std::unexpected(TransportError::NoDevice);
    if (trace_) trace_(TraceEvent::BulkOut, message);
    const auto deadline = Clock::now() + timeout;
    const std::uint64_t generation = cancel_generation_;
    // A reader with its queues full NAKs the OUT packets until the host gives up.
    while (replies_.size() + jobs_.size() >= std::max<std::size_t>(1, config_.max_queued_replies)) {
        if (gone_) return std::unexpected(TransportError::NoDevice);
        if (generation != cancel_generation_) return std::unexpected(TransportError::Cancelled);
        if (Clock::now() >= deadline) return std::unexpected(TransportError::Timeout);
        bulk_cv_.wait_until(lock, deadline);
    }
    accept_command(message);
    bulk_cv_.notify_all();
    return {};
}

std::expected<std::size_t, TransportError> ReaderSim::bulk_in(std::span<std::uint8_t> buffer, ccid::Millis timeout) {
    Lock lock(mutex_);
    if (!count_call()) return std::unexpected(TransportError::NoDevice);
    if (faults_.bulk_in_stalls > 0) {
        --faults_.bulk_in_stalls;
        ++stats_.faults_applied;
        halted_ = true;
    }
    if (halted_) {
        ++stats_.stalls;
        return std::unexpected(TransportError::Stall);
    }
    const auto deadline = Clock::now() + timeout;
    const std::uint64_t generation = cancel_generation_;
    for (;;) {
        if (gone_) return std::unexpected(TransportError::NoDevice);
        if (generation != cancel_generation_) return std::unexpected(TransportError::Cancelled);
        while (replies_.empty() && service_one()) {
        }
        if (!replies_.empty()) break;
        if (Clock::now() >= deadline) return std::unexpected(TransportError::Timeout);
        bulk_cv_.wait_until(lock, deadline);
    }

    const Bytes& message = replies_.front();
    if (reply_offset_ == 0) stats_.last_reply = message;
    const std::size_t remaining = message.size() - reply_offset_;
    const std::size_t packet = config_.max_packet_size;
    if (remaining <= buffer.size()) {
        std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(reply_offset_), remaining, buffer.begin());
        replies_.pop_front();
        reply_offset_ = 0;
        bulk_cv_.notify_all();
        return remaining;
    }
    if (packet != 0 && !buffer.empty() && buffer.size() % packet == 0) {
        // The transfer ends when the buffer is full; the rest of the message follows.
        std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(reply_offset_), buffer.size(), buffer.begin());
        reply_offset_ += buffer.size();
        return buffer.size();
    }
    // A packet did not fit: the host controller reports an overflow and the data are lost.
    replies_.pop_front();
    reply_offset_ = 0;
    bulk_cv_.notify_all();
    return std::unexpected(TransportError::Overflow);
}

Bytes ReaderSim::notify_message(bool all_changed) {
    ccid::rdr_to_pc::NotifySlotChange m;
    m.slots.resize(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        m.slots[i].present = slots_[i].card() != nullptr;
        m.slots[i].changed = all_changed || changed_[i];
    }
    if (!all_changed) std::fill(changed_.begin(), changed_.end(), false);
    return ccid::encode(m);
}

void ReaderSim::note_slot_change(std::uint8_t slot) {
    if (!config_.has_interrupt) return;
    changed_[slot] = true;
    const bool pending = std::ranges::any_of(interrupts_, [](const InterruptItem& i) { return i.coalesced; });
    if (!pending) interrupts_.push_back(InterruptItem{true, {}});
    interrupt_cv_.notify_all();
}

std::expected<std::size_t, TransportError> ReaderSim::interrupt_in(std::span<std::uint8_t> buffer,
                                                                   ccid::Millis timeout) {
    Lock lock(mutex_);
    if (!count_call()) return std::unexpected(TransportError::NoDevice);
    if (!config_.has_interrupt) return std::unexpected(TransportError::NotSupported);
    const auto deadline = Clock::now() + timeout;
    const std::uint64_t generation = cancel_generation_;
    for (;;) {
        if (gone_) return std::unexpected(TransportError::NoDevice);
        if (generation != cancel_generation_) return std::unexpected(TransportError::Cancelled);
        if (!interrupts_.empty()) break;
        if (Clock::now() >= deadline) return std::unexpected(TransportError::Timeout);
        interrupt_cv_.wait_until(lock, deadline);
    }
    InterruptItem item = std::move(interrupts_.front());
    interrupts_.pop_front();
    const Bytes message = item.coalesced ? notify_message(false) : std::move(item.message);
    if (trace_) trace_(TraceEvent::InterruptIn, message);
    if (!message.empty()) ++stats_.interrupts[message[0]];
    if (message.size() > buffer.size()) return std::unexpected(TransportError::Overflow);
    std::ranges::copy(message, buffer.begin());
    return message.size();
}

std::expected<std::size_t, TransportError> ReaderSim::control_in(const ccid::ControlSetup& setup,
                                                                 std::span<std::uint8_t> buffer, ccid::Millis) {
    Lock lock(mutex_);
    if (!count_call()) return std::unexpected(TransportError::NoDevice);
    ++stats_.control_requests;
    const auto call = ccid::parse_class_request(setup, config_.interface_number);
    if (!call) return std::unexpected(TransportError::Stall);
    const std::vector<std::uint32_t>* list = nullptr;
    if (call->request == ccid::ClassRequest::GetClockFrequencies) list = &config_.clocks_khz;
    if (call->request == ccid::ClassRequest::GetDataRates) list = &config_.data_rates_bps;
    if (list == nullptr || list->empty()) return std::unexpected(TransportError::Stall);
    const Bytes reply = ccid::encode_dword_array(*list);
    // A control transfer returns at most wLength bytes (the buffer).
    const std::size_t n = std::min(reply.size(), buffer.size());
    std::copy_n(reply.begin(), n, buffer.begin());
    if (trace_) trace_(TraceEvent::ControlIn, ByteView(reply).first(n));
    return n;
}

std::expected<void, TransportError> ReaderSim::control_out(const ccid::ControlSetup& setup, ByteView data,
                                                           ccid::Millis) {
    Lock lock(mutex_);
    if (!count_call()) return std::unexpected(TransportError::NoDevice);
    ++stats_.control_requests;
    if (trace_) trace_(TraceEvent::ControlOut, data);
    const auto call = ccid::parse_class_request(setup, config_.interface_number);
    if (!call || call->request != ccid::ClassRequest::Abort || call->slot >= slots_.size() || !data.empty()) {
        return std::unexpected(TransportError::Stall);
    }
    abort_requests_[call->slot] = call->seq;
    // The command in progress on the slot ends now with CMD_ABORTED.
    for (std::size_t i = 0; i < jobs_.size();) {
        if (jobs_[i].slot == call->slot && !is_abort(jobs_[i].command)) {
            ++stats_.aborted;
            finish_job_now(i, code::kCmdAborted);
        } else {
            ++i;
        }
    }
    wake_all();
    return {};
}

std::expected<void, TransportError> ReaderSim::clear_halt() {
    Lock lock(mutex_);
    if (!count_call()) return std::unexpected(TransportError::NoDevice);
    halted_ = false;
    return {};
}

void ReaderSim::cancel() {
    Lock lock(mutex_);
    ++cancel_generation_;
    wake_all();
}

// ---------------------------------------------------------------------------------------------
// Cards, faults, observation

void ReaderSim::insert_card(std::uint8_t slot, std::shared_ptr<SimCard> card) {
    Lock lock(mutex_);
    if (slot >= slots_.size()) return;
    slots_[slot].insert(std::move(card));
    ++epochs_[slot];
    note_slot_change(slot);
}

std::shared_ptr<SimCard> ReaderSim::insert_card(std::uint8_t slot, SimCard card) {
    if (slot >= slots_.size()) return nullptr;
    auto shared = std::make_shared<SimCard>(std::move(card));
    insert_card(slot, shared);
    return shared;
}

std::shared_ptr<SimCard> ReaderSim::remove_card(std::uint8_t slot) {
    Lock lock(mutex_);
    if (slot >= slots_.size()) return nullptr;
    std::shared_ptr<SimCard> card = slots_[slot].remove();
    if (card) {
        ++epochs_[slot];
        note_slot_change(slot);
    }
    wake_all();
    return card;
}

std::shared_ptr<SimCard> ReaderSim::card(std::uint8_t slot) const {
    Lock lock(mutex_);
    return slot < slots_.size() ? slots_[slot].card() : nullptr;
}

bool ReaderSim::card_present(std::uint8_t slot) const { return card(slot) != nullptr; }

void ReaderSim::set_faults(const ReaderFaults& faults) {
    Lock lock(mutex_);
    faults_ = faults;
    calls_ = 0;
    wake_all();
}

ReaderFaults ReaderSim::faults() const {
    Lock lock(mutex_);
    return faults_;
}

void ReaderSim::inject_hardware_error(std::uint8_t slot, std::uint8_t code) {
    Lock lock(mutex_);
    if (slot >= slots_.size()) return;
    if (config_.has_interrupt) {
        interrupts_.push_back(
            InterruptItem{false, ccid::encode(ccid::rdr_to_pc::HardwareError{slot, last_seq_[slot], code})});
    }
    slots_[slot].deactivate();
    for (std::size_t i = 0; i < jobs_.size();) {
        if (jobs_[i].slot == slot && !is_abort(jobs_[i].command)) {
            finish_job_now(i, code::kHwError);
        } else {
            ++i;
        }
    }
    wake_all();
}

void ReaderSim::inject_slot_change_storm(std::size_t count) {
    Lock lock(mutex_);
    if (!config_.has_interrupt) return;
    for (std::size_t i = 0; i < std::min(count, kMaxStorm); ++i) {
        interrupts_.push_back(InterruptItem{false, notify_message(true)});
    }
    wake_all();
}

void ReaderSim::disconnect() {
    Lock lock(mutex_);
    gone_ = true;
    wake_all();
}

bool ReaderSim::disconnected() const {
    Lock lock(mutex_);
    return gone_;
}

ReaderStats ReaderSim::stats() const {
    Lock lock(mutex_);
    return stats_;
}

void ReaderSim::reset_stats() {
    Lock lock(mutex_);
    stats_ = {};
}

SlotSnapshot ReaderSim::slot_state(std::uint8_t slot) const {
    Lock lock(mutex_);
    if (slot >= slots_.size()) return {};
    SlotSnapshot s = slots_[slot].snapshot();
    s.busy = slot_busy(slot);
    return s;
}

void ReaderSim::set_trace(TraceHook hook) {
    Lock lock(mutex_);
    trace_ = std::move(hook);
}

std::size_t ReaderSim::pending() const {
    Lock lock(mutex_);
    return replies_.size() + jobs_.size();
}

}  // namespace ccidkit::sim

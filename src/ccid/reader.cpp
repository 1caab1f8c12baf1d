#include "ccid/reader.h"

#include <algorithm>
#include <array>
#include <chrono>

#include <fmt/format.h>

#include "ccid/class_requests.h"
#include "ccid/logging.h"
#include "ccid/message_interrupts.h"
#include "ccid/message_trace.h"
#include "ccid/presence_probe.h"

namespace ccidkit::ccid {

namespace {

using Clock = std::chrono::steady_clock;

// A NotifySlotChange holds 2 bits per slot after its type byte; 256 slots fit in 65 bytes.
constexpr std::size_t kInterruptBufferSize = 128;

Millis scaled(Millis t, unsigned factor) { return stretched(t, std::max(1u, factor)); }

ExchangeLimits exchange_limits(const ReaderOptions& options) {
    ExchangeLimits limits = options.exchange;
    if (options.quirks.no_bulk_in_read_ahead) limits.read_ahead = false;
    return limits;
}

}  // namespace

std::expected<std::unique_ptr<Reader>, ReaderError> Reader::open(std::unique_ptr<Transport> transport,
                                                                 const CcidDescriptor& descriptor,
                                                                 ReaderOptions options) {
    if (!transport) return std::unexpected(make_error(ReaderErrc::InvalidArgument, "no transport"));
    if (options.quirks.min_firmware && options.bcd_device && *options.bcd_device < *options.quirks.min_firmware)
        return std::unexpected(make_error(
            ReaderErrc::FirmwareRefused,
            fmt::format("firmware {:04X} is below {:04X}; override the quirk (min_firmware=default) to use it anyway",
                        *options.bcd_device, *options.quirks.min_firmware)));
    ReaderCaps caps = make_reader_caps(descriptor, options.quirks);
    std::unique_ptr<Reader> reader(new Reader(std::move(transport), std::move(caps), std::move(options)));
    if (auto ok = reader->initialise(); !ok) return std::unexpected(ok.error());
    return reader;
}

Reader::Reader(std::unique_ptr<Transport> transport, ReaderCaps caps, ReaderOptions options)
    : transport_(std::move(transport)),
      caps_(std::move(caps)),
      options_(std::move(options)),
      exchange_(*transport_, caps_.max_message_length, exchange_limits(options_)) {
    use_interrupt_ = transport_->has_interrupt_in() && !options_.quirks.ignore_interrupt_endpoint &&
                     !options_.quirks.poll_slot_status;
    present_.assign(caps_.slot_count, false);
    session_seqs_.assign(caps_.slot_count, {});
    for (unsigned i = 0; i < caps_.slot_count; ++i)
        slots_.push_back(std::unique_ptr<Slot>(new Slot(*this, static_cast<std::uint8_t>(i))));
}

Reader::~Reader() = default;

std::expected<void, ReaderError> Reader::initialise() {
    const unsigned factor = std::max(1u, options_.quirks.open_timeout_factor);
    const Millis drain_read = scaled(options_.drain_read_timeout, factor);
    const Millis control = scaled(options_.control_timeout, factor);
    auto log = logger();
    log->debug("ccid: opening reader: {} slot(s), level {}, dwFeatures {:08X}, dwMaxCCIDMessageLength {}",
               caps_.slot_count, to_string(caps_.level), caps_.descriptor.dwFeatures, caps_.max_message_length);

    // Leftovers of a previous user (a crashed process, a timed-out command) would otherwise be
    // taken for answers to our first commands.
    if (transport_->has_interrupt_in() && !options_.quirks.ignore_interrupt_endpoint) drain_interrupts(drain_read);
    {
        std::lock_guard lock(wire_mutex_);
        const std::size_t dropped = exchange_.drain_bulk_in(drain_read, options_.max_drained_messages);
        if (dropped > 0) log->debug("ccid: dropped {} stale bulk-IN message(s) at open", dropped);
        if (options_.quirks.abort_on_open) {
            for (unsigned s = 0; s < caps_.slot_count; ++s) {
                auto aborted = exchange_.abort(static_cast<std::uint8_t>(s), control);
                if (!aborted) {
                    note_error(aborted.error());
                    if (aborted.error().code == ReaderErrc::ReaderGone) return std::unexpected(aborted.error());
                    log->warn("ccid: ABORT of slot {} at open failed: {}", s, describe(aborted.error()));
                }
            }
        }
    }

    // GetSlotStatus on every slot: resynchronises the reader (libccid sends it twice for the
    // data toggle) and gives the initial presence. One retry after a timeout.
    for (unsigned s = 0; s < caps_.slot_count; ++s) {
        std::expected<Response, ReaderError> reply = std::unexpected(make_error(ReaderErrc::Timeout));
        for (int attempt = 0; attempt < 2; ++attempt) {
            reply = command(pc_to_rdr::GetSlotStatus{static_cast<std::uint8_t>(s), 0}, control);
            if (reply || reply.error().code != ReaderErrc::Timeout) break;
        }
        if (!reply) return std::unexpected(reply.error());
        const bool present = status_of(*reply).icc() != IccStatus::Absent;
        std::lock_guard lock(presence_mutex_);
        present_[s] = present;
    }
    read_rate_lists(control);
    return {};
}

void Reader::drain_interrupts(Millis per_read) {
    std::array<std::uint8_t, kInterruptBufferSize> buffer{};
    for (std::size_t i = 0; i < options_.max_drained_messages; ++i) {
        auto got = transport_->interrupt_in(buffer, per_read);
        if (!got) break;
        logger()->trace("<- (interrupt, drained) {}", trace_message(ByteView{buffer.data(), *got}));
    }
}

void Reader::read_rate_lists(Millis timeout) {
    const auto& d = caps_.descriptor;
    auto fetch = [&](const ControlSetup& setup, std::uint8_t count,
                     std::string_view what) -> std::vector<std::uint32_t> {
        if (count == 0) return {};
        Bytes buffer(dword_array_reply_size(count));
        auto got = transport_->control_in(setup, buffer, timeout);
        if (!got) {
            note_error(from_transport(got.error(), what));
            logger()->warn("ccid: {} failed: {}", what, to_string(got.error()));
            return {};
        }
        const ByteView reply{buffer.data(), std::min(*got, buffer.size())};
        if (auto values = decode_dword_array(reply, count)) return *values;
        logger()->warn("ccid: {}: short reply ({} bytes for {} values); using what arrived", what, reply.size(),
                       count);
        return whole_dwords(reply, count);
    };
    const std::uint8_t iface = transport_->interface_number();
    caps_.clocks_khz = fetch(get_clock_frequencies_request(iface), d.bNumClockSupported, "GET_CLOCK_FREQUENCIES");
    caps_.data_rates = filter_data_rates(
        fetch(get_data_rates_request(iface), d.bNumDataRatesSupported, "GET_DATA_RATES"),
        options_.quirks.max_data_rate.value_or(0));
}

Slot* Reader::slot(unsigned index) { return index < slots_.size() ? slots_[index].get() : nullptr; }

bool Reader::card_present(unsigned slot) const {
    std::lock_guard lock(presence_mutex_);
    return slot < present_.size() && present_[slot];
}

ExchangeStats Reader::exchange_stats() const {
    std::lock_guard lock(wire_mutex_);
    return exchange_.stats();
}

void Reader::note_error(const ReaderError& e) {
    if (e.code == ReaderErrc::ReaderGone && !gone_.exchange(true))
        logger()->info("ccid: reader gone ({})", e.detail);
}

std::expected<Response, ReaderError> Reader::command(Command command, Millis timeout) {
    if (gone_) return std::unexpected(make_error(ReaderErrc::ReaderGone, "the device was disconnected earlier"));
    std::lock_guard lock(wire_mutex_);
    const std::uint8_t slot = slot_of(command);
    const bool power_on = message_type(command) == MessageType::PcToRdrIccPowerOn;
    const std::uint8_t first_seq = exchange_.next_seq();
    auto reply = exchange_.transact(std::move(command), timeout);
    note_session_seqs(slot, first_seq, exchange_.next_seq(), power_on);
    // An unplug fails the transfer in flight with a plain I/O error (presence_probe.h).
    if (!reply && reply.error().code == ReaderErrc::TransportFailed && device_vanished(*transport_))
        reply = std::unexpected(make_error(ReaderErrc::ReaderGone, reply.error().detail + ", then the device vanished"));
    if (!reply) note_error(reply.error());
    return reply;
}

void Reader::note_session_seqs(std::uint8_t slot, std::uint8_t first, std::uint8_t end, bool power_on) {
    std::lock_guard lock(seqs_mutex_);
    if (slot >= session_seqs_.size()) return;
    if (power_on) session_seqs_[slot].reset();
    // The command, its CMD_SLOT_BUSY retry and its ABORT each took one (uint8_t wraps, as bSeq).
    for (std::uint8_t s = first; s != end; ++s) session_seqs_[slot].set(s);
}

bool Reader::seq_in_session(std::uint8_t slot, std::uint8_t seq) const {
    std::lock_guard lock(seqs_mutex_);
    return slot < session_seqs_.size() && session_seqs_[slot].test(seq);
}

std::expected<Response, ReaderError> Reader::command_ok(Command command, Millis timeout) {
    const MessageType type = message_type(command);
    auto reply = this->command(std::move(command), timeout);
    if (!reply) return reply;
    const Status status = status_of(*reply);
    if (status.command() == CommandStatus::Failed) return std::unexpected(from_failed_status(status, type));
    return reply;
}

std::expected<Bytes, ReaderError> Reader::escape(ByteView data) { return slots_.front()->escape(data); }

void Reader::wake_events() {
    {
        std::lock_guard lock(wake_mutex_);
        wake_requested_ = true;
    }
    wake_cv_.notify_all();
}

std::optional<SlotEvent> Reader::observe(std::uint8_t slot, bool present, bool changed) {
    if (slot >= slots_.size()) return std::nullopt;
    bool was = false;
    {
        std::lock_guard lock(presence_mutex_);
        was = present_[slot];
        present_[slot] = present;
    }
    // A removal, or a change reported while the card was and still is present (removed and
    // reinserted between two notifications): either way the powered card is gone.
    if (was && !present) slots_[slot]->invalidate(ReaderErrc::CardRemoved);
    if (was && present && changed) slots_[slot]->invalidate(ReaderErrc::CardChanged);
    if (was == present && !changed) return std::nullopt;
    return SlotEvent{slot, present, changed || was != present};
}

std::expected<ReaderEvents, ReaderError> Reader::poll_events(Millis timeout) {
    if (gone_) return std::unexpected(make_error(ReaderErrc::ReaderGone, "the device was disconnected earlier"));
    std::lock_guard lock(events_mutex_);
    auto events = use_interrupt_ ? poll_interrupt(timeout) : poll_status(timeout);
    if (!events) note_error(events.error());
    return events;
}

std::expected<ReaderEvents, ReaderError> Reader::poll_interrupt(Millis timeout) {
    ReaderEvents events;
    events.source = EventSource::Interrupt;
    std::array<std::uint8_t, kInterruptBufferSize> buffer{};
    auto got = transport_->interrupt_in(buffer, timeout);
    if (!got) {
        if (got.error() == TransportError::Timeout) return events;
        if (got.error() == TransportError::Stall) (void)transport_->clear_halt();
        return std::unexpected(from_transport(got.error(), "reading the interrupt pipe"));
    }
    const ByteView message{buffer.data(), std::min(*got, buffer.size())};
    logger()->trace("<- (interrupt) {}", trace_message(message));
    auto decoded = decode_interrupt(message);
    if (!decoded) {
        logger()->debug("ccid: ignored interrupt message: {}", to_string(decoded.error()));
        return events;
    }
    if (const auto* notify = std::get_if<rdr_to_pc::NotifySlotChange>(&*decoded)) {
        const std::size_t n = std::min<std::size_t>(notify->slots.size(), slots_.size());
        for (std::size_t s = 0; s < n; ++s) {
            if (auto e = observe(static_cast<std::uint8_t>(s), notify->slots[s].present, notify->slots[s].changed))
                events.slots.push_back(*e);
        }
    } else if (const auto* hw = std::get_if<rdr_to_pc::HardwareError>(&*decoded)) {
        // 6.3.2: the reader deactivated the card (e.g. overcurrent). bSeq is the command that
        // was running; one sent before the slot's last power-on means the notification was
        // read after a new session began, which it must not end.
        const bool stale = !seq_in_session(hw->bSlot, hw->bSeq);
        events.hardware_faults.push_back(HardwareFault{hw->bSlot, hw->bSeq, hw->bHardwareErrorCode, stale});
        if (stale) {
            logger()->info("ccid: hardware error {:02X}h on slot {} about bSeq {}, from before the slot's last "
                           "power-on: the current session is kept",
                           hw->bHardwareErrorCode, hw->bSlot, hw->bSeq);
        } else {
            if (hw->bSlot < slots_.size()) slots_[hw->bSlot]->invalidate(ReaderErrc::HardwareError);
            logger()->warn("ccid: hardware error {:02X}h on slot {}", hw->bHardwareErrorCode, hw->bSlot);
        }
    }
    return events;
}

std::expected<ReaderEvents, ReaderError> Reader::poll_status(Millis timeout) {
    ReaderEvents events;
    events.source = EventSource::Polling;
    const auto deadline = Clock::now() + timeout;
    const bool also_interrupt = transport_->has_interrupt_in() && !options_.quirks.ignore_interrupt_endpoint;
    for (bool first = true;; first = false) {
        if (!first) {
            const auto now = Clock::now();
            if (now >= deadline) return events;
            const auto wait = std::min<Clock::duration>(options_.poll_interval, deadline - now);
            if (also_interrupt) {
                // Quirks::poll_slot_status: the interrupt pipe still paces the polling and may
                // carry a HardwareError, but presence comes from GetSlotStatus.
                auto interrupt = poll_interrupt(std::chrono::duration_cast<Millis>(wait));
                if (!interrupt) return std::unexpected(interrupt.error());
                for (auto& e : interrupt->slots) events.slots.push_back(e);
                for (auto& f : interrupt->hardware_faults) events.hardware_faults.push_back(f);
            } else {
                std::unique_lock lock(wake_mutex_);
                wake_cv_.wait_for(lock, wait, [this] { return wake_requested_; });
            }
            {
                std::lock_guard lock(wake_mutex_);
                if (wake_requested_) {
                    wake_requested_ = false;
                    return events;
                }
            }
        }
        for (unsigned s = 0; s < slots_.size(); ++s) {
            auto reply = command(pc_to_rdr::GetSlotStatus{static_cast<std::uint8_t>(s), 0}, options_.control_timeout);
            if (!reply) return std::unexpected(reply.error());
            const bool present = status_of(*reply).icc() != IccStatus::Absent;
            if (auto e = observe(static_cast<std::uint8_t>(s), present, false)) events.slots.push_back(*e);
        }
        if (!events.empty()) return events;
    }
}

}  // namespace ccidkit::ccid

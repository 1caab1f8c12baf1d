#include "ccid/usb/libusb_transport_impl.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <utility>

#include "ccid/logging.h"
#include "ccid/usb/usb_error.h"
#include "ccid/usb/usb_packet_rules.h"

namespace ccidkit::ccid::usb {

namespace {

struct TransferDeleter {
    void operator()(libusb_transfer* t) const { libusb_free_transfer(t); }
};
using TransferPtr = std::unique_ptr<libusb_transfer, TransferDeleter>;

// libusb enforces each transfer's timeout itself; this extra margin only matters if that ever
// failed, in which case the waiter cancels the transfer and reports Timeout.
constexpr std::chrono::seconds kCompletionGrace{2};

// Largest wLength of a control transfer (USB 2.0 clause 9.3.5).
constexpr std::size_t kMaxControlData = 0xFFFF;

std::uint8_t interface_request_type(std::uint8_t requested, std::uint8_t direction) {
    return static_cast<std::uint8_t>((requested & 0x60) | direction | LIBUSB_RECIPIENT_INTERFACE);
}

}  // namespace

// The bulk-IN transfer queued by prepare_bulk_in(), reused from command to command. `state` is
// under mutex_; the rest belongs to whoever moved it out of Idle.
struct LibusbTransport::ReadAhead {
    enum class State { Idle, Queued, Collecting };
    TransferPtr transfer;
    std::vector<std::uint8_t> buffer;
    TransferWait wait;
    State state = State::Idle;
    std::uint64_t generation = 0;  // cancel_generation_ when it was queued
};

// Admits one call: refuses it once the transport is closing or the device is gone, and counts
// it so that close() can wait until it has returned.
class LibusbTransport::CallScope {
public:
    explicit CallScope(LibusbTransport& t) : t_(t) {
        std::lock_guard lock(t_.mutex_);
        if (t_.closing_ || t_.handle_ == nullptr || t_.gone_.load()) return;
        if (!t_.claimed_.load()) {
            refusal_ = TransportError::Busy;
            return;
        }
        ++t_.active_calls_;
        generation_ = t_.cancel_generation_;
        admitted_ = true;
    }
    ~CallScope() {
        if (!admitted_) return;
        std::lock_guard lock(t_.mutex_);
        if (--t_.active_calls_ == 0) t_.idle_.notify_all();
    }
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

    bool admitted() const { return admitted_; }
    // Why a call was not admitted.
    TransportError refusal() const { return refusal_; }
    std::uint64_t generation() const { return generation_; }

private:
    LibusbTransport& t_;
    std::uint64_t generation_ = 0;
    bool admitted_ = false;
    TransportError refusal_ = TransportError::NoDevice;
};

LibusbTransport::LibusbTransport(std::unique_ptr<LibusbContext> context, libusb_device_handle* handle,
                                 UsbReaderCandidate reader, TransportOptions options, bool claimed)
    : context_(std::move(context)),
      events_(context_ ? context_->get() : nullptr),
      handle_(handle),
      reader_(std::move(reader)),
      options_(options) {
    claimed_ = claimed;
}

LibusbTransport::~LibusbTransport() { close(); }

void LibusbTransport::note_error(TransportError e) {
    if (e == TransportError::NoDevice && !gone_.exchange(true)) {
        ccid::logger()->debug("usb: reader {} is gone", location_name(reader_));
    }
}

void LibusbTransport::wait_until_completed(TransferWait& wait, EventLoopShare::Priority priority) {
    while (!events_.wait(wait, priority, EventLoopShare::Clock::now() + kCompletionGrace)) {
    }
}

std::expected<std::size_t, TransportError> LibusbTransport::run(libusb_transfer* transfer, std::uint64_t generation,
                                                                Millis timeout, EventLoopShare::Priority priority) {
    TransferWait wait;
    transfer->callback = on_transfer_done;
    transfer->user_data = &wait;
    {
        std::lock_guard lock(mutex_);
        if (gone_.load()) return std::unexpected(TransportError::NoDevice);
        if (generation != cancel_generation_) return std::unexpected(TransportError::Cancelled);
        const int r = libusb_submit_transfer(transfer);
        if (r != LIBUSB_SUCCESS) {
            ccid::logger()->trace("usb: submit to endpoint {:#04x} failed: {}", transfer->endpoint, libusb_error_name(r));
            const TransportError e = from_libusb_error(r);
            note_error(e);
            return std::unexpected(e);
        }
        in_flight_.push_back({transfer, &wait});
    }

    // libusb ends the transfer at its own timeout; the grace only matters if that ever failed.
    const auto deadline = std::chrono::steady_clock::now() + Millis(to_libusb_timeout(timeout)) + kCompletionGrace;
    bool forced_cancel = false;
    if (!events_.wait(wait, priority, deadline)) {
        forced_cancel = true;
        libusb_cancel_transfer(transfer);
        wait.poke();
        wait_until_completed(wait, priority);
    }
    {
        std::lock_guard lock(mutex_);
        std::erase_if(in_flight_, [&](const InFlight& f) { return f.transfer == transfer; });
    }

    auto error = from_transfer_status(transfer->status);
    if (!error) return static_cast<std::size_t>(std::max(transfer->actual_length, 0));
    if (*error == TransportError::Cancelled && forced_cancel) error = TransportError::Timeout;
    ccid::logger()->trace("usb: transfer on endpoint {:#04x} ended: {}", transfer->endpoint, to_string(*error));
    note_error(*error);
    return std::unexpected(*error);
}

std::expected<std::size_t, TransportError> LibusbTransport::receive(const UsbEndpoint& endpoint, unsigned char type,
                                                                    std::span<std::uint8_t> buffer,
                                                                    std::uint64_t generation, Millis timeout) {
    const InPlan plan = plan_in_transfer(buffer.size(), endpoint.max_packet_size);
    std::vector<std::uint8_t> scratch;
    std::uint8_t* target = buffer.data();
    if (plan.internal_buffer) {
        scratch.resize(plan.request_length);
        target = scratch.data();
    }
    TransferPtr transfer(libusb_alloc_transfer(0));
    if (!transfer) return std::unexpected(TransportError::Io);
    libusb_fill_bulk_transfer(transfer.get(), handle_, endpoint.address, target, static_cast<int>(plan.request_length),
                              nullptr, nullptr, to_libusb_timeout(timeout));
    transfer->type = type;  // bulk or interrupt: the fill functions differ only in this field

    // Card events (interrupt pipe) wait in the background; replies (bulk) in the foreground.
    const auto priority = type == LIBUSB_TRANSFER_TYPE_INTERRUPT ? EventLoopShare::Priority::Background
                                                                 : EventLoopShare::Priority::Foreground;
    auto received = run(transfer.get(), generation, timeout, priority);
    if (!received) return received;
    if (*received > buffer.size()) {
        ccid::logger()->debug("usb: endpoint {:#04x} sent {} bytes for a {}-byte buffer", endpoint.address, *received,
                      buffer.size());
        return std::unexpected(TransportError::Overflow);
    }
    if (plan.internal_buffer && *received != 0) std::memcpy(buffer.data(), scratch.data(), *received);
    return received;
}

std::expected<std::size_t, TransportError> LibusbTransport::send(const UsbEndpoint& endpoint, const std::uint8_t* data,
                                                                 std::size_t length, std::uint64_t generation,
                                                                 Millis timeout) {
    static std::uint8_t no_data = 0;  // a valid pointer for zero-length packets; never written
    TransferPtr transfer(libusb_alloc_transfer(0));
    if (!transfer) return std::unexpected(TransportError::Io);
    // libusb's buffer pointer is not const, but an OUT transfer only reads it.
    auto* bytes = length == 0 ? &no_data : const_cast<std::uint8_t*>(data);
    libusb_fill_bulk_transfer(transfer.get(), handle_, endpoint.address, bytes, static_cast<int>(length), nullptr,
                              nullptr, to_libusb_timeout(timeout));
    return run(transfer.get(), generation, timeout, EventLoopShare::Priority::Foreground);
}

std::expected<void, TransportError> LibusbTransport::bulk_out(ByteView message, Millis timeout) {
    CallScope call(*this);
    if (!call.admitted()) return std::unexpected(call.refusal());
    if (!reader_.bulk_out) return std::unexpected(TransportError::NotSupported);
    if (message.size() > kMaxTransferBytes) return std::unexpected(TransportError::NotSupported);
    const UsbEndpoint& ep = *reader_.bulk_out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;

    auto sent = send(ep, message.data(), message.size(), call.generation(), timeout);
    if (!sent) return std::unexpected(sent.error());
    if (*sent != message.size()) return std::unexpected(TransportError::Io);

    if (options_.zero_length_packets && needs_zero_length_packet(message.size(), ep.max_packet_size)) {
        const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
        auto zlp = send(ep, nullptr, 0, call.generation(), std::max(left, Millis(1)));
        if (!zlp) return std::unexpected(zlp.error());
    }
    return {};
}

std::expected<std::size_t, TransportError> LibusbTransport::bulk_in(std::span<std::uint8_t> buffer, Millis timeout) {
    CallScope call(*this);
    if (!call.admitted()) return std::unexpected(call.refusal());
    if (!reader_.bulk_in) return std::unexpected(TransportError::NotSupported);
    if (auto collected = collect_read_ahead(buffer, call.generation(), timeout)) return *collected;
    return receive(*reader_.bulk_in, LIBUSB_TRANSFER_TYPE_BULK, buffer, call.generation(), timeout);
}

void LibusbTransport::prepare_bulk_in(std::size_t length) {
    CallScope call(*this);
    if (!call.admitted() || !reader_.bulk_in || length == 0 || length > kMaxTransferBytes) return;
    std::lock_guard lock(mutex_);
    if (gone_.load() || call.generation() != cancel_generation_) return;
    if (!read_ahead_) {
        auto fresh = std::make_unique<ReadAhead>();
        fresh->transfer.reset(libusb_alloc_transfer(0));
        if (!fresh->transfer) return;
        read_ahead_ = std::move(fresh);
    }
    ReadAhead& ra = *read_ahead_;
    if (ra.state != ReadAhead::State::Idle) return;  // the one queued takes the next reply
    const InPlan plan = plan_in_transfer(length, reader_.bulk_in->max_packet_size);
    ra.buffer.resize(plan.request_length);
    {
        // Taking the lock waits until the previous use's callback has let go of it.
        std::lock_guard wait_lock(ra.wait.mutex);
        ra.wait.completed = 0;
        ra.wait.poked = false;
    }
    // No libusb timeout: the bulk_in() that collects it applies its own deadline (and libusb
    // has no timer to arm).
    libusb_fill_bulk_transfer(ra.transfer.get(), handle_, reader_.bulk_in->address, ra.buffer.data(),
                              static_cast<int>(plan.request_length), on_transfer_done, &ra.wait, 0);
    if (const int r = libusb_submit_transfer(ra.transfer.get()); r != LIBUSB_SUCCESS) {
        // The next bulk_in() reads as usual and meets the same error if it lasts.
        ccid::logger()->trace("usb: read-ahead on endpoint {:#04x} not queued: {}", reader_.bulk_in->address,
                      libusb_error_name(r));
        note_error(from_libusb_error(r));
        return;
    }
    ra.state = ReadAhead::State::Queued;
    ra.generation = call.generation();
    in_flight_.push_back({ra.transfer.get(), &ra.wait});
}

std::optional<std::expected<std::size_t, TransportError>> LibusbTransport::collect_read_ahead(
    std::span<std::uint8_t> buffer, std::uint64_t generation, Millis timeout) {
    ReadAhead* ra = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (!read_ahead_ || read_ahead_->state != ReadAhead::State::Queued) return std::nullopt;
        ra = read_ahead_.get();
        ra->state = ReadAhead::State::Collecting;
    }
    using Clock = EventLoopShare::Clock;
    constexpr auto kForeground = EventLoopShare::Priority::Foreground;
    // A cancel() since it was queued has cancelled it already; otherwise wait for the reply.
    const bool cancelled_before = ra->generation != generation;
    bool timed_out = false;
    if (!cancelled_before && !events_.wait(ra->wait, kForeground, Clock::now() + std::max(timeout, Millis(1)))) {
        timed_out = true;
        libusb_cancel_transfer(ra->transfer.get());
    }
    wait_until_completed(ra->wait, kForeground);

    std::optional<std::expected<std::size_t, TransportError>> result;
    const std::size_t got = static_cast<std::size_t>(std::max(ra->transfer->actual_length, 0));
    if (ra->transfer->status == LIBUSB_TRANSFER_COMPLETED) {
        // A reply that arrived before a cancel or a timeout is kept: it is the device's answer.
        if (got > buffer.size()) {
            ccid::logger()->debug("usb: endpoint {:#04x} sent {} bytes for a {}-byte buffer", ra->transfer->endpoint, got,
                          buffer.size());
            result = std::unexpected(TransportError::Overflow);
        } else {
            if (got != 0) std::memcpy(buffer.data(), ra->buffer.data(), got);
            result = got;
        }
    } else {
        TransportError e = from_transfer_status(ra->transfer->status).value_or(TransportError::Io);
        if (e == TransportError::Cancelled && timed_out) e = TransportError::Timeout;
        if (!(e == TransportError::Cancelled && cancelled_before)) {
            ccid::logger()->trace("usb: read-ahead on endpoint {:#04x} ended: {}", ra->transfer->endpoint, to_string(e));
            note_error(e);
            result = std::unexpected(e);
        }
        // else: cancelled by a cancel() made before this call, which must read as usual.
    }
    std::lock_guard lock(mutex_);
    std::erase_if(in_flight_, [&](const InFlight& f) { return f.transfer == ra->transfer.get(); });
    ra->state = ReadAhead::State::Idle;
    return result;
}

void LibusbTransport::reap_read_ahead() {
    if (!read_ahead_ || read_ahead_->state != ReadAhead::State::Queued) return;
    ReadAhead& ra = *read_ahead_;
    libusb_cancel_transfer(ra.transfer.get());  // NOT_FOUND when it has completed already
    // mutex_ stays held: no call of this transport runs now, and completion callbacks never
    // take it (nor does anything that holds libusb's event lock).
    wait_until_completed(ra.wait, EventLoopShare::Priority::Foreground);
    std::erase_if(in_flight_, [&](const InFlight& f) { return f.transfer == ra.transfer.get(); });
    ra.state = ReadAhead::State::Idle;
}

std::expected<std::size_t, TransportError> LibusbTransport::interrupt_in(std::span<std::uint8_t> buffer,
                                                                         Millis timeout) {
    CallScope call(*this);
    if (!call.admitted()) return std::unexpected(call.refusal());
    if (!reader_.interrupt_in) return std::unexpected(TransportError::NotSupported);
    return receive(*reader_.interrupt_in, LIBUSB_TRANSFER_TYPE_INTERRUPT, buffer, call.generation(), timeout);
}

std::expected<std::size_t, TransportError> LibusbTransport::control_in(const ControlSetup& setup,
                                                                       std::span<std::uint8_t> buffer, Millis timeout) {
    CallScope call(*this);
    if (!call.admitted()) return std::unexpected(call.refusal());
    const std::size_t length = std::min(buffer.size(), kMaxControlData);
    std::vector<std::uint8_t> raw(LIBUSB_CONTROL_SETUP_SIZE + length);
    libusb_fill_control_setup(raw.data(), interface_request_type(setup.request_type, LIBUSB_ENDPOINT_IN),
                              setup.request, setup.value, reader_.interface_number, static_cast<std::uint16_t>(length));
    TransferPtr transfer(libusb_alloc_transfer(0));
    if (!transfer) return std::unexpected(TransportError::Io);
    libusb_fill_control_transfer(transfer.get(), handle_, raw.data(), nullptr, nullptr, to_libusb_timeout(timeout));
    auto received = run(transfer.get(), call.generation(), timeout, EventLoopShare::Priority::Foreground);
    if (!received) return received;
    const std::size_t n = std::min(*received, length);  // the host never reads past wLength
    if (n != 0) std::memcpy(buffer.data(), raw.data() + LIBUSB_CONTROL_SETUP_SIZE, n);
    return n;
}

std::expected<void, TransportError> LibusbTransport::control_out(const ControlSetup& setup, ByteView data,
                                                                 Millis timeout) {
    CallScope call(*this);
    if (!call.admitted()) return std::unexpected(call.refusal());
    if (data.size() > kMaxControlData) return std::unexpected(TransportError::NotSupported);
    std::vector<std::uint8_t> raw(LIBUSB_CONTROL_SETUP_SIZE + data.size());
    libusb_fill_control_setup(raw.data(), interface_request_type(setup.request_type, LIBUSB_ENDPOINT_OUT),
                              setup.request, setup.value, reader_.interface_number,
                              static_cast<std::uint16_t>(data.size()));
    if (!data.empty()) std::memcpy(raw.data() + LIBUSB_CONTROL_SETUP_SIZE, data.data(), data.size());
    TransferPtr transfer(libusb_alloc_transfer(0));
    if (!transfer) return std::unexpected(TransportError::Io);
    libusb_fill_control_transfer(transfer.get(), handle_, raw.data(), nullptr, nullptr, to_libusb_timeout(timeout));
    auto sent = run(transfer.get(), call.generation(), timeout, EventLoopShare::Priority::Foreground);
    if (!sent) return std::unexpected(sent.error());
    return {};
}

std::expected<void, TransportError> LibusbTransport::clear_halt() {
    CallScope call(*this);
    if (!call.admitted()) return std::unexpected(call.refusal());
    for (const auto* ep : {&reader_.bulk_in, &reader_.bulk_out, &reader_.interrupt_in}) {
        if (!*ep) continue;
        const int r = libusb_clear_halt(handle_, (*ep)->address);
        if (r != LIBUSB_SUCCESS) {
            ccid::logger()->trace("usb: clear_halt({:#04x}) failed: {}", (*ep)->address, libusb_error_name(r));
            const TransportError e = from_libusb_error(r);
            note_error(e);
            return std::unexpected(e);
        }
    }
    return {};
}

bool LibusbTransport::has_interrupt_in() const { return reader_.interrupt_in.has_value(); }

std::uint16_t LibusbTransport::bulk_in_max_packet() const {
    return reader_.bulk_in ? reader_.bulk_in->max_packet_size : 0;
}

std::uint8_t LibusbTransport::interface_number() const { return reader_.interface_number; }

void LibusbTransport::cancel_in_flight() {
    for (const InFlight& f : in_flight_) {
        // LIBUSB_ERROR_NOT_FOUND means the transfer is already completing: nothing to do.
        libusb_cancel_transfer(f.transfer);
        f.wait->poke();  // a call sleeping in the background reaps its cancellation now
    }
}

void LibusbTransport::cancel() {
    std::lock_guard lock(mutex_);
    ++cancel_generation_;
    cancel_in_flight();
}

std::expected<void, TransportError> LibusbTransport::claim() {
    std::lock_guard lock(mutex_);
    if (closing_ || handle_ == nullptr || gone_.load()) return std::unexpected(TransportError::NoDevice);
    if (claimed_.load()) return {};
    int r = libusb_claim_interface(handle_, reader_.interface_number);
    if (r == LIBUSB_SUCCESS && reader_.alternate_setting != 0) {
        r = libusb_set_interface_alt_setting(handle_, reader_.interface_number, reader_.alternate_setting);
        if (r != LIBUSB_SUCCESS) libusb_release_interface(handle_, reader_.interface_number);
    }
    if (r != LIBUSB_SUCCESS) {
        ccid::logger()->trace("usb: claim of interface {} failed: {}", reader_.interface_number, libusb_error_name(r));
        const TransportError e = from_libusb_error(r);
        note_error(e);
        return std::unexpected(e);
    }
    claimed_ = true;
    return {};
}

void LibusbTransport::release() {
    std::unique_lock lock(mutex_);
    if (!claimed_.load() || closing_ || handle_ == nullptr) return;
    // New calls are refused (Busy) from here; those in flight are cancelled and waited for, so
    // the interface is never released under a running transfer.
    claimed_ = false;
    ++cancel_generation_;
    cancel_in_flight();
    idle_.wait(lock, [&] { return active_calls_ == 0; });
    reap_read_ahead();
    const int r = libusb_release_interface(handle_, reader_.interface_number);
    if (r != LIBUSB_SUCCESS) ccid::logger()->trace("usb: release_interface: {}", libusb_error_name(r));
}

void LibusbTransport::close() {
    std::unique_lock lock(mutex_);
    if (closed_) return;
    if (closing_) {
        idle_.wait(lock, [&] { return closed_; });
        return;
    }
    closing_ = true;
    ++cancel_generation_;
    cancel_in_flight();
    idle_.wait(lock, [&] { return active_calls_ == 0; });
    reap_read_ahead();
    libusb_device_handle* handle = std::exchange(handle_, nullptr);
    lock.unlock();

    if (handle != nullptr && claimed_.exchange(false)) {
        const int r = libusb_release_interface(handle, reader_.interface_number);
        if (r != LIBUSB_SUCCESS) ccid::logger()->trace("usb: release_interface: {}", libusb_error_name(r));
        libusb_close(handle);
    }

    lock.lock();
    closed_ = true;
    idle_.notify_all();
}

}  // namespace ccidkit::ccid::usb

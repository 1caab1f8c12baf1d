// The libusb Transport. Internal to src/ccid/usb: users get it through the open_* functions of
// libusb_transport.h.
//
// Concurrency contract:
// - Any method may be called from any thread, concurrently (e.g. interrupt_in on a card-event
//   thread while another thread runs bulk_out/bulk_in, and a third calls cancel()).
// - Each call registers its libusb transfer in `in_flight_` under `mutex_` before submitting,
//   and removes it after the completion callback ran, so cancel() only ever touches live
//   transfers. There is no event thread: each call reaps its own completion (`events_`,
//   libusb_transport_wait.h). Completion callbacks run on whichever call's thread handles
//   libusb events and touch only the waiting call's own TransferWait (never `mutex_`), so
//   there is no lock-order cycle (order: `mutex_`, then a TransferWait's mutex).
// - cancel() bumps `cancel_generation_`; a call that started before the bump but had not
//   submitted yet returns Cancelled instead of submitting. A call started after cancel() runs
//   normally (cancel is an event, not a state).
// - close() waits until no call is active before closing the handle, so libusb never sees a
//   handle closed under a running call.
// - prepare_bulk_in() queues a bulk-IN transfer that outlives the call (the read-ahead, at most
//   one). It is in `in_flight_` like any other, so cancel() cancels it; the next bulk_in()
//   collects it, and release()/close() reap one nobody collected before letting go of the
//   interface or the handle.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "ccid/usb/libusb_context.h"
#include "ccid/usb/libusb_transport.h"
#include "ccid/usb/libusb_transport_wait.h"

namespace ccidkit::ccid::usb {

class LibusbTransport final : public UsbTransport {
public:
    // Takes ownership of `context` and `handle`. `handle` has `reader.interface_number` claimed
    // (and its alternate setting selected) when `claimed`; nullptr makes a transport that is
    // already closed (every call returns NoDevice).
    LibusbTransport(std::unique_ptr<LibusbContext> context, libusb_device_handle* handle, UsbReaderCandidate reader,
                    TransportOptions options, bool claimed = true);
    ~LibusbTransport() override;

    std::expected<void, TransportError> bulk_out(ByteView message, Millis timeout) override;
    std::expected<std::size_t, TransportError> bulk_in(std::span<std::uint8_t> buffer, Millis timeout) override;
    std::expected<std::size_t, TransportError> interrupt_in(std::span<std::uint8_t> buffer, Millis timeout) override;
    std::expected<std::size_t, TransportError> control_in(const ControlSetup& setup, std::span<std::uint8_t> buffer,
                                                          Millis timeout) override;
    std::expected<void, TransportError> control_out(const ControlSetup& setup, ByteView data, Millis timeout) override;
    std::expected<void, TransportError> clear_halt() override;
    bool has_interrupt_in() const override;
    std::uint16_t bulk_in_max_packet() const override;
    std::uint8_t interface_number() const override;
    void cancel() override;
    void prepare_bulk_in(std::size_t length) override;
    // libusb_claim_interface (+ alternate setting) / libusb_release_interface. release() first
    // cancels this transport's transfers in flight and waits for their calls to return.
    std::expected<void, TransportError> claim() override;
    void release() override;
    bool claimed() const override { return claimed_.load(); }

    const UsbReaderCandidate& reader() const override { return reader_; }
    void close() override;

private:
    class CallScope;
    struct ReadAhead;
    struct InFlight {
        libusb_transfer* transfer;
        TransferWait* wait;
    };

    // Submits `transfer` (filled in by the caller, callback excepted), waits for it and returns
    // actual_length or the mapped error.
    std::expected<std::size_t, TransportError> run(libusb_transfer* transfer, std::uint64_t generation,
                                                   Millis timeout, EventLoopShare::Priority priority);
    // Returns once the (cancelled or finishing) transfer behind `wait` has completed: libusb
    // always completes a cancelled transfer, and one it still owns must never be freed or reused.
    void wait_until_completed(TransferWait& wait, EventLoopShare::Priority priority);
    // Under mutex_: cancels every transfer in flight and wakes its waiting call.
    void cancel_in_flight();
    std::expected<std::size_t, TransportError> receive(const UsbEndpoint& endpoint, unsigned char type,
                                                       std::span<std::uint8_t> buffer, std::uint64_t generation,
                                                       Millis timeout);
    std::expected<std::size_t, TransportError> send(const UsbEndpoint& endpoint, const std::uint8_t* data,
                                                    std::size_t length, std::uint64_t generation, Millis timeout);
    void note_error(TransportError e);
    // bulk_in() through the read-ahead, if one is queued. nullopt: none was (or it ended in a
    // cancel() made before this call): the caller reads as usual.
    std::optional<std::expected<std::size_t, TransportError>> collect_read_ahead(std::span<std::uint8_t> buffer,
                                                                                 std::uint64_t generation,
                                                                                 Millis timeout);
    // Under mutex_, with no call active (release(), close()): cancels a read-ahead nobody
    // collected and waits until its transfer has completed.
    void reap_read_ahead();

    std::unique_ptr<LibusbContext> context_;  // outlives handle_: declared first, destroyed last
    EventLoopShare events_;                   // how calls share the context's event handling
    libusb_device_handle* handle_ = nullptr;
    const UsbReaderCandidate reader_;
    const TransportOptions options_;

    std::atomic<bool> gone_{false};  // device reported gone: fail fast from now on
    std::atomic<bool> claimed_{true};  // written under mutex_; calls need it (else Busy)
    std::mutex mutex_;
    std::condition_variable idle_;  // signalled when active_calls_ drops to 0 or close() ends
    std::vector<InFlight> in_flight_;
    std::unique_ptr<ReadAhead> read_ahead_;  // made by the first prepare_bulk_in()
    std::uint64_t cancel_generation_ = 0;
    unsigned active_calls_ = 0;
    bool closing_ = false;
    bool closed_ = false;
};

}  // namespace ccidkit::ccid::usb

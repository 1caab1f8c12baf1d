// The SCard API over the host CCID driver: one CcidDevice per opened reader interface (a USB
// one, or a simulated one on sim::ReaderSim), one CcidSlotBackend per slot of it.
//
// The device runs an event thread on Reader::poll_events() (the interrupt pipe, or
// GetSlotStatus polling), so that status() never does I/O, as backend.h requires: it keeps
// per slot the presence, whether the backend powered the card, and a counter of insertions
// and removals (a swap between two notifications counts two). A device that leaves (libusb
// NoDevice, or the provider's hotplug monitor seeing it unplugged) answers every I/O method
// with ReaderGone and reports CardPresence::Unavailable; so does a reader whose event polling
// keeps failing, until a poll succeeds again.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/backend.h"
#include "ccid/reader.h"
#include "ccid/reader_error.h"

namespace ccidkit::api {

// Driver error -> what the SCard core understands.
BackendError to_backend_error(const ccid::ReaderError& e);

// What the USB strings (or the simulator's configuration) say about the device, shared by its
// slots' descriptions.
struct CcidDeviceIdentity {
    std::string vendor;          // iManufacturer
    std::string model;           // iProduct
    std::string interface_name;  // iInterface
    std::string serial;          // iSerialNumber
    std::string device_id;       // see ReaderDescription::device_id
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;
    std::uint32_t channel_id = 0;
    bool escape_allowed = false;
};

// Builds the description of `slot` from the identity and the reader's capabilities.
ReaderDescription describe_ccid_slot(const CcidDeviceIdentity& identity, const ccid::ReaderCaps& caps,
                                     std::uint8_t slot);

class CcidSlotBackend;
class SharedDevice;

class CcidDevice : public std::enable_shared_from_this<CcidDevice> {
public:
    // Called from the event thread (and from I/O methods that find the device gone) whenever
    // a slot status may have changed. Must not destroy the device.
    using ChangeCallback = std::function<void()>;

    // Takes an opened reader and starts its event thread. Throws std::system_error when no
    // thread can be started.
    static std::shared_ptr<CcidDevice> start(std::unique_ptr<ccid::Reader> reader, CcidDeviceIdentity identity,
                                             ChangeCallback on_change);
    // The same, for a reader shared with other processes (see shared_device.h): the claim is
    // taken per I/O burst unless this process is alone, and presence comes from the shared page.
    static std::shared_ptr<CcidDevice> start(std::unique_ptr<ccid::Reader> reader, CcidDeviceIdentity identity,
                                             ChangeCallback on_change, std::unique_ptr<SharedDevice> shared);
    // Stops the event thread (see stop()).
    ~CcidDevice();
    CcidDevice(const CcidDevice&) = delete;
    CcidDevice& operator=(const CcidDevice&) = delete;

    // Ends the event thread and waits for it; the change callback is not called afterwards.
    // Idempotent. Must not be called from the change callback.
    void stop();
    // The device left (seen by someone else, e.g. the hotplug monitor): Unavailable from now
    // on, every I/O method answers ReaderGone.
    void mark_gone();
    bool gone() const { return gone_.load(); }

    // One backend per slot, created with the device (the same objects at every call). Each
    // pointer shares ownership of the device, which lives as long as any of them.
    std::vector<std::shared_ptr<ReaderBackend>> backends();
    const CcidDeviceIdentity& identity() const { return identity_; }
    ccid::Reader& reader() { return *reader_; }
    // Coordinated with other processes (open_ccid_device with `shared`, lock dir enabled).
    bool shared() const { return shared_ != nullptr; }

    // Around every card I/O of a slot backend: takes the claim when shared (false: could not),
    // and publishes the slot's card session afterwards. No-ops otherwise.
    bool begin_io();
    void end_io(std::uint8_t slot);
    // SharedDevice::try_pin / end_io when shared; false / no-op otherwise.
    bool pin_alone();
    void unpin();

private:
    friend class CcidSlotBackend;
    struct SlotState {
        std::atomic<bool> present{false};
        std::atomic<bool> powered{false};  // activated through this backend, not deactivated since
        std::atomic<std::uint64_t> events{0};
    };

    CcidDevice(std::unique_ptr<ccid::Reader> reader, CcidDeviceIdentity identity, ChangeCallback on_change);
    void run_events();
    // Event loop of a shared device, and its steps (shared_events.cpp).
    void run_shared_events();
    bool take_shared_presence();
    bool poll_shared_presence();  // false: a slot's status could not be read
    void publish_local_presence(const std::vector<std::uint64_t>& events_before);
    bool apply(const ccid::ReaderEvents& events);
    void notify();
    // After an I/O failure: a gone device is noted (and reported) at once.
    void note_error(const ccid::ReaderError& e, std::uint8_t slot);
    SlotStatus slot_status(std::uint8_t slot) const;

    std::unique_ptr<ccid::Reader> reader_;
    std::unique_ptr<SharedDevice> shared_;  // after reader_: goes first (it uses the transport)
    std::vector<std::uint32_t> shared_seen_;  // per slot, the shared event counter applied (event thread)
    CcidDeviceIdentity identity_;
    ChangeCallback on_change_;
    std::vector<std::unique_ptr<SlotState>> slots_;
    std::vector<std::unique_ptr<CcidSlotBackend>> backends_;

    std::atomic<bool> gone_{false};
    std::atomic<bool> unresponsive_{false};  // event polling keeps failing
    std::atomic<bool> stopping_{false};
    std::mutex stop_mutex_;
    std::mutex sleep_mutex_;
    std::condition_variable sleep_cv_;
    std::thread events_thread_;
};

// One slot of a CcidDevice as a PC/SC reader.
class CcidSlotBackend final : public ReaderBackend {
public:
    // Created by CcidDevice, which owns it; handed out as pointers sharing the device's
    // ownership (CcidDevice::backends()).
    CcidSlotBackend(CcidDevice& device, std::uint8_t slot, ReaderDescription description);

    const ReaderDescription& description() const override { return description_; }
    SlotStatus status() const override;

    BackendResult<Bytes> power_on() override;
    BackendResult<Bytes> warm_reset() override;
    BackendResult<void> power_off() override;
    BackendResult<void> set_protocol(CardProtocol protocol) override;
    BackendResult<Bytes> transmit(ByteView command, CardProtocol protocol) override;
    BackendResult<Bytes> escape(ByteView command) override;
    BackendResult<Bytes> secure_pin(PinOperation op, ByteView structure) override;
    // SCARD_ATTR_CURRENT_* of the slot's card session (api/session_attributes.h).
    BackendResult<Bytes> get_attribute(std::uint32_t id) override;
    bool pin_alone() override;
    void unpin() override;

private:
    ccid::Slot* slot_or_gone(BackendError& error);
    BackendError fail(const ccid::ReaderError& e);
    BackendResult<Bytes> activated(std::expected<ccid::CardSession, ccid::ReaderError> session);

    CcidDevice& device_;
    std::uint8_t slot_;
    ReaderDescription description_;
};

// Everything needed to open one reader interface, whatever its origin (USB, a simulator socket,
// a file descriptor, an in-process simulator).
struct CcidDeviceSource {
    std::unique_ptr<ccid::Transport> transport;  // opened; claimed or not
    ccid::CcidDescriptor descriptor;
    ccid::ReaderOptions options;
    CcidDeviceIdentity identity;
    // Coordinate with other processes using the same device (lock files in default_lock_dir(),
    // see shared_device.h) instead of holding the transport's claim for as long as it is open.
    bool shared = false;
};

// The one entry point every reader source uses: claims the transport as needed, opens the
// Reader (Reader::open) and starts the CcidDevice. The error says why it could not be opened.
std::expected<std::shared_ptr<CcidDevice>, std::string> open_ccid_device(CcidDeviceSource source,
                                                                         CcidDevice::ChangeCallback on_change);

}  // namespace ccidkit::api

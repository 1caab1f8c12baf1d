// The default reader provider: USB CCID readers through the host driver, plus simulated
// readers (sim::ReaderSim behind the same driver) described by $CCID_VIRTUAL_READERS.
//
// USB readers are enumerated synchronously when the provider starts (so the first
// SCardListReaders already shows them), then a HotplugMonitor reports arrivals and departures:
// an arrival is opened (Reader::open, quirks from the table) and listed; a departure is marked
// gone (its backends answer ReaderGone, status Unavailable) and leaves the list. A reader that
// cannot be opened (busy, no permission, unusable descriptor) is logged and left out.
// Virtual readers are built when the provider starts and listed first; tests can unplug one
// and plug it back (a new device with a new simulator and the same identity, hence the same
// reader name), as a USB reader is re-plugged.
//
// Environment (read by ccid_provider_options_from_env):
//   CCID_VIRTUAL_READERS  "N" (N TPDU readers with a T=1 card) or a spec (sim/virtual_spec.h)
//   CCIDKIT_USB           "0": no USB readers (e.g. tests that want the virtual ones only)
//   CCIDKIT_USB_FD        "3" or "3,4": inherited usbfs descriptors, each one a reader
//                         (api/fd_readers.h; opened even with CCIDKIT_USB=0)
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/backend.h"
#include "api/ccid_backend.h"
#include "api/fd_readers.h"
#include "ccid/usb/usb_hotplug.h"
#include "ccid/usb/usb_reader_candidate.h"
#include "sim/virtual_spec.h"

namespace ccidkit::sim {
class ReaderSim;
}

namespace ccidkit::api {

inline constexpr const char* kUsbEnvVar = "CCIDKIT_USB";
// "poll": find USB readers plugged in later by scanning every second instead of through
// libusb's hotplug events; "auto" (default): events where a udev daemon runs, else polling.
inline constexpr const char* kHotplugEnvVar = "CCIDKIT_HOTPLUG";

struct CcidProviderOptions {
    std::vector<sim::VirtualReaderSpec> virtual_readers;
    bool usb = true;
    ccid::usb::HotplugMode hotplug_mode = ccid::usb::HotplugMode::Auto;
    std::chrono::milliseconds usb_poll_interval{1000};
};

// Throws std::runtime_error naming the variable when CCID_VIRTUAL_READERS or CCIDKIT_HOTPLUG
// does not parse.
CcidProviderOptions ccid_provider_options_from_env();

// The identity a USB interface gets (device_id "VVVV:PPPP:serial", or the port path without a
// serial number; interfaces after the first get "/N" appended; channel id 0x0020 << 16 | bus << 8 | address).
CcidDeviceIdentity identity_of_usb(const ccid::usb::UsbReaderCandidate& candidate);

class CcidProvider final : public ReaderProvider {
public:
    // Opens the virtual readers (a reader that fails to open is logged and left out) and, with
    // options.usb, the USB readers, then starts the hotplug monitor.
    explicit CcidProvider(CcidProviderOptions options);
    ~CcidProvider() override;
    CcidProvider(const CcidProvider&) = delete;
    CcidProvider& operator=(const CcidProvider&) = delete;

    std::vector<std::shared_ptr<ReaderBackend>> readers() override;
    void set_listener(ChangeListener* listener) override;

    // The simulator of the index-th virtual reader (tests insert and remove cards, or unplug
    // it); nullptr when there is no such reader. Owned by the provider's device.
    sim::ReaderSim* simulator(std::size_t index) const;

    // The index-th in-process virtual reader unplugged: its simulator disconnects (calls in
    // flight end with NoDevice), the reader is marked gone and leaves the list. False when
    // it is not listed (or is served by a socket).
    bool unplug_virtual(std::size_t index);
    // Plugged (back) in: a fresh simulator from the same spec, with its card, and the same
    // identity. False when it is still listed or cannot be built.
    bool plug_virtual(std::size_t index);

    // Readers handed over as usbfs descriptors (ccidkit_SCardAddReaderFromFd, $CCIDKIT_USB_FD).
    FdReaderSet& fd_readers() { return *fd_readers_; }

private:
    struct Entry {
        std::shared_ptr<CcidDevice> device;
        std::optional<ccid::usb::ReaderKey> usb_key;
        sim::ReaderSim* sim = nullptr;
        std::optional<std::size_t> virtual_index;  // in-process virtual readers
    };

    void open_virtual(const sim::VirtualReaderSpec& spec, std::size_t index);
    std::optional<std::pair<std::shared_ptr<CcidDevice>, sim::ReaderSim*>> start_simulated(
        const sim::VirtualReaderSpec& spec, std::size_t index);
    void open_usb(const ccid::usb::UsbReaderCandidate& candidate);
    void usb_event(ccid::usb::HotplugEvent event, const ccid::usb::UsbReaderCandidate& candidate);
    void changed();

    const std::vector<sim::VirtualReaderSpec> virtual_specs_;
    mutable std::mutex mutex_;
    std::vector<Entry> devices_;
    std::vector<sim::ReaderSim*> simulators_;

    std::mutex listener_mutex_;
    ChangeListener* listener_ = nullptr;

    std::unique_ptr<ccid::usb::HotplugMonitor> monitor_;
    // Last: destroyed first, while changed() can still reach the listener.
    std::unique_ptr<FdReaderSet> fd_readers_ = std::make_unique<FdReaderSet>([this] { changed(); });
};

// A CcidProvider configured from the environment.
std::shared_ptr<ReaderProvider> make_ccid_provider();

}  // namespace ccidkit::api

#include "ccid/presence_probe.h"

#include <array>
#include <chrono>
#include <thread>

namespace ccidkit::ccid {

namespace {

// USB 2.0 9.4.5 GET_STATUS, standard request (type bits 00) to the interface: two bytes.
constexpr ControlSetup kGetInterfaceStatus{0x00, 0x00, 0, 0};
constexpr Millis kProbeTimeout{200};
// Pause between probes while the host has not yet processed the disconnect: the hub driver
// needs a few milliseconds (more under emulation), nothing signals it to this layer.
constexpr Millis kProbePause{20};

}  // namespace

bool device_vanished(Transport& transport, Millis budget) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    for (;;) {
        std::array<std::uint8_t, 2> status{};
        const auto r = transport.control_in(kGetInterfaceStatus, status, kProbeTimeout);
        if (r) return false;
        if (r.error() == TransportError::NoDevice) return true;
        if (r.error() != TransportError::Io || std::chrono::steady_clock::now() + kProbePause >= deadline) return false;
        std::this_thread::sleep_for(kProbePause);
    }
}

}  // namespace ccidkit::ccid

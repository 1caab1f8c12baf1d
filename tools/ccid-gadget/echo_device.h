// Raw mode of ccid-gadget: a device-side Transport that sends every bulk-OUT message straight
// back on bulk-IN, unchanged. It measures the USB path (libusb, usbfs, dummy_hcd, f_fs and
// the bridge) without the simulator's CCID work.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>

#include "ccid/transport.h"

namespace ccidkit::gadget {

class EchoDevice final : public ccid::Transport {
public:
    std::expected<void, ccid::TransportError> bulk_out(ByteView message, ccid::Millis timeout) override;
    std::expected<std::size_t, ccid::TransportError> bulk_in(std::span<std::uint8_t> buffer,
                                                             ccid::Millis timeout) override;
    // No notifications: waits out the timeout.
    std::expected<std::size_t, ccid::TransportError> interrupt_in(std::span<std::uint8_t> buffer,
                                                                  ccid::Millis timeout) override;
    // Class requests are not understood: they stall.
    std::expected<std::size_t, ccid::TransportError> control_in(const ccid::ControlSetup& setup,
                                                                std::span<std::uint8_t> buffer,
                                                                ccid::Millis timeout) override;
    std::expected<void, ccid::TransportError> control_out(const ccid::ControlSetup& setup, ByteView data,
                                                          ccid::Millis timeout) override;
    std::expected<void, ccid::TransportError> clear_halt() override { return {}; }
    bool has_interrupt_in() const override { return true; }
    std::uint16_t bulk_in_max_packet() const override { return 512; }
    std::uint8_t interface_number() const override { return 0; }
    void cancel() override;

private:
    static constexpr std::size_t kMaxQueued = 64;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Bytes> queue_;
    std::uint64_t cancels_ = 0;
};

}  // namespace ccidkit::gadget

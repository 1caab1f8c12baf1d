#include "echo_device.h"

#include <algorithm>

namespace ccidkit::gadget {

using ccid::TransportError;

std::expected<void, TransportError> EchoDevice::bulk_out(ByteView message, ccid::Millis timeout) {
    std::unique_lock lock(mutex_);
    const std::uint64_t generation = cancels_;
    if (!cv_.wait_for(lock, timeout, [&] { return queue_.size() < kMaxQueued || cancels_ != generation; })) {
        return std::unexpected(TransportError::Timeout);
    }
    if (cancels_ != generation) return std::unexpected(TransportError::Cancelled);
    queue_.emplace_back(message.begin(), message.end());
    cv_.notify_all();
    return {};
}

std::expected<std::size_t, TransportError> EchoDevice::bulk_in(std::span<std::uint8_t> buffer,
                                                              ccid::Millis timeout) {
    std::unique_lock lock(mutex_);
    const std::uint64_t generation = cancels_;
    if (!cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || cancels_ != generation; })) {
        return std::unexpected(TransportError::Timeout);
    }
    if (cancels_ != generation) return std::unexpected(TransportError::Cancelled);
    Bytes message = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    if (message.size() > buffer.size()) return std::unexpected(TransportError::Overflow);
    std::copy(message.begin(), message.end(), buffer.begin());
    return message.size();
}

std::expected<std::size_t, TransportError> EchoDevice::interrupt_in(std::span<std::uint8_t>, ccid::Millis timeout) {
    std::unique_lock lock(mutex_);
    const std::uint64_t generation = cancels_;
    cv_.wait_for(lock, timeout, [&] { return cancels_ != generation; });
    return std::unexpected(cancels_ != generation ? TransportError::Cancelled : TransportError::Timeout);
}

std::expected<std::size_t, TransportError> EchoDevice::control_in(const ccid::ControlSetup&, std::span<std::uint8_t>,
                                                                 ccid::Millis) {
    return std::unexpected(TransportError::Stall);
}

std::expected<void, TransportError> EchoDevice::control_out(const ccid::ControlSetup&, ByteView, ccid::Millis) {
    return std::unexpected(TransportError::Stall);
}

void EchoDevice::cancel() {
    std::lock_guard lock(mutex_);
    ++cancels_;
    cv_.notify_all();
}

}  // namespace ccidkit::gadget

// A transport that gives its claim back before it closes. A reader served by ccid-simd
// (socket=PATH) is claimed while ccidctl uses it; closing the connection alone frees the claim
// only once the server has noticed the close, so the next program (often the next ccidctl of
// a script) could still find the reader busy. Releasing first waits for the server's answer.
#pragma once

#include <memory>

#include "ccid/transport.h"

namespace ccidkit::ccidctl {

class ReleaseOnClose final : public ccid::Transport {
public:
    explicit ReleaseOnClose(std::unique_ptr<ccid::Transport> inner) : inner_(std::move(inner)) {}
    ~ReleaseOnClose() override {
        if (inner_->claimed()) inner_->release();
    }
    ReleaseOnClose(const ReleaseOnClose&) = delete;
    ReleaseOnClose& operator=(const ReleaseOnClose&) = delete;

    std::expected<void, ccid::TransportError> bulk_out(ByteView message, ccid::Millis timeout) override {
        return inner_->bulk_out(message, timeout);
    }
    std::expected<std::size_t, ccid::TransportError> bulk_in(std::span<std::uint8_t> buffer,
                                                             ccid::Millis timeout) override {
        return inner_->bulk_in(buffer, timeout);
    }
    std::expected<std::size_t, ccid::TransportError> interrupt_in(std::span<std::uint8_t> buffer,
                                                                  ccid::Millis timeout) override {
        return inner_->interrupt_in(buffer, timeout);
    }
    std::expected<std::size_t, ccid::TransportError> control_in(const ccid::ControlSetup& setup,
                                                                std::span<std::uint8_t> buffer,
                                                                ccid::Millis timeout) override {
        return inner_->control_in(setup, buffer, timeout);
    }
    std::expected<void, ccid::TransportError> control_out(const ccid::ControlSetup& setup, ByteView data,
                                                          ccid::Millis timeout) override {
        return inner_->control_out(setup, data, timeout);
    }
    std::expected<void, ccid::TransportError> clear_halt() override { return inner_->clear_halt(); }
    bool has_interrupt_in() const override { return inner_->has_interrupt_in(); }
    std::uint16_t bulk_in_max_packet() const override { return inner_->bulk_in_max_packet(); }
    std::uint8_t interface_number() const override { return inner_->interface_number(); }
    void cancel() override { inner_->cancel(); }
    void prepare_bulk_in(std::size_t length) override { inner_->prepare_bulk_in(length); }
    std::expected<void, ccid::TransportError> claim() override { return inner_->claim(); }
    void release() override { inner_->release(); }
    bool claimed() const override { return inner_->claimed(); }

private:
    std::unique_ptr<ccid::Transport> inner_;
};

}  // namespace ccidkit::ccidctl

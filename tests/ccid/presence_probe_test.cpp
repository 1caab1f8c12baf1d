// The presence probe after a plain I/O error (ccid/presence_probe.h), alone and inside
// Reader::command: an unplug that fails the transfer in flight with Io must come out as
// ReaderGone once the device is found gone, and only then.
#include "ccid/presence_probe.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>

#include "ccid/reader.h"
#include "sim/card/sim_card.h"
#include "sim/reader/reader_sim.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

// A ReaderSim behind switches: the next bulk_in can fail with Io (the transfer in flight at an
// unplug), and control_in answers from a script of errors before it reaches the simulator.
class UnplugTransport final : public Transport {
public:
    explicit UnplugTransport(std::unique_ptr<sim::ReaderSim> sim) : sim_(std::move(sim)) {}

    std::expected<void, TransportError> bulk_out(ByteView message, Millis timeout) override {
        return sim_->bulk_out(message, timeout);
    }
    std::expected<std::size_t, TransportError> bulk_in(std::span<std::uint8_t> buffer, Millis timeout) override {
        if (fail_next_bulk_in.exchange(false)) return std::unexpected(TransportError::Io);
        return sim_->bulk_in(buffer, timeout);
    }
    std::expected<std::size_t, TransportError> interrupt_in(std::span<std::uint8_t> buffer, Millis timeout) override {
        return sim_->interrupt_in(buffer, timeout);
    }
    std::expected<std::size_t, TransportError> control_in(const ControlSetup& setup, std::span<std::uint8_t> buffer,
                                                          Millis timeout) override {
        {
            std::lock_guard lock(mutex_);
            ++control_calls_;
            if (!control_script_.empty()) {
                const TransportError e = control_script_.front();
                if (control_script_.size() > 1 || !repeat_last_) control_script_.pop_front();
                return std::unexpected(e);
            }
        }
        return sim_->control_in(setup, buffer, timeout);
    }
    std::expected<void, TransportError> control_out(const ControlSetup& setup, ByteView data, Millis timeout) override {
        return sim_->control_out(setup, data, timeout);
    }
    std::expected<void, TransportError> clear_halt() override { return sim_->clear_halt(); }
    bool has_interrupt_in() const override { return sim_->has_interrupt_in(); }
    std::uint16_t bulk_in_max_packet() const override { return sim_->bulk_in_max_packet(); }
    std::uint8_t interface_number() const override { return sim_->interface_number(); }
    void cancel() override { sim_->cancel(); }

    // The next control transfers fail with these errors, in order; with `repeat_last` the last
    // one stays for good.
    void script_control(std::deque<TransportError> errors, bool repeat_last = false) {
        std::lock_guard lock(mutex_);
        control_script_ = std::move(errors);
        repeat_last_ = repeat_last;
        control_calls_ = 0;
    }
    unsigned control_calls() const {
        std::lock_guard lock(mutex_);
        return control_calls_;
    }
    sim::ReaderSim& sim() { return *sim_; }

    std::atomic<bool> fail_next_bulk_in{false};

private:
    std::unique_ptr<sim::ReaderSim> sim_;
    mutable std::mutex mutex_;
    std::deque<TransportError> control_script_;
    bool repeat_last_ = false;
    unsigned control_calls_ = 0;
};

std::unique_ptr<UnplugTransport> make_transport() {
    return std::make_unique<UnplugTransport>(
        std::make_unique<sim::ReaderSim>(sim::make_reader_config(ExchangeLevel::ShortApdu)));
}

TEST(PresenceProbe, AnAnsweringDeviceIsNotGone) {
    auto t = make_transport();
    EXPECT_FALSE(device_vanished(*t));
    EXPECT_EQ(t->control_calls(), 1u);
}

TEST(PresenceProbe, NoDeviceAfterSomeIoErrorsMeansGone) {
    auto t = make_transport();
    t->script_control({TransportError::Io, TransportError::Io, TransportError::NoDevice});
    EXPECT_TRUE(device_vanished(*t));
    EXPECT_EQ(t->control_calls(), 3u);
}

TEST(PresenceProbe, AStallOrTimeoutIsNotGone) {
    for (const TransportError e : {TransportError::Stall, TransportError::Timeout, TransportError::Busy}) {
        auto t = make_transport();
        t->script_control({e});
        EXPECT_FALSE(device_vanished(*t)) << to_string(e);
        EXPECT_EQ(t->control_calls(), 1u) << to_string(e);
    }
}

TEST(PresenceProbe, EndlessIoErrorsGiveUpWithinTheBudget) {
    auto t = make_transport();
    t->script_control({TransportError::Io}, /*repeat_last=*/true);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(device_vanished(*t, Millis{150}));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    EXPECT_GE(t->control_calls(), 2u);
}

struct ReaderRig {
    UnplugTransport* wire = nullptr;  // owned by reader
    std::unique_ptr<Reader> reader;
};

ReaderRig open_reader() {
    auto wire = make_transport();
    ReaderRig rig;
    rig.wire = wire.get();
    rig.wire->sim().insert_card(0, sim::SimCard::t1_default());
    const auto descriptor = rig.wire->sim().config().descriptor;
    ReaderOptions options;
    options.control_timeout = Millis{300};
    auto reader = Reader::open(std::move(wire), descriptor, options);
    if (reader) rig.reader = std::move(*reader);
    return rig;
}

TEST(PresenceProbe, ReaderTurnsAnIoErrorOfAVanishedDeviceIntoReaderGone) {
    auto rig = open_reader();
    ASSERT_TRUE(rig.reader);
    Slot& slot = *rig.reader->slot(0);
    ASSERT_TRUE(slot.power_on());
    rig.wire->fail_next_bulk_in = true;
    rig.wire->script_control({TransportError::Io, TransportError::NoDevice});
    auto r = slot.transmit(Bytes{0x80, 0x10, 0x00, 0x00, 0x01, 0x42, 0x01});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ReaderErrc::ReaderGone) << describe(r.error());
    EXPECT_TRUE(rig.reader->gone());
}

TEST(PresenceProbe, ReaderKeepsTheIoErrorWhenTheDeviceStillAnswers) {
    auto rig = open_reader();
    ASSERT_TRUE(rig.reader);
    Slot& slot = *rig.reader->slot(0);
    ASSERT_TRUE(slot.power_on());
    rig.wire->fail_next_bulk_in = true;
    auto r = slot.transmit(Bytes{0x80, 0x10, 0x00, 0x00, 0x01, 0x42, 0x01});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().code, ReaderErrc::ReaderGone) << describe(r.error());
    EXPECT_FALSE(rig.reader->gone());
    EXPECT_GE(rig.wire->control_calls(), 1u);  // it did look
}

}  // namespace

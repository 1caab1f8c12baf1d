// One test per Quirks switch (ccid/quirks.h): the same reader and card with and without the
// switch, and the difference the switch makes in what the driver does.
#include "ccid/quirks.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "ccid/quirks_lookup.h"
#include "ccid/reader.h"
#include "sim/reader/reader_sim.h"

using namespace ccidkit;
using namespace ccidkit::ccid;
using Clock = std::chrono::steady_clock;

namespace {

// Forwards to a ReaderSim and records what the driver sent and how long it was willing to wait.
class RecordingTransport final : public Transport {
public:
    explicit RecordingTransport(std::unique_ptr<sim::ReaderSim> sim) : sim_(std::move(sim)) {}

    std::expected<void, TransportError> bulk_out(ByteView message, Millis timeout) override {
        {
            std::lock_guard lock(mutex_);
            sent_.emplace_back(message.begin(), message.end());
            if (prepared_) ++prepared_sends_;
            prepared_.reset();
        }
        return sim_->bulk_out(message, timeout);
    }
    std::expected<std::size_t, TransportError> bulk_in(std::span<std::uint8_t> buffer, Millis timeout) override {
        {
            std::lock_guard lock(mutex_);
            max_bulk_in_timeout_ = std::max(max_bulk_in_timeout_, timeout);
        }
        return sim_->bulk_in(buffer, timeout);
    }
    std::expected<std::size_t, TransportError> interrupt_in(std::span<std::uint8_t> buffer, Millis timeout) override {
        {
            std::lock_guard lock(mutex_);
            ++interrupt_reads_;
        }
        return sim_->interrupt_in(buffer, timeout);
    }
    std::expected<std::size_t, TransportError> control_in(const ControlSetup& setup, std::span<std::uint8_t> buffer,
                                                          Millis timeout) override {
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
    void prepare_bulk_in(std::size_t length) override {
        std::lock_guard lock(mutex_);
        prepared_ = length;
        min_prepared_length_ = std::min(min_prepared_length_, length);
    }

    sim::ReaderSim& sim() { return *sim_; }
    // bulk_out calls announced by prepare_bulk_in just before them.
    std::size_t prepared_sends() const {
        std::lock_guard lock(mutex_);
        return prepared_sends_;
    }
    std::size_t min_prepared_length() const {
        std::lock_guard lock(mutex_);
        return min_prepared_length_;
    }
    std::vector<Bytes> sent() const {
        std::lock_guard lock(mutex_);
        return sent_;
    }
    Millis max_bulk_in_timeout() const {
        std::lock_guard lock(mutex_);
        return max_bulk_in_timeout_;
    }
    std::size_t interrupt_reads() const {
        std::lock_guard lock(mutex_);
        return interrupt_reads_;
    }
    void clear() {
        std::lock_guard lock(mutex_);
        sent_.clear();
        max_bulk_in_timeout_ = Millis{0};
    }

private:
    std::unique_ptr<sim::ReaderSim> sim_;
    mutable std::mutex mutex_;
    std::vector<Bytes> sent_;
    Millis max_bulk_in_timeout_{0};
    std::size_t interrupt_reads_ = 0;
    std::optional<std::size_t> prepared_;
    std::size_t prepared_sends_ = 0;
    std::size_t min_prepared_length_ = SIZE_MAX;
};

ReaderOptions options_with(const Quirks& quirks) {
    ReaderOptions o;
    o.quirks = quirks;
    o.control_timeout = Millis{300};
    o.power_on_timeout = Millis{1000};
    o.exchange.abort_timeout = Millis{300};
    o.drain_read_timeout = Millis{2};
    o.poll_interval = Millis{5};
    return o;
}

struct Rig {
    RecordingTransport* wire = nullptr;  // owned by reader; dangling when open failed
    std::unique_ptr<Reader> reader;
    std::optional<ReaderError> open_error;
    sim::ReaderSim& sim() { return wire->sim(); }
    Slot& slot() { return *reader->slot(0); }
    std::size_t count(MessageType t) { return sim().stats().count(t); }
};

// `truth` is what the simulated reader does; `reported` the descriptor the driver is given
// (a reader that describes itself wrongly); the quirks correct the difference.
Rig open_rig(const sim::ReaderSimConfig& truth, std::optional<sim::SimCard> card, ReaderOptions options,
             std::optional<CcidDescriptor> reported = std::nullopt) {
    auto wire = std::make_unique<RecordingTransport>(std::make_unique<sim::ReaderSim>(truth));
    Rig rig;
    rig.wire = wire.get();
    if (card) rig.sim().insert_card(0, std::move(*card));
    auto reader = Reader::open(std::move(wire), reported.value_or(truth.descriptor), options);
    if (reader) {
        rig.reader = std::move(*reader);
    } else {
        rig.open_error = reader.error();
    }
    return rig;
}

sim::ReaderSimConfig host_pps_reader() {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.dwFeatures = kLevelTpdu | 0x02 | 0x08 | 0x10 | 0x20;
    return config;
}

sim::SimCard t1_card_of_classes(std::uint8_t classes) {
    sim::SimCardConfig c;
    c.atr = sim::SimCard::t1_default_atr();
    c.atr.classes = classes;
    return sim::SimCard(c);
}

std::uint8_t fidi(const ProtocolParameters& p) {
    return std::visit([](const auto& s) { return s.bmFindexDindex; }, p);
}

const Bytes kEcho2{0x80, 0x10, 0x00, 0x00, 0x02, 0xCA, 0xFE, 0x02};
const Bytes kEcho2Response{0xCA, 0xFE, 0x90, 0x00};

std::size_t xfr_blocks(const std::vector<Bytes>& sent) {
    std::size_t n = 0;
    for (const auto& m : sent)
        if (!m.empty() && m[0] == static_cast<std::uint8_t>(MessageType::PcToRdrXfrBlock)) ++n;
    return n;
}

}  // namespace

// ---- DescriptorOverrides ----

TEST(QuirkEffect, DwFeaturesOverrideFixesAFalseAutomaticPpsClaim) {
    // The reader claims automatic PPS (80h) but leaves PPS to the host.
    CcidDescriptor claimed = host_pps_reader().descriptor;
    claimed.dwFeatures |= 0x80;
    Rig without = open_rig(host_pps_reader(), sim::SimCard::t1_default(), options_with({}), claimed);
    ASSERT_TRUE(without.reader);
    auto s1 = without.slot().power_on();
    // The driver trusted the claim: no PPS went out, the card still runs at Fd/Dd.
    EXPECT_TRUE(!s1 || !s1->pps_exchanged);
    EXPECT_EQ(without.sim().card(0)->link(), (sim::CardLink{1, 1, 1}));
    EXPECT_FALSE(s1 && without.slot().transmit(kEcho2));

    Quirks q;
    q.descriptor.dwFeatures = host_pps_reader().descriptor.dwFeatures;
    Rig with = open_rig(host_pps_reader(), sim::SimCard::t1_default(), options_with(q), claimed);
    auto s2 = with.slot().power_on();
    ASSERT_TRUE(s2) << describe(s2.error());
    EXPECT_TRUE(s2->pps_exchanged);
    EXPECT_EQ(with.sim().card(0)->link(), (sim::CardLink{1, 9, 6}));
    EXPECT_TRUE(with.slot().transmit(kEcho2));
}

TEST(QuirkEffect, DwMaxIfsdOverride) {
    Quirks q;
    q.descriptor.dwMaxIFSD = 64;
    for (const bool quirk : {false, true}) {
        Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default(),
                           options_with(quirk ? q : Quirks{}));
        auto s = rig.slot().power_on();
        ASSERT_TRUE(s) << describe(s.error());
        EXPECT_EQ(s->ifsd, quirk ? 64 : 254);
        EXPECT_EQ(rig.sim().card(0)->t1().ifsd(), quirk ? 64 : 254);
    }
}

TEST(QuirkEffect, DwMaxCcidMessageLengthOverride) {
    // The reader takes 4 KiB messages but reports 271 bytes.
    auto truth = sim::make_reader_config(ExchangeLevel::ExtendedApdu);
    truth.descriptor.dwMaxCCIDMessageLength = 4096 + 10;
    CcidDescriptor reported = truth.descriptor;
    reported.dwMaxCCIDMessageLength = 271;
    Quirks q;
    q.descriptor.dwMaxCCIDMessageLength = 4096 + 10;
    Bytes big{0x80, 0x10, 0x00, 0x00, 0x00, 0x03, 0xE8};  // ECHO, Nc = 1000, Le = 2
    big.resize(7 + 1000, 0x42);
    big.push_back(0x00);
    big.push_back(0x02);
    std::size_t parts[2] = {};
    for (const bool quirk : {false, true}) {
        Rig rig = open_rig(truth, sim::SimCard::t1_default(), options_with(quirk ? q : Quirks{}), reported);
        ASSERT_TRUE(rig.slot().power_on());
        rig.wire->clear();
        auto r = rig.slot().transmit(big);
        ASSERT_TRUE(r) << describe(r.error());
        EXPECT_EQ(*r, (Bytes{0x42, 0x42, 0x90, 0x00}));
        parts[quirk] = xfr_blocks(rig.wire->sent());
    }
    EXPECT_EQ(parts[0], 4u);  // 1009 bytes in 261-byte parts
    EXPECT_EQ(parts[1], 1u);
}

TEST(QuirkEffect, DwMaxDataRateOverride) {
    Quirks q;
    q.descriptor.dwMaxDataRate = 130000;  // 250000 bit/s (TA1 = 96 at 4 MHz) is too fast
    for (const bool quirk : {false, true}) {
        Rig rig = open_rig(host_pps_reader(), sim::SimCard::t1_default(), options_with(quirk ? q : Quirks{}));
        auto s = rig.slot().power_on();
        ASSERT_TRUE(s) << describe(s.error());
        EXPECT_EQ(fidi(s->parameters), quirk ? 0x95 : 0x96);
    }
}

TEST(QuirkEffect, DwProtocolsOverride) {
    Quirks q;
    q.descriptor.dwProtocols = 0x01;  // T=1 is broken on this reader: T=0 only
    Rig without = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default(), options_with({}));
    EXPECT_TRUE(without.slot().power_on());
    Rig with = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default(), options_with(q));
    auto s = with.slot().power_on();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ReaderErrc::NoCommonProtocol);
}

TEST(QuirkEffect, BPinSupportOverride) {
    Quirks q;
    q.descriptor.bPINSupport = kPinVerify;
    Rig without = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), std::nullopt, options_with({}));
    Rig with = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), std::nullopt, options_with(q));
    EXPECT_EQ(without.reader->caps().descriptor.bPINSupport, 0);
    EXPECT_EQ(with.reader->caps().descriptor.bPINSupport, kPinVerify);
}

TEST(QuirkEffect, BVoltageSupportOverride) {
    auto manual = sim::make_reader_config(ExchangeLevel::Tpdu);
    manual.descriptor.dwFeatures &= ~0x08u;  // the host picks the voltage
    Quirks q;
    q.descriptor.bVoltageSupport = kVoltage5V;  // the 3 V / 1.8 V supplies are broken
    Rig without = open_rig(manual, t1_card_of_classes(proto::kClassB), options_with({}));
    auto s = without.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_EQ(s->voltage, PowerSelect::V3_0);
    Rig with = open_rig(manual, t1_card_of_classes(proto::kClassB), options_with(q));
    auto refused = with.slot().power_on();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ReaderErrc::VoltageNotSupported);
    EXPECT_EQ(with.count(MessageType::PcToRdrIccPowerOn), 1u);
}

TEST(QuirkEffect, BMaxCcidBusySlotsOverride) {
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu, 2);
    config.descriptor.bMaxCCIDBusySlots = 2;
    Quirks q;
    q.descriptor.bMaxCCIDBusySlots = 1;
    Rig without = open_rig(config, std::nullopt, options_with({}));
    Rig with = open_rig(config, std::nullopt, options_with(q));
    EXPECT_EQ(without.reader->caps().max_busy_slots, 2u);
    EXPECT_EQ(with.reader->caps().max_busy_slots, 1u);
}

// ---- Behaviour switches ----

TEST(QuirkEffect, LevelOverrideAllowsExtendedApdus) {
    // A reader that declares short APDU level but chains extended APDUs like level 40000h.
    const auto truth = sim::make_reader_config(ExchangeLevel::ExtendedApdu);
    CcidDescriptor reported = truth.descriptor;
    reported.dwFeatures = (reported.dwFeatures & ~kExchangeLevelMask) | kLevelShortApdu;
    Bytes extended{0x80, 0x12, 0x00, 0x00, 0x00, 0x01, 0x2C};  // PATTERN, Ne = 300
    Quirks q;
    q.level = ExchangeLevelOverride::ExtendedApdu;
    Rig without = open_rig(truth, sim::SimCard::t1_default(), options_with({}), reported);
    ASSERT_TRUE(without.slot().power_on());
    auto refused = without.slot().transmit(extended);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ReaderErrc::ApduTooLong);
    Rig with = open_rig(truth, sim::SimCard::t1_default(), options_with(q), reported);
    ASSERT_TRUE(with.slot().power_on());
    auto r = with.slot().transmit(extended);
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(r->size(), 302u);
}

TEST(QuirkEffect, MaxDataRateFiltersTheRateList) {
    auto config = host_pps_reader();
    config.descriptor.bNumDataRatesSupported = 3;
    config.data_rates_bps = {10752, 125000, 250000};
    Quirks q;
    q.max_data_rate = 200000;
    Rig without = open_rig(config, sim::SimCard::t1_default(), options_with({}));
    Rig with = open_rig(config, sim::SimCard::t1_default(), options_with(q));
    EXPECT_EQ(without.reader->caps().data_rates, (std::vector<std::uint32_t>{10752, 125000, 250000}));
    EXPECT_EQ(with.reader->caps().data_rates, (std::vector<std::uint32_t>{10752, 125000}));
    EXPECT_EQ(with.reader->caps().max_data_rate, 200000u);
    auto s1 = without.slot().power_on();
    auto s2 = with.slot().power_on();
    ASSERT_TRUE(s1 && s2);
    EXPECT_EQ(fidi(s1->parameters), 0x96);
    EXPECT_EQ(fidi(s2->parameters), 0x95);
}

TEST(QuirkEffect, NoPpsKeepsTheCardDefaults) {
    Quirks q;
    q.no_pps = true;
    Rig without = open_rig(host_pps_reader(), sim::SimCard::t1_default(), options_with({}));
    Rig with = open_rig(host_pps_reader(), sim::SimCard::t1_default(), options_with(q));
    auto s1 = without.slot().power_on();
    auto s2 = with.slot().power_on();
    ASSERT_TRUE(s1 && s2);
    EXPECT_TRUE(s1->pps_exchanged);
    EXPECT_FALSE(s2->pps_exchanged);
    EXPECT_EQ(fidi(s2->parameters), 0x11);
    EXPECT_EQ(with.sim().card(0)->link(), (sim::CardLink{1, 1, 1}));
    EXPECT_TRUE(with.slot().transmit(kEcho2));
}

TEST(QuirkEffect, SkipIfsdExchange) {
    Quirks q;
    q.skip_ifsd_exchange = true;
    for (const bool quirk : {false, true}) {
        Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default(),
                           options_with(quirk ? q : Quirks{}));
        auto s = rig.slot().power_on();
        ASSERT_TRUE(s) << describe(s.error());
        EXPECT_EQ(s->ifsd_exchanged, !quirk);
        EXPECT_EQ(rig.sim().card(0)->t1().stats().ifs_requests, quirk ? 0u : 1u);
        auto r = rig.slot().transmit(kEcho2);
        ASSERT_TRUE(r) << describe(r.error());
        EXPECT_EQ(*r, kEcho2Response);
    }
}

TEST(QuirkEffect, PowerOffBeforeOn) {
    Quirks q;
    q.power_off_before_on = true;
    Rig without = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default(), options_with({}));
    Rig with = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default(), options_with(q));
    ASSERT_TRUE(without.slot().power_on());
    ASSERT_TRUE(with.slot().power_on());
    EXPECT_EQ(without.count(MessageType::PcToRdrIccPowerOff), 0u);
    EXPECT_EQ(with.count(MessageType::PcToRdrIccPowerOff), 1u);
    const auto sent = with.wire->sent();
    std::size_t off = sent.size(), on = sent.size();
    for (std::size_t i = 0; i < sent.size(); ++i) {
        if (sent[i][0] == 0x63 && off == sent.size()) off = i;
        if (sent[i][0] == 0x62 && on == sent.size()) on = i;
    }
    EXPECT_LT(off, on);
}

TEST(QuirkEffect, PollSlotStatusEvenWithAnInterruptPipe) {
    Quirks q;
    q.poll_slot_status = true;
    Rig without = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), std::nullopt, options_with({}));
    Rig with = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), std::nullopt, options_with(q));
    EXPECT_TRUE(without.reader->uses_interrupt_events());
    EXPECT_FALSE(with.reader->uses_interrupt_events());
    for (Rig* rig : {&without, &with}) {
        rig->sim().insert_card(0, sim::SimCard::t1_default());
        const auto before = rig->count(MessageType::PcToRdrGetSlotStatus);
        auto events = rig->reader->poll_events(Millis{500});
        ASSERT_TRUE(events) << describe(events.error());
        ASSERT_EQ(events->slots.size(), 1u);
        EXPECT_TRUE(events->slots[0].present);
        const auto polls = rig->count(MessageType::PcToRdrGetSlotStatus) - before;
        if (rig == &without) {
            EXPECT_EQ(polls, 0u);
            EXPECT_EQ(events->source, EventSource::Interrupt);
        } else {
            EXPECT_GE(polls, 1u);
            EXPECT_EQ(events->source, EventSource::Polling);
        }
    }
}

TEST(QuirkEffect, NoBulkInReadAhead) {
    // By default every command is announced (the reply's read may start before it goes out),
    // with a buffer that holds the largest reply; the quirk sends commands unannounced.
    Quirks q;
    q.no_bulk_in_read_ahead = true;
    Rig without = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), sim::SimCard::t1_default(), options_with({}));
    Rig with = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), sim::SimCard::t1_default(), options_with(q));
    for (Rig* rig : {&without, &with}) {
        ASSERT_TRUE(rig->slot().power_on());
        ASSERT_TRUE(rig->slot().transmit(kEcho2));
    }
    EXPECT_GE(without.wire->sent().size(), 2u);
    EXPECT_EQ(without.wire->prepared_sends(), without.wire->sent().size());
    EXPECT_GE(without.wire->min_prepared_length(), without.reader->caps().max_message_length);
    EXPECT_GE(with.wire->sent().size(), 2u);
    EXPECT_EQ(with.wire->prepared_sends(), 0u);
}

TEST(QuirkEffect, IgnoreInterruptEndpoint) {
    Quirks q;
    q.ignore_interrupt_endpoint = true;
    Rig without = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), sim::SimCard::t1_default(), options_with({}));
    Rig with = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), sim::SimCard::t1_default(), options_with(q));
    EXPECT_GT(without.wire->interrupt_reads(), 0u);  // drained at open
    EXPECT_EQ(with.wire->interrupt_reads(), 0u);
    with.sim().remove_card(0);
    auto events = with.reader->poll_events(Millis{500});
    ASSERT_TRUE(events);
    ASSERT_EQ(events->slots.size(), 1u);
    EXPECT_FALSE(events->slots[0].present);
    EXPECT_EQ(with.wire->interrupt_reads(), 0u);
}

TEST(QuirkEffect, AbortOnOpen) {
    Quirks q;
    q.abort_on_open = true;
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu, 2);
    Rig without = open_rig(config, std::nullopt, options_with({}));
    Rig with = open_rig(config, std::nullopt, options_with(q));
    EXPECT_EQ(without.count(MessageType::PcToRdrAbort), 0u);
    EXPECT_EQ(with.count(MessageType::PcToRdrAbort), 2u);  // one per slot
    EXPECT_EQ(with.sim().stats().control_requests, 2u);
}

TEST(QuirkEffect, OpenTimeoutFactor) {
    // The first GetSlotStatus after open gets no answer (slow-starting firmware).
    auto measure = [](const Quirks& q) {
        auto options = options_with(q);
        options.control_timeout = Millis{60};
        auto wire = std::make_unique<RecordingTransport>(
            std::make_unique<sim::ReaderSim>(sim::make_reader_config(ExchangeLevel::ShortApdu)));
        sim::ReaderFaults faults;
        faults.only_for = MessageType::PcToRdrGetSlotStatus;
        faults.silent = 1;
        wire->sim().set_faults(faults);
        const auto descriptor = wire->sim().config().descriptor;
        const auto start = Clock::now();
        auto reader = Reader::open(std::move(wire), descriptor, options);
        EXPECT_TRUE(reader) << describe(reader.error());  // the retry is answered
        return std::chrono::duration_cast<Millis>(Clock::now() - start);
    };
    Quirks q;
    q.open_timeout_factor = 5;
    EXPECT_LT(measure({}), Millis{250});
    EXPECT_GE(measure(q), Millis{300});
}

TEST(QuirkEffect, ExtraTimeout) {
    Quirks q;
    q.extra_timeout = Millis{7000};
    Millis waits[2];
    for (const bool quirk : {false, true}) {
        Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default(),
                           options_with(quirk ? q : Quirks{}));
        ASSERT_TRUE(rig.slot().power_on());
        rig.wire->clear();
        ASSERT_TRUE(rig.slot().transmit(kEcho2));
        waits[quirk] = rig.wire->max_bulk_in_timeout();
    }
    EXPECT_EQ(waits[1] - waits[0], Millis{7000});
}

TEST(QuirkEffect, MaxIfsd) {
    Quirks q;
    q.max_ifsd = 48;
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default(), options_with(q));
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    EXPECT_EQ(s->ifsd, 48);
    EXPECT_EQ(rig.sim().card(0)->t1().ifsd(), 48);
    // A long response now comes in 48-byte blocks.
    auto r = rig.slot().transmit(Bytes{0x80, 0x12, 0x00, 0x00, 0xC8});
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(r->size(), 202u);
    EXPECT_GE(rig.sim().card(0)->t1().stats().blocks_sent, 5u);
}

TEST(QuirkEffect, NoNad) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.dwFeatures |= 0x200;  // NAD other than 00 accepted
    auto card_for_nad = [](std::uint8_t nad) {
        sim::SimCardConfig c;
        c.atr = sim::SimCard::t1_default_atr();
        c.t1.nad = nad;
        return sim::SimCard(c);
    };
    Quirks q;
    q.no_nad = true;
    for (const bool quirk : {false, true}) {
        auto options = options_with(quirk ? q : Quirks{});
        options.t1_nad = 0x21;
        Rig rig = open_rig(config, card_for_nad(quirk ? 0x00 : 0x21), options);
        ASSERT_TRUE(rig.slot().power_on());
        rig.wire->clear();
        auto r = rig.slot().transmit(kEcho2);
        ASSERT_TRUE(r) << describe(r.error());
        const auto sent = rig.wire->sent();
        ASSERT_FALSE(sent.empty());
        ASSERT_GT(sent[0].size(), kHeaderSize);
        EXPECT_EQ(sent[0][kHeaderSize], quirk ? 0x00 : 0x21);  // the NAD of the I-block
    }
}

TEST(QuirkEffect, MinFirmwareRefusesKnownBrokenFirmware) {
    Quirks q;
    q.min_firmware = 0x0200;
    auto options = options_with(q);
    options.bcd_device = 0x0150;
    Rig refused = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), std::nullopt, options);
    ASSERT_FALSE(refused.reader);
    ASSERT_TRUE(refused.open_error);
    EXPECT_EQ(refused.open_error->code, ReaderErrc::FirmwareRefused);
    options.bcd_device = 0x0200;
    Rig fixed = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), std::nullopt, options);
    EXPECT_TRUE(fixed.reader);
    Rig no_quirk = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), std::nullopt, options_with({}));
    EXPECT_TRUE(no_quirk.reader);
}

TEST(QuirkEffect, VendorClassCcidIsAnEnumerationSwitch) {
    // Consumed when interfaces are enumerated (quirks_lookup.h), not by the Reader: with it a
    // vendor-class interface of the device counts as a CCID reader.
    constexpr std::uint16_t vid = 0x1209, pid = 0xCC1E;
    clear_user_quirks();
    EXPECT_FALSE(is_vendor_class_reader(vid, pid));
    UserQuirkRow row;
    row.row.vid = vid;
    row.row.pid = pid;
    row.row.name = "test token";
    row.row.quirks.vendor_class_ccid = true;
    row.fields.set(index_of(QuirkField::vendor_class_ccid));
    set_user_quirks({row});
    EXPECT_TRUE(is_vendor_class_reader(vid, pid));
    clear_user_quirks();
    // The Reader opens a vendor-type descriptor (bDescriptorType FFh) either way.
    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    config.descriptor.bDescriptorType = kVendorCcidDescriptorType;
    Quirks q;
    q.vendor_class_ccid = true;
    EXPECT_TRUE(open_rig(config, std::nullopt, options_with(q)).reader);
}

// A reader's dwMaxCCIDMessageLength below 271 (CCID 1.1 section 5.1): what the host sends keeps
// to the reported value (the simulated reader refuses anything longer with bError 01), replies
// are still read. Per exchange level: extended-APDU parts cut to fit, short APDUs that cannot
// fit refused before the wire, T=1 blocks with an IFSC capped to fit, T=0 command TPDUs that
// cannot fit refused, ENVELOPE segments and GET RESPONSE sized to fit.
#include "ccid/reader.h"

#include <algorithm>
#include <mutex>

#include <gtest/gtest.h>

#include "ccid/apdu_transfer.h"
#include "ccid/quirks_lookup.h"
#include "sim/card/echo_app.h"
#include "sim/reader/reader_sim.h"
#include "slot_rig.h"

using namespace ccidkit;
using namespace ccidkit::ccid;
using ccidkit::ccid::testing::fast_options;

namespace {

// Largest bulk-OUT message the simulated reader saw, and how many it answered with a failure.
struct WireLog {
    std::mutex mutex;
    std::size_t longest_out = 0;
};

struct Rig {
    sim::ReaderSim* sim = nullptr;
    std::shared_ptr<WireLog> wire = std::make_shared<WireLog>();
    std::unique_ptr<Reader> reader;
    Slot& slot() { return *reader->slot(0); }
    std::size_t xfr_blocks() const { return sim->stats().count(MessageType::PcToRdrXfrBlock); }
    std::size_t longest_out() const {
        std::lock_guard lock(wire->mutex);
        return wire->longest_out;
    }
};

Rig open_rig(sim::ReaderSimConfig config, std::uint32_t max_message, sim::SimCard card,
             ReaderOptions options = fast_options()) {
    config.descriptor.dwMaxCCIDMessageLength = max_message;
    auto owned = std::make_unique<sim::ReaderSim>(config);
    Rig rig;
    rig.sim = owned.get();
    rig.sim->insert_card(0, std::move(card));
    rig.sim->set_trace([wire = rig.wire](sim::TraceEvent event, ByteView message) {
        if (event != sim::TraceEvent::BulkOut) return;
        std::lock_guard lock(wire->mutex);
        wire->longest_out = std::max(wire->longest_out, message.size());
    });
    auto reader = Reader::open(std::move(owned), config.descriptor, options);
    EXPECT_TRUE(reader) << (reader ? "" : describe(reader.error()));
    if (reader) rig.reader = std::move(*reader);
    return rig;
}

Bytes pattern(std::size_t n) {
    Bytes d(n);
    for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<std::uint8_t>(i * 13 + 5);
    return d;
}

// ECHO with Nc = Ne = n; extended length fields above 255.
Bytes echo(std::size_t n) {
    Bytes a{sim::kEchoCla, sim::kInsEcho, 0x00, 0x00};
    const Bytes data = pattern(n);
    if (n <= 255) {
        a.push_back(static_cast<std::uint8_t>(n));
        a.insert(a.end(), data.begin(), data.end());
        a.push_back(static_cast<std::uint8_t>(n));
        return a;
    }
    a.insert(a.end(), {0x00, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    a.insert(a.end(), data.begin(), data.end());
    a.insert(a.end(), {static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    return a;
}

// The built-in rows only (no user quirks file).
Quirks builtin_for(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd) {
    return merge_quirks(builtin_quirks(), {}, vid, pid, bcd);
}

Bytes echo_answer(std::size_t n) {
    Bytes r = pattern(n);
    r.push_back(0x90);
    r.push_back(0x00);
    return r;
}

}  // namespace

TEST(SlotMessageLimit, CapsAreStrictForSendingAndLenientForReplies) {
    auto config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.descriptor.dwMaxCCIDMessageLength = 64;
    const ReaderCaps caps = make_reader_caps(config.descriptor, Quirks{});
    EXPECT_EQ(caps.max_send_length, 64u);
    EXPECT_EQ(caps.max_message_length, 271u);
    EXPECT_LE(caps.ifsd, 64u - 10 - 5);  // a whole T=1 block with CRC fits one message
}

TEST(SlotMessageLimit, ExtendedApduPartsAreCutToTheReportedLength) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::ExtendedApdu), 64, sim::SimCard::t1_default());
    ASSERT_TRUE(rig.slot().power_on());
    for (std::size_t n : {40u, 200u, 1000u}) {
        auto r = rig.slot().transmit(echo(n));
        ASSERT_TRUE(r) << n << ": " << describe(r.error());
        EXPECT_EQ(*r, echo_answer(n)) << n;
    }
    EXPECT_EQ(rig.longest_out(), 64u);
}

TEST(SlotMessageLimit, ShortApduThatCannotFitIsRefusedBeforeTheWire) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), 64, sim::SimCard::t1_default());
    ASSERT_TRUE(rig.slot().power_on());
    const std::size_t before = rig.xfr_blocks();
    auto refused = rig.slot().transmit(echo(50));  // 4 + 1 + 50 + 1 = 56 > 54
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ReaderErrc::ApduTooLong);
    EXPECT_EQ(rig.xfr_blocks(), before);
    auto fits = rig.slot().transmit(echo(20));
    ASSERT_TRUE(fits) << describe(fits.error());
    EXPECT_EQ(*fits, echo_answer(20));
    EXPECT_LE(rig.longest_out(), 64u);
}

TEST(SlotMessageLimit, T1BlocksUseAnIfscThatFits) {
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), 64, sim::SimCard::t1_default());
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    ASSERT_EQ(s->protocol, 1);
    EXPECT_LE(s->ifsd, 64u - 10 - 5);
    for (std::size_t n : {0u, 100u, 255u, 700u}) {
        auto r = rig.slot().transmit(n == 0 ? Bytes{sim::kEchoCla, sim::kInsEcho, 0x00, 0x00} : echo(n));
        ASSERT_TRUE(r) << n << ": " << describe(r.error());
        EXPECT_EQ(*r, echo_answer(n)) << n;
    }
    EXPECT_LE(rig.longest_out(), 64u);
    EXPECT_GT(rig.longest_out(), 50u);  // the blocks are as large as allowed, not minimal
}

TEST(SlotMessageLimit, T0CommandTpduThatCannotFitIsRefusedTheRestIsSized) {
    ReaderOptions options = fast_options();
    options.auto_get_response = true;  // the driver fetches the answers (GET RESPONSE)
    Rig rig = open_rig(sim::make_reader_config(ExchangeLevel::Tpdu), 64, sim::SimCard::t0_default(), options);
    auto s = rig.slot().power_on();
    ASSERT_TRUE(s) << describe(s.error());
    ASSERT_EQ(s->protocol, 0);
    const std::size_t before = rig.xfr_blocks();
    auto refused = rig.slot().transmit(echo(50));  // one TPDU of 5 + 50 > 54 bytes
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ReaderErrc::ApduTooLong);
    EXPECT_EQ(rig.xfr_blocks(), before);
    // 5 + 49 fits; the 49-byte answer comes back through GET RESPONSE (49 + 2 <= 54).
    auto fits = rig.slot().transmit(echo(49));
    ASSERT_TRUE(fits) << describe(fits.error());
    EXPECT_EQ(*fits, echo_answer(49));
    // Extended: ENVELOPE segments of at most 49 bytes, GET RESPONSE of at most 52.
    auto large = rig.slot().transmit(echo(600));
    ASSERT_TRUE(large) << describe(large.error());
    EXPECT_EQ(*large, echo_answer(600));
    EXPECT_LE(rig.longest_out(), 64u);
}

TEST(SlotMessageLimit, T0OptionsFollowTheMessageLength) {
    TransferSetup setup;
    setup.max_message_length = 64;
    const proto::T0ExchangeOptions fitted = fit_t0_options({}, setup);
    EXPECT_EQ(fitted.max_envelope_segment, 49u);
    EXPECT_EQ(fitted.max_get_response, 52u);
    EXPECT_GE(fitted.max_get_response_rounds * 52, 65538u);
    setup.max_message_length = 271;
    const proto::T0ExchangeOptions roomy = fit_t0_options({}, setup);
    EXPECT_EQ(roomy.max_envelope_segment, 255u);
    EXPECT_EQ(roomy.max_get_response, 256u);
}

TEST(SlotMessageLimit, ScmReadersReporting263AreTakenAt270) {
    CcidDescriptor d = sim::make_reader_config(ExchangeLevel::Tpdu).descriptor;
    d.dwMaxCCIDMessageLength = 263;
    for (std::uint16_t pid : {0x5111, 0x5120, 0x511C, 0x511F, 0x5410, 0x5612}) {
        const Quirks q = builtin_for(0x04E6, pid, 0x0700);
        EXPECT_EQ(q.descriptor.dwMaxCCIDMessageLength, 270u) << std::hex << pid;
        EXPECT_EQ(make_reader_caps(d, q).max_send_length, 270u) << std::hex << pid;
    }
    // Other readers keep what they report.
    EXPECT_EQ(make_reader_caps(d, builtin_for(0x03F0, 0x0824, 0x0100)).max_send_length, 263u);
}

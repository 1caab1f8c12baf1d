// APDU transmission at every exchange level against ReaderSim: TPDU (T=0, T=1), short APDU
// and extended APDU readers, data sizes from 0 to 65535 bytes each way, card-driven waiting
// time extensions, removal of the card in the middle of an APDU, character-level readers,
// and PIN entry through PC_to_RDR_Secure.
#include "ccid/reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "sim/card/apdu_app.h"
#include "sim/card/sim_card_pin_app.h"
#include "sim/reader/reader_sim.h"
#include "slot_rig.h"

using namespace ccidkit;
using namespace ccidkit::ccid;
using namespace ccidkit::ccid::testing;
using namespace std::chrono_literals;

namespace {

Rig powered_rig(const sim::ReaderSimConfig& config, sim::SimCard card, ReaderOptions options = fast_options()) {
    return open_rig(config, std::move(card), options, /*power=*/true);
}

Bytes data_of(std::size_t n) {
    Bytes d(n);
    for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<std::uint8_t>(i * 7 + 1);
    return d;
}

// ISO/IEC 7816-4 encoding with the shortest length fields for Nc data bytes and Ne.
Bytes apdu(std::uint8_t ins, std::uint8_t p2, ByteView data, std::size_t ne) {
    Bytes a{sim::kEchoCla, ins, 0x00, p2};
    const bool extended = data.size() > 255 || ne > 256;
    if (!extended) {
        if (!data.empty()) a.push_back(static_cast<std::uint8_t>(data.size()));
        a.insert(a.end(), data.begin(), data.end());
        if (ne > 0) a.push_back(static_cast<std::uint8_t>(ne == 256 ? 0 : ne));
        return a;
    }
    a.push_back(0x00);
    if (!data.empty()) {
        a.push_back(static_cast<std::uint8_t>(data.size() >> 8));
        a.push_back(static_cast<std::uint8_t>(data.size()));
        a.insert(a.end(), data.begin(), data.end());
    }
    if (ne > 0) {
        a.push_back(static_cast<std::uint8_t>(ne == 65536 ? 0 : ne >> 8));
        a.push_back(static_cast<std::uint8_t>(ne == 65536 ? 0 : ne));
    }
    return a;
}

Bytes with_sw(Bytes data, std::uint16_t sw = 0x9000) {
    data.push_back(static_cast<std::uint8_t>(sw >> 8));
    data.push_back(static_cast<std::uint8_t>(sw));
    return data;
}

struct Kind {
    const char* name;
    ExchangeLevel level;
    bool t1;
    bool short_only;  // the level takes short APDUs only
};

class TransmitSizes : public ::testing::TestWithParam<Kind> {
protected:
    Rig rig() {
        const Kind k = GetParam();
        ReaderOptions options = fast_options();
        options.auto_get_response = true;  // T=0 TPDU: collect long responses for the comparison
        return powered_rig(sim::make_reader_config(k.level), k.t1 ? sim::SimCard::t1_default() : sim::SimCard::t0_default(),
                           options);
    }
};

const std::size_t kSizes[] = {0, 1, 255, 256, 261, 4096, 65535};

}  // namespace

TEST_P(TransmitSizes, EchoBothWays) {
    Rig r = rig();
    ASSERT_TRUE(r.reader);
    for (const std::size_t n : kSizes) {
        const Bytes data = data_of(n);
        const Bytes command = apdu(sim::kInsEcho, 0x00, data, n);
        auto response = r.slot().transmit(command);
        if (GetParam().short_only && n > 255) {
            ASSERT_FALSE(response) << n;
            EXPECT_EQ(response.error().code, ReaderErrc::ApduTooLong) << n;
            continue;
        }
        ASSERT_TRUE(response) << n << " bytes: " << describe(response.error());
        EXPECT_EQ(*response, with_sw(data)) << n << " bytes";
    }
    EXPECT_TRUE(r.slot().active());
}

TEST_P(TransmitSizes, ResponsesOfEverySize) {
    Rig r = rig();
    ASSERT_TRUE(r.reader);
    for (const std::size_t n : {std::size_t{1}, std::size_t{255}, std::size_t{256}, std::size_t{261},
                                std::size_t{4096}, std::size_t{65535}, std::size_t{65536}}) {
        auto response = r.slot().transmit(apdu(sim::kInsPattern, 0x21, {}, n));
        if (GetParam().short_only && n > 256) {
            ASSERT_FALSE(response) << n;
            EXPECT_EQ(response.error().code, ReaderErrc::ApduTooLong) << n;
            continue;
        }
        ASSERT_TRUE(response) << n << " bytes: " << describe(response.error());
        EXPECT_EQ(*response, with_sw(sim::echo_pattern(n, 0x21))) << n << " bytes";
    }
}

INSTANTIATE_TEST_SUITE_P(Levels, TransmitSizes,
                         ::testing::Values(Kind{"TpduT0", ExchangeLevel::Tpdu, false, false},
                                           Kind{"TpduT1", ExchangeLevel::Tpdu, true, false},
                                           Kind{"ShortApduT0", ExchangeLevel::ShortApdu, false, true},
                                           Kind{"ShortApduT1", ExchangeLevel::ShortApdu, true, true},
                                           Kind{"ExtendedApduT0", ExchangeLevel::ExtendedApdu, false, false},
                                           Kind{"ExtendedApduT1", ExchangeLevel::ExtendedApdu, true, false}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(SlotTransmit, ExtendedApduReaderChainsBothWays) {
    Rig r = powered_rig(sim::make_reader_config(ExchangeLevel::ExtendedApdu), sim::SimCard::t1_default());
    const Bytes data = data_of(1000);
    auto response = r.slot().transmit(apdu(sim::kInsEcho, 0, data, 1000));
    ASSERT_TRUE(response) << describe(response.error());
    EXPECT_EQ(*response, with_sw(data));
    // 1009-byte command in 261-byte parts (4 XfrBlocks), 1002-byte response in 4 parts (3 more).
    EXPECT_EQ(r.sim->stats().count(MessageType::PcToRdrXfrBlock), 7u);
}

TEST(SlotTransmit, T0GetResponseIsLeftToTheCallerByDefault) {
    Rig r = powered_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t0_default());
    const Bytes data = data_of(4);
    auto first = r.slot().transmit(apdu(sim::kInsEcho, 0, data, 4));
    ASSERT_TRUE(first) << describe(first.error());
    EXPECT_EQ(*first, (Bytes{0x61, 0x04}));
    auto rest = r.slot().transmit(Bytes{0x00, 0xC0, 0x00, 0x00, 0x04});
    ASSERT_TRUE(rest) << describe(rest.error());
    EXPECT_EQ(*rest, with_sw(data));
}

TEST(SlotTransmit, CardWaitingTimeExtensionsAtTpduLevel) {
    sim::SimCardConfig c;
    c.atr = sim::SimCard::t1_default_atr();
    c.t1.wtx_requests = 2;
    c.t1.wtx_multiplier = 4;
    Rig r = powered_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard(c));
    auto response = r.slot().transmit(apdu(sim::kInsEcho, 0, data_of(3), 3));
    ASSERT_TRUE(response) << describe(response.error());
    EXPECT_EQ(*response, with_sw(data_of(3)));
    EXPECT_EQ(r.sim->card(0)->t1().stats().commands, 1u);
}

TEST(SlotTransmit, CardWaitingTimeExtensionsAtApduLevel) {
    sim::SimCardConfig c;
    c.atr = sim::SimCard::t1_default_atr();
    c.t1.wtx_requests = 3;
    Rig r = powered_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), sim::SimCard(c));
    const auto before = r.reader->exchange_stats().time_extensions;
    auto response = r.slot().transmit(apdu(sim::kInsEcho, 0, data_of(3), 3));
    ASSERT_TRUE(response) << describe(response.error());
    EXPECT_EQ(r.reader->exchange_stats().time_extensions - before, 3u);  // one CCID time extension per S(WTX)
}

TEST(SlotTransmit, CardRemovedInTheMiddleOfAnApdu) {
    ReaderOptions options = fast_options();
    options.exchange.max_time_extensions = 100'000'000;
    options.exchange.max_total_wait = Millis{20'000};
    Rig r = powered_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default(), options);
    sim::ReaderFaults faults;
    faults.endless_time_extension = true;  // the APDU is still running when the card goes
    r.sim->set_faults(faults);
    std::thread puller([&] {
        std::this_thread::sleep_for(30ms);
        r.sim->remove_card(0);
    });
    auto response = r.slot().transmit(apdu(sim::kInsEcho, 0, data_of(600), 600));
    puller.join();
    ASSERT_FALSE(response);
    EXPECT_EQ(response.error().code, ReaderErrc::CardRemoved);
    EXPECT_FALSE(r.slot().active());
    r.sim->set_faults({});
    auto again = r.slot().transmit(apdu(sim::kInsEcho, 0, data_of(1), 1));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ReaderErrc::CardNotPowered);
}

TEST(SlotTransmit, CharacterLevelReadersAreRefusedClearly) {
    Rig r = powered_rig(sim::make_reader_config(ExchangeLevel::Character), sim::SimCard::t0_default());
    auto response = r.slot().transmit(apdu(sim::kInsEcho, 0, data_of(1), 1));
    ASSERT_FALSE(response);
    EXPECT_EQ(response.error().code, ReaderErrc::CharacterLevelUnsupported);
    EXPECT_EQ(r.sim->stats().count(MessageType::PcToRdrXfrBlock), 0u);
}

TEST(SlotTransmit, MalformedCommandsAreRefusedBeforeTheWire) {
    Rig r = powered_rig(sim::make_reader_config(ExchangeLevel::Tpdu), sim::SimCard::t1_default());
    const auto before = r.sim->stats().count(MessageType::PcToRdrXfrBlock);
    auto empty = r.slot().transmit({});
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, ReaderErrc::InvalidApdu);
    auto three = r.slot().transmit(Bytes{0x00, 0xA4, 0x04});
    ASSERT_FALSE(three);
    EXPECT_EQ(three.error().code, ReaderErrc::InvalidApdu);
    EXPECT_EQ(r.sim->stats().count(MessageType::PcToRdrXfrBlock), before);
}

namespace {

// VERIFY for reference 01: ASCII digits left-justified in an 8-byte block padded with FF.
PinVerify ascii_verify() {
    PinVerify v;
    v.bTimeOut = 30;
    v.bmFormatString = 0x82;
    v.bmPINBlockString = 0x08;
    v.bmPINLengthFormat = 0x00;
    v.wPINMaxExtraDigit = 0x0408;
    v.abPINApdu = {0x00, 0x20, 0x00, 0x01, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    return v;
}

sim::SimCard pin_card(bool t1) {
    sim::SimCardConfig c;
    c.atr = t1 ? sim::SimCard::t1_default_atr() : sim::SimCard::t0_default_atr();
    const Bytes reference{'1', '2', '3', '4', 0xFF, 0xFF, 0xFF, 0xFF};
    return sim::SimCard(c, std::make_unique<sim::PinCheckApp>(std::make_unique<sim::DemoCardApp>(), 0x01, reference));
}

sim::ReaderSimConfig pinpad_reader(ExchangeLevel level, sim::PinPadAction action) {
    auto config = sim::make_reader_config(level);
    config.descriptor.bPINSupport = kPinVerify | kPinModify;
    config.pinpad.action = action;
    config.pinpad.pin = "1234";
    return config;
}

}  // namespace

TEST(SlotSecure, VerifyPinAtEveryLevel) {
    struct Case {
        ExchangeLevel level;
        bool t1;
    };
    for (const Case c : {Case{ExchangeLevel::ShortApdu, true}, Case{ExchangeLevel::ExtendedApdu, false},
                         Case{ExchangeLevel::Tpdu, false}, Case{ExchangeLevel::Tpdu, true}}) {
        Rig r = powered_rig(pinpad_reader(c.level, sim::PinPadAction::Enter), pin_card(c.t1));
        auto response = r.slot().secure_verify(ascii_verify());
        ASSERT_TRUE(response) << to_string(c.level) << " T=" << c.t1 << ": " << describe(response.error());
        EXPECT_EQ(*response, (Bytes{0x90, 0x00})) << to_string(c.level) << " T=" << c.t1;
        // The session goes on normally (T=1 TPDU: the engine counted the reader's block).
        auto next = r.slot().transmit(apdu(sim::kInsPattern, 0, {}, 2));
        ASSERT_TRUE(next) << describe(next.error());
        EXPECT_EQ(*next, with_sw(sim::echo_pattern(2, 0)));
    }
}

TEST(SlotSecure, CancelAndTimeoutBecomeStatusWords) {
    for (const bool t1 : {false, true}) {
        Rig cancelled = powered_rig(pinpad_reader(ExchangeLevel::Tpdu, sim::PinPadAction::Cancel), pin_card(t1));
        auto c = cancelled.slot().secure_verify(ascii_verify());
        ASSERT_TRUE(c) << describe(c.error());
        EXPECT_EQ(*c, (Bytes{0x64, 0x01}));
        // T=1 TPDU: the block was never sent; the next exchange still works.
        auto next = cancelled.slot().transmit(apdu(sim::kInsPattern, 0, {}, 2));
        ASSERT_TRUE(next) << "T=" << t1 << ": " << describe(next.error());
        EXPECT_EQ(*next, with_sw(sim::echo_pattern(2, 0)));

        Rig timed_out = powered_rig(pinpad_reader(ExchangeLevel::ShortApdu, sim::PinPadAction::Timeout), pin_card(t1));
        auto t = timed_out.slot().secure_verify(ascii_verify());
        ASSERT_TRUE(t) << describe(t.error());
        EXPECT_EQ(*t, (Bytes{0x64, 0x00}));
    }
}

TEST(SlotSecure, ReaderWithoutPinPad) {
    Rig r = powered_rig(sim::make_reader_config(ExchangeLevel::ShortApdu), pin_card(true));
    auto response = r.slot().secure_verify(ascii_verify());
    ASSERT_FALSE(response);
    EXPECT_EQ(response.error().code, ReaderErrc::CommandNotSupported);
}

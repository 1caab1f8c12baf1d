// ReaderSim exchange levels: TPDU (host runs T=0/T=1 with the repo's host engines), short and
// extended APDU (the reader runs them, chaining over several messages), character level;
// host-driven and automatic PPS; time extensions from the card's S(WTX); removal mid-command.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ccid/slot_error.h"
#include "protocol/apdu.h"
#include "protocol/pps.h"
#include "protocol/t0_exchange.h"
#include "protocol/t1_engine.h"
#include "sim/card/echo_app.h"
#include "sim/reader/reader_probe.h"
#include "sim/reader/reader_sim.h"

namespace ccidkit::sim {
namespace {

using namespace std::chrono_literals;
namespace pc = ccid::pc_to_rdr;
namespace rp = ccid::rdr_to_pc;
namespace code = ccid::slot_error_code;

Bytes hex(std::string_view s) { return from_hex(s).value(); }

template <class T>
T reply_as(const ccid::Response& r) {
    if (const T* p = std::get_if<T>(&r)) return *p;
    ADD_FAILURE() << "unexpected reply " << ccid::message_type_name(ccid::message_type(r));
    return T{};
}

rp::DataBlock xfr(ReaderProbe& host, ByteView data, std::uint16_t level = 0) {
    auto r = host.transact(pc::XfrBlock{0, host.next_seq(), 0, level, Bytes(data.begin(), data.end())});
    if (!r) {
        ADD_FAILURE() << r.error().describe();
        return {};
    }
    return reply_as<rp::DataBlock>(r->reply);
}

rp::DataBlock power_on(ReaderProbe& host) {
    auto r = host.transact(pc::IccPowerOn{0, host.next_seq(), ccid::PowerSelect::Automatic});
    EXPECT_TRUE(r);
    return r ? reply_as<rp::DataBlock>(r->reply) : rp::DataBlock{};
}

rp::Parameters set_parameters(ReaderProbe& host, const ccid::ProtocolParameters& p) {
    auto r = host.transact(pc::SetParameters{0, host.next_seq(), p});
    EXPECT_TRUE(r);
    return r ? reply_as<rp::Parameters>(r->reply) : rp::Parameters{};
}

Bytes with_sw(Bytes data, std::uint16_t sw = 0x9000) {
    data.push_back(static_cast<std::uint8_t>(sw >> 8));
    data.push_back(static_cast<std::uint8_t>(sw));
    return data;
}

// The host side of a TPDU-level T=1 reader: the repo's T1Engine over XfrBlock.
Bytes t1_over_tpdu(ReaderProbe& host, proto::T1Engine& engine, ByteView apdu) {
    EXPECT_TRUE(engine.start(apdu));
    for (int steps = 0; engine.state() == proto::T1State::Busy && steps < 2000; ++steps) {
        auto block = engine.poll_transmit();
        if (!block) {
            engine.handle_timeout();
            continue;
        }
        const rp::DataBlock reply = xfr(host, *block);
        if (reply.status.ok()) {
            engine.handle_block(reply.abData);
        } else {
            engine.handle_timeout();
        }
    }
    EXPECT_EQ(engine.state(), proto::T1State::Done);
    return engine.take_response();
}

// The host side of a TPDU-level T=0 reader.
Bytes t0_over_tpdu(ReaderProbe& host, ByteView apdu) {
    proto::T0Exchange exchange;
    EXPECT_TRUE(exchange.start(apdu));
    while (auto tpdu = exchange.poll_transmit()) {
        const rp::DataBlock reply = xfr(host, *tpdu);
        EXPECT_TRUE(reply.status.ok()) << int(reply.status.bError);
        if (!reply.status.ok()) return {};
        exchange.handle_response(reply.abData);
    }
    EXPECT_EQ(exchange.state(), proto::T0Exchange::State::Done);
    return exchange.take_response();
}

// ---- TPDU level ---------------------------------------------------------------------------------

TEST(ReaderLevels, TpduT1WithTheHostEngine) {
    ReaderSim sim;
    auto card = sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    proto::T1Config config;
    config.ifsc = 254;
    config.negotiate_ifsd_first = true;
    proto::T1Engine engine(config);
    Bytes data(700);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
    const Bytes apdu = proto::build_case4(kEchoCla, kInsEcho, 0, 0, data, 700, proto::LengthEncoding::Extended).value();
    EXPECT_EQ(t1_over_tpdu(host, engine, apdu), with_sw(data));
    EXPECT_EQ(card->apdus_processed(), 1u);
}

TEST(ReaderLevels, TpduT0WithTheHostEngine) {
    ReaderSim sim;
    sim.insert_card(0, SimCard::t0_default());
    ReaderProbe host(sim);
    power_on(host);
    const Bytes apdu = proto::build_case4(kEchoCla, kInsEcho, 0, 0, hex("01 02 03 04"), 256).value();
    EXPECT_EQ(t0_over_tpdu(host, apdu), with_sw(hex("01 02 03 04")));
}

TEST(ReaderLevels, TpduReplyLongerThanTheReaderAllowsIsAnOverrun) {
    ReaderSimConfig config;
    config.descriptor.dwMaxCCIDMessageLength = 64;
    ReaderSim sim(config);
    sim.insert_card(0, SimCard::t0_default());
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(xfr(host, hex("80 12 00 00 20")).abData.size(), 34u);       // 32 + SW fit
    EXPECT_EQ(xfr(host, hex("80 12 00 00 3C")).status.bError, code::kXfrOverrun);  // 60 + SW do not
}

TEST(ReaderLevels, HostDrivenPpsThenSetParameters) {
    // Like the ACR38U of the corpus: TPDU level, automatic clock and baud rate only.
    ReaderSimConfig config;
    config.descriptor.dwFeatures = 0x00010030;
    ReaderSim sim(config);
    auto card = sim.insert_card(0, SimCard::t0_default());
    ReaderProbe host(sim);
    power_on(host);
    const Bytes request = proto::build_pps_request(proto::PpsRequest{0, 0x13, {}, {}}).value();
    EXPECT_EQ(xfr(host, request).abData, request);
    EXPECT_EQ(card->link(), (CardLink{0, 1, 3}));
    // The reader still runs at Fd/Dd: the characters come out garbled.
    EXPECT_EQ(xfr(host, hex("80 10 00 00 01 AA")).status.bError, code::kXfrParityError);
    ccid::T0Parameters t0;
    t0.bmFindexDindex = 0x13;
    EXPECT_EQ(set_parameters(host, t0).status.bError, 0);
    EXPECT_EQ(to_hex(xfr(host, hex("80 10 00 00 01 AA")).abData), "61 01");
    // PPS is only possible right after the ATR: now the card does not answer it.
    EXPECT_EQ(xfr(host, request).status.bError, 10);  // CLA FF is refused as a T=0 TPDU
}

TEST(ReaderLevels, NoAutomaticConfigurationMeansDefaultParameters) {
    ReaderSimConfig config;
    config.descriptor.dwFeatures = 0x00010030;
    ReaderSim sim(config);
    SimCardConfig crc;
    crc.atr = SimCard::t1_default_atr();
    crc.atr.edc = proto::T1Edc::Crc;
    crc.atr.ifsc = 100;
    sim.insert_card(0, SimCard(crc));
    ReaderProbe host(sim);
    power_on(host);
    const auto params = reply_as<rp::Parameters>(host.transact(pc::GetParameters{0, host.next_seq()})->reply);
    const auto t1 = std::get<ccid::T1Parameters>(params.parameters().value());
    EXPECT_EQ(t1, ccid::T1Parameters{});  // the host has to send SetParameters
}

TEST(ReaderLevels, AutomaticNegotiationAtPowerOn) {
    ReaderSimConfig config;
    config.descriptor.dwFeatures = ccid::kLevelTpdu | 0x40 | 0x02;
    ReaderSim sim(config);
    auto card = sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(card->link(), (CardLink{1, 9, 6}));  // TA1 = 96 fits dwMaxDataRate
    const auto params = reply_as<rp::Parameters>(host.transact(pc::GetParameters{0, host.next_seq()})->reply);
    EXPECT_EQ(std::get<ccid::T1Parameters>(params.parameters().value()).bmFindexDindex, 0x96);
    proto::T1Config t1;
    t1.ifsc = 254;
    proto::T1Engine engine(t1);
    EXPECT_EQ(to_hex(t1_over_tpdu(host, engine, hex("00 A4 00 0C 02 3F 00"))), "90 00");
}

TEST(ReaderLevels, AutomaticPpsRefusedAfterTheFirstExchange) {
    ReaderSim sim;
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    proto::T1Engine engine(proto::T1Config{});
    EXPECT_EQ(to_hex(t1_over_tpdu(host, engine, hex("00 A4 00 0C 02 3F 00"))), "90 00");
    ccid::T1Parameters t1;
    t1.bmFindexDindex = 0x96;
    t1.bIFSC = 254;
    EXPECT_EQ(set_parameters(host, t1).status.bError, 10);  // too late for PPS
}

// ---- Short APDU level ---------------------------------------------------------------------------

TEST(ReaderLevels, ShortApduT1AndT0) {
    ReaderSim sim(make_reader_config(ccid::ExchangeLevel::ShortApdu, 2));
    sim.insert_card(0, SimCard::t1_default());
    sim.insert_card(1, SimCard::t0_default());
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(xfr(host, proto::build_case2(kEchoCla, kInsPattern, 0, 9, 256).value()).abData,
              with_sw(echo_pattern(256, 9)));
    // Extended length fields are refused at this level.
    const Bytes extended = proto::build_case2(kEchoCla, kInsPattern, 0, 9, 300).value();
    EXPECT_EQ(xfr(host, extended).status.bError, 1);

    ASSERT_TRUE(host.transact(pc::IccPowerOn{1, host.next_seq(), ccid::PowerSelect::Automatic}));
    auto r = host.transact(pc::XfrBlock{1, host.next_seq(), 0, 0, proto::build_case4(kEchoCla, kInsEcho, 0, 0,
                                                                                     hex("AA BB"), 256).value()});
    ASSERT_TRUE(r);
    EXPECT_EQ(to_hex(reply_as<rp::DataBlock>(r->reply).abData), "AA BB 90 00");  // GET RESPONSE by the reader
}

TEST(ReaderLevels, ShortApduResponseTooLongForTheReader) {
    ReaderSimConfig config = make_reader_config(ccid::ExchangeLevel::ShortApdu);
    config.descriptor.dwMaxCCIDMessageLength = 100;
    ReaderSim sim(config);
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(xfr(host, proto::build_case2(kEchoCla, kInsPattern, 0, 0, 200).value()).status.bError,
              code::kXfrOverrun);
}

TEST(ReaderLevels, CardWtxBecomesTimeExtensions) {
    ReaderSimConfig config = make_reader_config(ccid::ExchangeLevel::ShortApdu);
    config.time_extensions = 1;
    config.time_extension_multiplier = 3;
    ReaderSim sim(config);
    SimCardConfig slow;
    slow.atr = SimCard::t1_default_atr();
    slow.t1.wtx_requests = 2;
    slow.t1.wtx_multiplier = 5;
    sim.insert_card(0, SimCard(slow));
    ReaderProbe host(sim);
    auto on = host.transact(pc::IccPowerOn{0, host.next_seq(), ccid::PowerSelect::Automatic});
    ASSERT_TRUE(on);
    EXPECT_EQ(on->time_extensions.size(), 1u);  // the configured one
    auto r = host.transact(pc::XfrBlock{0, host.next_seq(), 0, 0, hex("00 A4 00 0C 02 3F 00")});
    ASSERT_TRUE(r);
    std::vector<std::uint8_t> multipliers;
    for (const auto& te : r->time_extensions) multipliers.push_back(ccid::status_of(te).bError);
    EXPECT_EQ(multipliers, (std::vector<std::uint8_t>{3, 5, 5}));
    EXPECT_EQ(to_hex(reply_as<rp::DataBlock>(r->reply).abData), "90 00");
    EXPECT_EQ(sim.stats().time_extensions, 4u);
}

// ---- Extended APDU level ------------------------------------------------------------------------

TEST(ReaderLevels, ExtendedApduChainsCommandAndResponse) {
    ReaderSim sim(make_reader_config(ccid::ExchangeLevel::ExtendedApdu));  // dwMaxCCIDMessageLength 271
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    Bytes data(600);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 3);
    const Bytes apdu = proto::build_case4(kEchoCla, kInsEcho, 0, 0, data, 600, proto::LengthEncoding::Extended).value();
    ASSERT_EQ(apdu.size(), 609u);
    const ByteView v(apdu);
    // Command: 01h, 03h, 02h; the reader asks for more with empty 10h blocks.
    auto part = xfr(host, v.first(261), ccid::chain::kBegins);
    EXPECT_EQ(part.bChainParameter, ccid::chain::kEmptyContinue);
    EXPECT_TRUE(part.abData.empty());
    part = xfr(host, v.subspan(261, 261), ccid::chain::kContinues);
    EXPECT_EQ(part.bChainParameter, ccid::chain::kEmptyContinue);
    part = xfr(host, v.subspan(522), ccid::chain::kEnds);
    // Response (602 bytes): 01h, then 03h and 02h each after the host's empty 10h.
    Bytes response;
    std::vector<std::uint8_t> chain{part.bChainParameter};
    response.insert(response.end(), part.abData.begin(), part.abData.end());
    for (int i = 0; i < 5 && chain.back() != ccid::chain::kEnds; ++i) {
        part = xfr(host, {}, ccid::chain::kEmptyContinue);
        chain.push_back(part.bChainParameter);
        response.insert(response.end(), part.abData.begin(), part.abData.end());
    }
    EXPECT_EQ(chain, (std::vector<std::uint8_t>{ccid::chain::kBegins, ccid::chain::kContinues, ccid::chain::kEnds}));
    EXPECT_EQ(response, with_sw(data));
}

TEST(ReaderLevels, ExtendedApduChainingErrors) {
    ReaderSim sim(make_reader_config(ccid::ExchangeLevel::ExtendedApdu));
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    power_on(host);
    EXPECT_EQ(xfr(host, hex("00 01"), ccid::chain::kContinues).status.bError, 8);  // no chain begun
    EXPECT_EQ(xfr(host, hex("00 01"), ccid::chain::kEnds).status.bError, 8);
    EXPECT_EQ(xfr(host, {}, ccid::chain::kEmptyContinue).status.bError, 8);  // no response pending
    EXPECT_EQ(xfr(host, hex("00"), 0x0005).status.bError, 8);
    // A short APDU in one message still works, and so does a whole extended one that fits.
    EXPECT_EQ(to_hex(xfr(host, hex("00 A4 00 0C 02 3F 00")).abData), "90 00");
    const Bytes small_extended = proto::build_case4(kEchoCla, kInsEcho, 0, 0, hex("11 22"), 2,
                                                    proto::LengthEncoding::Extended).value();
    EXPECT_EQ(to_hex(xfr(host, small_extended).abData), "11 22 90 00");
}

// ---- Character level ----------------------------------------------------------------------------

TEST(ReaderLevels, CharacterLevelT0) {
    ReaderSim sim(make_reader_config(ccid::ExchangeLevel::Character));
    auto card = sim.insert_card(0, SimCard::t0_default());
    ReaderProbe host(sim);
    EXPECT_EQ(power_on(host).abData, card->atr());
    const Bytes request = proto::build_pps_request(proto::PpsRequest{0, 0x13, {}, {}}).value();
    EXPECT_EQ(xfr(host, request, 4).abData, request);
    ccid::T0Parameters t0;
    t0.bmFindexDindex = 0x13;
    EXPECT_EQ(set_parameters(host, t0).status.bError, 0);
    EXPECT_EQ(to_hex(xfr(host, hex("80 10 00 00 02"), 1).abData), "10");  // ACK
    EXPECT_EQ(to_hex(xfr(host, hex("AB CD"), 2).abData), "61 02");
    EXPECT_EQ(to_hex(xfr(host, hex("00 C0 00 00 02"), 5).abData), "C0 AB CD 90 00");
    // Asking for more characters than the card sends: the reader times out.
    EXPECT_EQ(xfr(host, hex("00 C0 00 00 02"), 3).status.bError, code::kIccMute);
}

// ---- Removal during a command --------------------------------------------------------------------

TEST(ReaderLevels, CardRemovedDuringTimeExtensions) {
    ReaderSimConfig config = make_reader_config(ccid::ExchangeLevel::ShortApdu);
    config.time_extensions = 3;
    ReaderSim sim(config);
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    ASSERT_TRUE(host.transact(pc::IccPowerOn{0, host.next_seq(), ccid::PowerSelect::Automatic}));
    ASSERT_TRUE(host.send(pc::XfrBlock{0, 9, 0, 0, hex("00 A4 00 0C 02 3F 00")}));
    const auto first = reply_as<rp::DataBlock>(host.receive().value());
    EXPECT_EQ(first.status.command(), ccid::CommandStatus::TimeExtension);
    std::thread remover([&] { sim.remove_card(0); });
    remover.join();
    const auto last = reply_as<rp::DataBlock>(host.receive().value());
    EXPECT_EQ(last.bSeq, 9);
    EXPECT_EQ(last.status,
              ccid::Status::make(ccid::IccStatus::Absent, ccid::CommandStatus::Failed, code::kIccMute));
}

}  // namespace
}  // namespace ccidkit::sim

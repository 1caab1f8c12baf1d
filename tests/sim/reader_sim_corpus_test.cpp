// ReaderSim impersonating real readers of the corpus (/work/shared/corpus/ccid-readers): the
// simulator takes their exchange level, slots, busy-slot limit, message length, voltages,
// interrupt endpoint and clock / data-rate lists, and a card can be used through every one.
#include <gtest/gtest.h>

#include <filesystem>

#include "ccid/class_requests.h"
#include "ccid/slot_error.h"
#include "protocol/t1_block.h"
#include "sim/reader/reader_probe.h"
#include "sim/reader/reader_sim.h"
#include "sim/reader_corpus.h"

namespace ccidkit::sim {
namespace {

namespace pc = ccid::pc_to_rdr;
namespace rp = ccid::rdr_to_pc;
namespace code = ccid::slot_error_code;

std::filesystem::path corpus_dir() { return std::filesystem::path(CCIDKIT_SHARED_DIR) / "corpus" / "ccid-readers"; }

// The first interface of `file` whose exchange level is `level` (the corpus records composite
// readers as several interfaces).
std::optional<CorpusInterface> corpus_interface(const std::string& file, ccid::ExchangeLevel level) {
    auto reader = load_reader_file(corpus_dir() / file);
    if (!reader) return std::nullopt;
    for (const CorpusInterface& i : reader->interfaces) {
        if (simulated_level(i.descriptor) == level) return i;
    }
    return std::nullopt;
}

#define REQUIRE_CORPUS()                                                                  \
    do {                                                                                  \
        if (!std::filesystem::is_directory(corpus_dir())) {                               \
            GTEST_SKIP() << "reader corpus not available at " << corpus_dir().string(); \
        }                                                                                 \
    } while (false)

// One command APDU through the reader at whatever level it works, the way a host would.
// Returns the response APDU, or nullopt with a test failure.
std::optional<Bytes> select_mf(ReaderSim& sim, ReaderProbe& host, std::uint8_t slot, ccid::ExchangeLevel level) {
    const Bytes apdu = from_hex("00 A4 00 0C 02 3F 00").value();
    Bytes payload = apdu;
    if (level == ccid::ExchangeLevel::Tpdu) {
        // T=1 I-block N(S) = 0, NAD 0, LRC: the card is fresh after its ATR.
        payload = proto::encode(proto::T1Block::i_block(0, 0, false, apdu), proto::T1Edc::Lrc).value();
    }
    auto r = host.transact(pc::XfrBlock{slot, host.next_seq(), 0, 0, payload});
    if (!r) {
        ADD_FAILURE() << r.error().describe();
        return std::nullopt;
    }
    const auto block = std::get<rp::DataBlock>(r->reply);
    if (!block.status.ok()) {
        ADD_FAILURE() << "bError " << int(block.status.bError) << " at level " << ccid::to_string(level);
        return std::nullopt;
    }
    if (level == ccid::ExchangeLevel::Tpdu) {
        auto decoded = proto::decode(block.abData, proto::T1Edc::Lrc);
        if (!decoded) return std::nullopt;
        return decoded->inf;
    }
    (void)sim;
    return block.abData;
}

TEST(ReaderSimCorpus, TpduReaderWithoutAutomaticConfiguration) {
    REQUIRE_CORPUS();
    const auto record = corpus_interface("ACR38U-CCID.txt", ccid::ExchangeLevel::Tpdu);
    ASSERT_TRUE(record);
    ReaderSim sim(reader_config_from_corpus(*record));
    EXPECT_EQ(sim.config().vendor_id, record->device.vendor_id);
    EXPECT_EQ(sim.slot_count(), 1u);
    EXPECT_TRUE(sim.has_interrupt_in());
    sim.insert_card(0, SimCard::t1_default());
    ReaderProbe host(sim);
    // 5 V only (bVoltageSupport 01).
    auto three = host.transact(pc::IccPowerOn{0, host.next_seq(), ccid::PowerSelect::V3_0});
    ASSERT_TRUE(three);
    EXPECT_EQ(ccid::status_of(three->reply).bError, 7);
    ASSERT_TRUE(host.transact(pc::IccPowerOn{0, host.next_seq(), ccid::PowerSelect::V5_0}));
    // No automatic configuration: ISO defaults until SetParameters.
    auto params = host.transact(pc::GetParameters{0, host.next_seq()});
    ASSERT_TRUE(params);
    EXPECT_EQ(std::get<ccid::T1Parameters>(std::get<rp::Parameters>(params->reply).parameters().value()),
              ccid::T1Parameters{});
    EXPECT_EQ(select_mf(sim, host, 0, ccid::ExchangeLevel::Tpdu), from_hex("90 00"));
    // dwMaxCCIDMessageLength 271: a longer message is refused.
    auto big = host.transact(pc::XfrBlock{0, host.next_seq(), 0, 0, Bytes(262, 0)});
    ASSERT_TRUE(big);
    EXPECT_EQ(ccid::status_of(big->reply).bError, 1);
}

TEST(ReaderSimCorpus, MultiSlotExtendedApduReader) {
    REQUIRE_CORPUS();
    const auto record = corpus_interface("ACS_ACR1281U.txt", ccid::ExchangeLevel::ExtendedApdu);
    ASSERT_TRUE(record);
    ASSERT_EQ(record->descriptor.bMaxSlotIndex, 2);
    ASSERT_EQ(record->descriptor.bMaxCCIDBusySlots, 1);
    ReaderSim sim(reader_config_from_corpus(*record));
    EXPECT_EQ(sim.slot_count(), 3u);
    sim.insert_card(2, SimCard::t0_default());
    ReaderProbe host(sim);
    ASSERT_TRUE(host.transact(pc::IccPowerOn{2, host.next_seq(), ccid::PowerSelect::Automatic}));
    EXPECT_EQ(select_mf(sim, host, 2, ccid::ExchangeLevel::ExtendedApdu), from_hex("90 00"));
    // bMaxCCIDBusySlots = 1: while slot 2 works, slot 0 is refused.
    ASSERT_TRUE(host.send(pc::GetSlotStatus{2, 0x50}));
    ASSERT_TRUE(host.send(pc::GetSlotStatus{0, 0x51}));
    const auto refused = host.receive();
    ASSERT_TRUE(refused);
    EXPECT_EQ(ccid::seq_of(*refused), 0x51);
    EXPECT_EQ(ccid::status_of(*refused).bError, code::kCmdSlotBusy);
    EXPECT_TRUE(host.receive());
}

TEST(ReaderSimCorpus, DataRateListComesFromTheReader) {
    REQUIRE_CORPUS();
    const auto record = corpus_interface("AlcorMicro_AU9522.txt", ccid::ExchangeLevel::ShortApdu);
    ASSERT_TRUE(record);
    ASSERT_FALSE(record->data_rates_bps.empty());
    ReaderSim sim(reader_config_from_corpus(*record));
    EXPECT_EQ(sim.slot_count(), std::size_t{record->descriptor.bMaxSlotIndex} + 1);
    const std::uint8_t count = record->descriptor.bNumDataRatesSupported;
    Bytes buf(ccid::dword_array_reply_size(count));
    auto n = sim.control_in(ccid::get_data_rates_request(sim.interface_number()), buf, std::chrono::milliseconds(100));
    ASSERT_TRUE(n);
    const auto rates = ccid::whole_dwords(ByteView(buf).first(*n), count);
    ASSERT_EQ(rates.size(), std::min<std::size_t>(count, record->data_rates_bps.size()));
    for (std::size_t i = 0; i < rates.size(); ++i) {
        EXPECT_EQ(rates[i], static_cast<std::uint32_t>(record->data_rates_bps[i]));
    }
}

// Every CCID interface of the corpus: the simulator follows its level, slot count and
// interrupt endpoint, and a card answers through it.
TEST(ReaderSimCorpus, EveryReaderOfTheCorpusCanBeSimulated) {
    REQUIRE_CORPUS();
    auto files = list_corpus(corpus_dir());
    ASSERT_TRUE(files);
    std::size_t exercised = 0;
    for (const auto& file : *files) {
        auto reader = load_reader_file(file);
        if (!reader) continue;
        for (const CorpusInterface& record : reader->interfaces) {
            SCOPED_TRACE(reader->file_name + " line " + std::to_string(record.first_line));
            const ReaderSimConfig config = reader_config_from_corpus(record);
            ReaderSim sim(config);
            EXPECT_EQ(sim.slot_count(), std::size_t{record.descriptor.bMaxSlotIndex} + 1);
            EXPECT_EQ(sim.has_interrupt_in(), record.bNumEndpoints >= 3);
            const ccid::ExchangeLevel level = simulated_level(record.descriptor);
            // Character level needs a byte-level host, and tiny message limits cannot carry
            // an ATR; both are covered elsewhere.
            if (level == ccid::ExchangeLevel::Character || record.descriptor.dwMaxCCIDMessageLength < 64) continue;
            const bool t1 = (record.descriptor.dwProtocols & ccid::kProtocolT1) != 0;
            if (level == ccid::ExchangeLevel::Tpdu && !t1) continue;
            const std::uint8_t slot = record.descriptor.bMaxSlotIndex;
            sim.insert_card(slot, t1 ? SimCard::t1_default() : SimCard::t0_default());
            ReaderProbe host(sim);
            auto on = host.transact(pc::IccPowerOn{slot, host.next_seq(), ccid::PowerSelect::Automatic});
            ASSERT_TRUE(on) << on.error().describe();
            ASSERT_EQ(ccid::status_of(on->reply).bError, 0);
            EXPECT_EQ(select_mf(sim, host, slot, level), from_hex("90 00"));
            ++exercised;
        }
    }
    EXPECT_GT(exercised, 600u);
}

}  // namespace
}  // namespace ccidkit::sim

// Every real reader of the corpus (shared/corpus/ccid-readers), impersonated by ReaderSim and
// driven by the host driver: open with the reader's quirks, T=1 and/or T=0 cards fitted to its
// voltages, protocols and data rates, power-on with negotiation, and APDUs of 0 to 65535 data
// bytes at its exchange level (see corpus_emulation_run.h). docs/READERS.md shows the same run
// (tools/readers-report, `make readers-doc`).
//
// The whole corpus runs in one test (one pass of about 800 interfaces; ctest starts every test
// in its own process), followed by the checks; the helpers have their own small tests.
#include <gtest/gtest.h>

#include <fmt/ranges.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ccid/corpus_emulation_known.h"
#include "ccid/corpus_emulation_run.h"

using namespace ccidkit;
using namespace ccidkit::emulation;

namespace {

std::filesystem::path corpus_dir() {
    return std::filesystem::path(CCIDKIT_SHARED_DIR) / "corpus" / "ccid-readers";
}

// Every failure text of the interface, one per failed step.
std::vector<std::string> failure_texts(const InterfaceResult& r) {
    std::vector<std::string> out;
    if (!r.open_error.empty()) out.push_back("open: " + r.open_error);
    for (const CardResult& c : r.cards) {
        if (!c.powered) out.push_back(fmt::format("T={} power-on: {}", c.protocol, c.power_error));
        for (const SizeResult& s : c.sizes)
            if (s.outcome == SizeOutcome::Fail) out.push_back(fmt::format("T={} {}: {}", c.protocol, s.apdu, s.reason));
    }
    return out;
}

std::string where(const InterfaceResult& r) {
    return fmt::format("{} #{} {:04X}:{:04X} {} ({})", r.file, r.interface_index + 1, r.vid, r.pid, r.name,
                       level_label(r.level));
}

}  // namespace

TEST(CorpusEmulation, EveryReaderOfTheCorpus) {
    if (!std::filesystem::is_directory(corpus_dir()))
        GTEST_SKIP() << "reader corpus not found at " << corpus_dir() << " (shared/ is not part of the repository)";
    const CorpusRun run = emulate_corpus(corpus_dir());

    // ---- What the corpus holds, and what is driven ----
    EXPECT_EQ(run.files_loaded, 691u);
    EXPECT_EQ(run.interfaces.size(), 773u);
    std::map<Coverage, std::size_t> coverage;
    std::map<ccid::ExchangeLevel, std::size_t> emulated, passed;
    for (const InterfaceResult& r : run.interfaces) {
        ++coverage[r.coverage];
        if (!r.emulated()) {
            EXPECT_FALSE(r.not_emulated_reason.empty()) << where(r);
            EXPECT_TRUE(r.cards.empty()) << where(r);
            continue;
        }
        ++emulated[r.level];
        if (r.passed()) ++passed[r.level];
    }
    EXPECT_EQ(coverage[Coverage::Emulated], 758u);
    EXPECT_EQ(coverage[Coverage::CharacterLevel], 3u);
    EXPECT_EQ(coverage[Coverage::Iccd], 12u);
    EXPECT_EQ(emulated[ccid::ExchangeLevel::Tpdu], 278u);
    EXPECT_EQ(emulated[ccid::ExchangeLevel::ShortApdu], 184u);
    EXPECT_EQ(emulated[ccid::ExchangeLevel::ExtendedApdu], 296u);

    // ---- Pass counts, pinned: every failure is one of known_failures() ----
    EXPECT_EQ(passed[ccid::ExchangeLevel::Tpdu], 278u);
    EXPECT_EQ(passed[ccid::ExchangeLevel::ShortApdu], 184u);
    EXPECT_EQ(passed[ccid::ExchangeLevel::ExtendedApdu], 296u);

    std::set<std::string, std::less<>> still_failing;
    for (const InterfaceResult& r : run.interfaces) {
        if (!r.emulated() || r.passed()) continue;
        const KnownCause* cause = known_cause(r.file);
        const std::vector<std::string> texts = failure_texts(r);
        if (cause == nullptr) {
            ADD_FAILURE() << "new failure: " << where(r) << "\n  " << fmt::format("{}", fmt::join(texts, "\n  "));
            continue;
        }
        still_failing.insert(r.file);
        for (const std::string& text : texts)
            EXPECT_TRUE(explained_by(text, *cause)) << where(r) << ": a failure other than \"" << cause->title
                                                    << "\": " << text;
    }
    for (const auto& [file, cause] : known_failures())
        EXPECT_TRUE(still_failing.contains(file))
            << file << " passes now (" << cause->title
            << " fixed?): remove it from known_failures() (corpus_emulation_known.h) and update the counts";

    // ---- The emulation exercised what it is meant to ----
    std::size_t cards = 0, host_pps = 0, reader_negotiated = 0, faster_than_default = 0, lower_di = 0,
                voltage_steps = 0, large = 0, refused = 0, t0_large = 0;
    for (const InterfaceResult& r : run.interfaces) {
        if (!r.emulated()) continue;
        EXPECT_TRUE(r.open_error.empty()) << where(r) << ": " << r.open_error;
        // One card per protocol the driver believes the reader has.
        EXPECT_EQ(r.cards.size(), std::size_t{r.t0} + std::size_t{r.t1}) << where(r);
        for (const CardResult& c : r.cards) {
            ++cards;
            if (!c.powered) continue;
            if (c.host_pps) ++host_pps;
            if (c.reader_negotiated) ++reader_negotiated;
            if (c.fidi != 0x11) ++faster_than_default;
            if (c.lower_di) ++lower_di;
            if (c.power_on_attempts > 1) ++voltage_steps;
            if (const SizeResult* s = c.size_result(65535); s && s->outcome == SizeOutcome::Pass) {
                ++large;
                if (c.protocol == 0) ++t0_large;
            }
            for (const SizeResult& s : c.sizes)
                if (s.outcome == SizeOutcome::Refused) ++refused;
        }
    }
    EXPECT_EQ(cards, 1363u);
    EXPECT_GT(host_pps, 100u);             // TPDU readers without automatic PPS: the host's PPS
    EXPECT_GT(reader_negotiated, 100u);    // APDU readers and automatic-PPS readers
    EXPECT_GT(faster_than_default, 500u);  // the link left Fd/Dd
    EXPECT_GT(lower_di, 100u);             // second cards: TA1 above the reader, lower Di chosen
    EXPECT_GT(voltage_steps, 100u);        // second cards: class C only, 5 V -> 3 V -> 1.8 V
    EXPECT_GT(large, 900u);                // 65535-byte echoes that came back intact
    EXPECT_GT(t0_large, 400u);             // ... of which over T=0 (ENVELOPE + GET RESPONSE)
    EXPECT_GT(refused, 900u);              // short-APDU readers refusing extended APDUs cleanly
}

// ---- Helpers ----

TEST(CorpusEmulationApdus, ShortApduReadersCarryUpTo261BytesAndRefuseTheRest) {
    const auto level = ccid::ExchangeLevel::ShortApdu;
    const PlannedApdu a255 = plan_apdu(255, level, 1, 261, 7);
    EXPECT_EQ(a255.command.size(), 261u);
    EXPECT_EQ(a255.expectation, Expectation::Echo);
    const PlannedApdu a256 = plan_apdu(256, level, 1, 261, 7);
    EXPECT_EQ(a256.command, (Bytes{0x80, sim::kInsPattern, 0x00, 0x07, 0x00}));
    EXPECT_EQ(a256.expected.size(), 258u);
    EXPECT_EQ(a256.expectation, Expectation::Echo);
    for (const std::size_t n : {261u, 4096u, 65535u}) EXPECT_EQ(plan_apdu(n, level, 1, 261, 7).expectation, Expectation::Refuse);
    // A reader with a 240-byte message: the 261-byte APDU must be refused, the 258-byte answer
    // cannot come back.
    EXPECT_EQ(plan_apdu(255, level, 0, 230, 7).expectation, Expectation::Refuse);
    EXPECT_EQ(plan_apdu(256, level, 0, 230, 7).expectation, Expectation::ReaderLimit);
    EXPECT_EQ(plan_apdu(1, level, 0, 230, 7).expectation, Expectation::Echo);
}

TEST(CorpusEmulationApdus, TpduAndExtendedLevelsCarryEverySize) {
    for (const auto level : {ccid::ExchangeLevel::Tpdu, ccid::ExchangeLevel::ExtendedApdu}) {
        for (const std::size_t n : kSweepSizes) {
            const PlannedApdu p = plan_apdu(n, level, 1, 54, 3);
            EXPECT_EQ(p.expectation, Expectation::Echo) << n;
            EXPECT_EQ(p.expected, with_9000(sweep_data(n, 3))) << n;
        }
    }
    // Case 1, and an extended case 4 with its 3-byte Lc and 2-byte Le.
    EXPECT_EQ(plan_apdu(0, ccid::ExchangeLevel::Tpdu, 0, 261, 0).command, (Bytes{0x80, 0x10, 0x00, 0x00}));
    EXPECT_EQ(plan_apdu(4096, ccid::ExchangeLevel::Tpdu, 0, 261, 0).command.size(), 4u + 3u + 4096u + 2u);
    // T=0 at TPDU level: a short command travels in one TPDU of 5 + Nc bytes.
    EXPECT_EQ(plan_apdu(255, ccid::ExchangeLevel::Tpdu, 0, 253, 0).expectation, Expectation::Refuse);
    EXPECT_EQ(plan_apdu(255, ccid::ExchangeLevel::Tpdu, 0, 260, 0).expectation, Expectation::Echo);
    EXPECT_EQ(plan_apdu(256, ccid::ExchangeLevel::Tpdu, 0, 253, 0).expectation, Expectation::Echo);
}

TEST(CorpusEmulationApdus, ResponseComparisonNamesTheDifference) {
    EXPECT_EQ(compare_response(Bytes{1, 2, 0x90, 0x00}, Bytes{1, 2, 0x90, 0x00}), "");
    EXPECT_EQ(compare_response(Bytes{1, 3, 0x90, 0x00}, Bytes{1, 2, 0x90, 0x00}), "response byte 1 is 03, expected 02");
    EXPECT_EQ(compare_response(Bytes{0x6A, 0x80}, Bytes{1, 2, 0x90, 0x00}),
              "response of 2 bytes, ending 6A80, expected 2 data bytes + 9000");
}

TEST(CorpusEmulationCards, FastestRateTheReaderAccepts) {
    proto::ReaderRateCaps caps;
    caps.default_clock_khz = 4000;
    caps.max_data_rate_bps = 344086;
    auto best = fastest_accepted_rate(caps);
    ASSERT_TRUE(best);
    EXPECT_EQ(best->ta1(), 0x16);  // Fi 372, D 32: 344086 bit/s at 4 MHz
    caps.data_rates_bps = {10752, 21505, 43011, 86022, 172043};
    best = fastest_accepted_rate(caps);
    ASSERT_TRUE(best);
    EXPECT_EQ(best->ta1(), 0x15);  // Fi 372, D 16
    caps.data_rates_bps = {10752};  // Fi 744 with D 2 runs at that rate too, but it is no faster
    EXPECT_FALSE(fastest_accepted_rate(caps));
}

TEST(CorpusEmulationCards, NextLargerDi) {
    EXPECT_EQ(next_larger_di(0x04), std::optional<std::uint8_t>(0x08));  // D 8 -> D 12
    EXPECT_EQ(next_larger_di(0x08), std::optional<std::uint8_t>(0x05));  // D 12 -> D 16
    EXPECT_EQ(next_larger_di(0x06), std::optional<std::uint8_t>(0x07));  // D 32 -> D 64
    EXPECT_FALSE(next_larger_di(0x07));
    EXPECT_FALSE(next_larger_di(0x00));  // RFU
}

TEST(CorpusEmulationCards, OneCardPerProtocolFittedToTheReader) {
    ccid::CcidDescriptor d;
    d.bMaxSlotIndex = 1;
    d.bVoltageSupport = ccid::kVoltage5V | ccid::kVoltage3V;
    d.dwDefaultClock = 4000;
    d.dwMaxDataRate = 344086;
    const ccid::ReaderCaps caps = ccid::make_reader_caps(d, {});
    const auto plans = plan_cards(caps);
    ASSERT_EQ(plans.size(), 2u);
    EXPECT_EQ(plans[0].protocol, 1);
    EXPECT_EQ(plans[0].slot, 0u);
    EXPECT_EQ(plans[0].atr.classes, proto::kClassA | proto::kClassB);
    EXPECT_EQ(plans[0].atr.ta1, std::optional<std::uint8_t>(0x16));
    EXPECT_FALSE(plans[0].atr.t0);
    EXPECT_EQ(plans[1].protocol, 0);
    EXPECT_EQ(plans[1].slot, 1u);
    EXPECT_EQ(plans[1].atr.classes, proto::kClassB);
    EXPECT_EQ(plans[1].atr.ta1, std::optional<std::uint8_t>(0x17));  // D 64: above the reader
    EXPECT_FALSE(plans[1].atr.t1);

    d.dwProtocols = ccid::kProtocolT0;
    const auto t0_only = plan_cards(ccid::make_reader_caps(d, {}));
    ASSERT_EQ(t0_only.size(), 1u);
    EXPECT_EQ(t0_only[0].protocol, 0);
    EXPECT_EQ(t0_only[0].slot, 0u);
    EXPECT_EQ(t0_only[0].atr.classes, proto::kClassA | proto::kClassB);
}

TEST(CorpusEmulationRun, TheSimulatedReaderBehavesAsTheQuirkRowSays) {
    ccid::CcidDescriptor reported;
    reported.dwFeatures = 0x000200BA | ccid::kLevelShortApdu;
    ccid::Quirks q;
    q.level = ccid::ExchangeLevelOverride::Tpdu;
    q.descriptor.dwMaxIFSD = 128;
    const ccid::CcidDescriptor d = behaviour_descriptor(reported, q);
    EXPECT_EQ(ccid::exchange_level(d.dwFeatures), ccid::ExchangeLevel::Tpdu);
    EXPECT_EQ(d.dwFeatures & ~ccid::kExchangeLevelMask, reported.dwFeatures & ~ccid::kExchangeLevelMask);
    EXPECT_EQ(d.dwMaxIFSD, 128u);
    EXPECT_EQ(behaviour_descriptor(reported, {}), reported);
}

TEST(CorpusEmulationRun, ReaderNamesArePrintable) {
    sim::CorpusDevice d;
    d.manufacturer = "ACS";
    d.product = "ACS ACR38U";
    EXPECT_EQ(reader_name(d), "ACS ACR38U");
    d.product = std::string("Reader\x01\xff ", 9);
    EXPECT_EQ(reader_name(d), "ACS Reader??");
    d.manufacturer.reset();
    d.product.reset();
    EXPECT_EQ(reader_name(d), "");
}

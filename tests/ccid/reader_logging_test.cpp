// The `ccidkit` logger: level names, off by default, and one decoded line per CCID message at
// trace level.
#include "ccid/logging.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "ccid/reader.h"
#include "sim/reader/reader_sim.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

TEST(ReaderLogging, LevelNames) {
    EXPECT_EQ(parse_log_level("trace"), spdlog::level::trace);
    EXPECT_EQ(parse_log_level("DEBUG"), spdlog::level::debug);
    EXPECT_EQ(parse_log_level("warn"), spdlog::level::warn);
    EXPECT_EQ(parse_log_level("error"), spdlog::level::err);
    EXPECT_EQ(parse_log_level("off"), spdlog::level::off);
    EXPECT_EQ(parse_log_level("verbose"), std::nullopt);
    EXPECT_EQ(parse_log_level(""), std::nullopt);
}

TEST(ReaderLogging, OffUnlessEnabled) {
    if (std::getenv(kLogEnvVar) != nullptr) GTEST_SKIP() << kLogEnvVar << " is set in this environment";
    EXPECT_EQ(logger()->level(), spdlog::level::off);
    EXPECT_EQ(logger()->name(), kLoggerName);
}

TEST(ReaderLogging, TraceShowsEveryMessageDecoded) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    auto log = logger();
    const auto old_level = log->level();
    log->sinks().push_back(sink);
    set_log_level(spdlog::level::trace);

    auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    auto transport = std::make_unique<sim::ReaderSim>(config);
    transport->insert_card(0, sim::SimCard::t1_default());
    ReaderOptions options;
    options.drain_read_timeout = Millis{2};
    auto reader = Reader::open(std::move(transport), config.descriptor, options);
    ASSERT_TRUE(reader);
    ASSERT_TRUE((*reader)->slot(0)->power_on());

    log->sinks().pop_back();
    set_log_level(old_level);
    const std::string text = out.str();
    EXPECT_NE(text.find("-> PC_to_RDR_GetSlotStatus slot=0 seq=0"), std::string::npos) << text;
    EXPECT_NE(text.find("<- RDR_to_PC_SlotStatus slot=0 seq=0"), std::string::npos) << text;
    EXPECT_NE(text.find("-> PC_to_RDR_IccPowerOn"), std::string::npos) << text;
    EXPECT_NE(text.find("<- RDR_to_PC_DataBlock"), std::string::npos) << text;
}

// `ccidctl atr`: explanations from the command line and from a (virtual) reader, text and JSON.
#include <gtest/gtest.h>

#include "protocol/atr.h"
#include "protocol/atr_explain.h"
#include "sim/card/sim_card.h"
#include "tools/ccidctl_runner.h"

using namespace ccidkit;
using namespace ccidkit::testing_ccidctl;

namespace {

const std::string kAtr = "3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A";

TEST(CcidctlAtr, TextExplainsEveryByte) {
    auto r = ctl({"atr", kAtr});
    ASSERT_EQ(r.code, 0) << r.err;
    const Bytes bytes = *from_hex(kAtr);
    const auto lines = proto::explain_atr(proto::parse_atr(bytes));
    EXPECT_NE(r.out.find(proto::render_atr_explanation(lines)), std::string::npos);
    EXPECT_NE(r.out.find("TCK"), std::string::npos);
}

TEST(CcidctlAtr, BytesMayBeSplitOverArguments) {
    auto joined = ctl({"atr", "3B8F8001804F0CA000000306030001000000006A"});
    auto split = ctl({"atr", "3B", "8F", "80", "01", "80", "4F", "0C", "A0", "00", "00",
                      "03",  "06", "03", "00", "01", "00", "00", "00", "00", "6A"});
    EXPECT_EQ(joined.code, 0);
    EXPECT_EQ(joined.out, split.out);
}

TEST(CcidctlAtr, JsonHasOneEntryPerByteAndTheDecodedFields) {
    auto r = ctl({"--json", "atr", kAtr});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    EXPECT_EQ(v["atr"].string, "3B8F8001804F0CA000000306030001000000006A");
    EXPECT_TRUE(v["valid"].boolean);
    EXPECT_TRUE(v["error"].is_null());
    EXPECT_EQ(v["convention"].string, "direct");
    ASSERT_EQ(v["protocols"].size(), 2u);
    EXPECT_EQ(v["protocols"][0].integer(), 0);
    EXPECT_EQ(v["protocols"][1].integer(), 1);
    EXPECT_EQ(v["historical_bytes"].string, "804F0CA00000030603000100000000");  // K = 15
    const auto& bytes = v["bytes"];
    ASSERT_EQ(bytes.size(), 20u);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        EXPECT_EQ(bytes[i]["offset"].integer(), static_cast<std::int64_t>(i));
    EXPECT_EQ(bytes[0]["name"].string, "TS");
    EXPECT_EQ(bytes[0]["value"].string, "3B");
    EXPECT_EQ(bytes[19]["name"].string, "TCK");
    EXPECT_GT(v["summary"].size(), 0u);
}

TEST(CcidctlAtr, MalformedAtrIsExplainedAndExitsWithFour) {
    auto r = ctl({"atr", "3B 8F 80"});
    EXPECT_EQ(r.code, 4);
    EXPECT_NE(r.out.find("TS"), std::string::npos);
    EXPECT_NE(r.err.find("does not decode"), std::string::npos);
    auto j = ctl({"--json", "atr", "3B 8F 80"});
    EXPECT_EQ(j.code, 4);
    auto v = json_of(j);
    EXPECT_FALSE(v["valid"].boolean);
    EXPECT_EQ(v["error"].string, std::string(proto::to_string(proto::parse_atr(*from_hex("3B8F80")).error)));
}

TEST(CcidctlAtr, FromAVirtualReader) {
    auto r = ctl({"--json", "--virtual", "tpdu:t1", "atr"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    EXPECT_EQ(v["atr"].string, to_hex(sim::SimCard::t1_default().atr(), '\0'));
    EXPECT_NE(v["source"].string.find("slot 0"), std::string::npos);
    ASSERT_EQ(v["protocols"].size(), 1u);
    EXPECT_EQ(v["protocols"][0].integer(), 1);

    auto t0 = ctl({"--json", "--virtual", "short:t0", "atr"});
    ASSERT_EQ(t0.code, 0) << t0.err;
    EXPECT_EQ(json_of(t0)["atr"].string, to_hex(sim::SimCard::t0_default().atr(), '\0'));
}

TEST(CcidctlAtr, NoCardExitsWithThreeAndBadSlotWithOne) {
    EXPECT_EQ(ctl({"--virtual", "short:none", "atr"}).code, 3);
    EXPECT_EQ(ctl({"--virtual", "short", "--slot", "1", "atr"}).code, 1);
}

TEST(CcidctlAtr, ReaderSelection) {
    // Second reader by index, by VID:PID (ambiguous: two), by location, by name part.
    auto by_index = ctl({"--json", "--virtual", "short:none,tpdu:t0", "--reader", "1", "atr"});
    EXPECT_EQ(by_index.code, 0) << by_index.err;
    auto by_location = ctl({"--json", "--virtual", "short:none,tpdu:t0", "--reader", "virtual:1", "atr"});
    EXPECT_EQ(by_location.code, 0) << by_location.err;
    EXPECT_EQ(by_index.out, by_location.out);
    auto by_name = ctl({"--virtual", "short:none,tpdu:t0", "--reader", "sim0001-1", "atr"});
    EXPECT_EQ(by_name.code, 0) << by_name.err;
    auto ambiguous = ctl({"--virtual", "short:none,tpdu:t0", "--reader", "1209:cc1d", "atr"});
    EXPECT_EQ(ambiguous.code, 2);
    EXPECT_NE(ambiguous.err.find("matches 2 readers"), std::string::npos);
    EXPECT_EQ(ctl({"--virtual", "short", "--reader", "no such reader", "atr"}).code, 2);
}

}  // namespace

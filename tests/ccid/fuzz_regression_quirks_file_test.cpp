// Regression tests for what the fuzz target fuzz_quirks_file found (docs/SECURITY.md, F3): a
// row with an empty quoted value (name="" or reason="") kept the empty string, so reports
// showed a blank, and the row written back by format_quirk_row (which leaves empty values
// out) read back with the default name instead: file and report disagreed.
//
// The scenario test states the expected behaviour directly; the replay test runs the committed
// reproducer (fuzz/regressions/fuzz_quirks_file/) through the very harness the fuzzer uses.
#include <gtest/gtest.h>

#include "ccid/quirks_file.h"

#include "fuzz_reproducers.h"

// The harness itself (defines LLVMFuzzerTestOneInput); its invariant checks abort.
#include "../../fuzz/targets/fuzz_quirks_file.cpp"

namespace ccidkit::ccid {
namespace {

TEST(FuzzRegressionQuirksFile, EmptyNameAndReasonGetTheDefaults) {
    const auto rows = parse_quirks_text("0:0 name=\"\" dwMaxCCIDMessageLength=70 reason=\"\"\n", "/etc/q.txt");
    ASSERT_TRUE(rows.has_value()) << describe(rows.error());
    ASSERT_EQ(rows->size(), 1u);
    const UserQuirkRow& r = rows->front();
    EXPECT_EQ(r.row.name, "0000:0000 (user row)");
    EXPECT_EQ(r.row.reason, "set by /etc/q.txt line 1");

    // Written back and read again: the same row.
    const auto again = parse_quirks_text(format_quirk_row(r.row, r.fields), "/elsewhere");
    ASSERT_TRUE(again.has_value()) << describe(again.error());
    EXPECT_EQ(again->front().row.name, r.row.name);
    EXPECT_EQ(again->front().row.reason, r.row.reason);
    EXPECT_EQ(again->front().fields, r.fields);
    EXPECT_TRUE(same_quirk_field(again->front().row.quirks, r.row.quirks, QuirkField::dwMaxCCIDMessageLength));
}

TEST(FuzzRegressionQuirksFileDeathTest, ReproducersPassTheHarness) {
    fuzz_replay::expect_reproducers_pass("fuzz_quirks_file", LLVMFuzzerTestOneInput, 1);
}

}  // namespace
}  // namespace ccidkit::ccid

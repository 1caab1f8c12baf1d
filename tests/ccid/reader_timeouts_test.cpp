// Timeout formulas of timeouts.h against values worked out by hand from ISO/IEC 7816-3:2006
// (7.1 etu, 8.3 guard time, 10.2 WWT, 11.4.3 BWT/CWT) at a 4 MHz clock.
#include "ccid/timeouts.h"

#include <gtest/gtest.h>

using namespace ccidkit::ccid;
using std::chrono::microseconds;

namespace {

CardTiming t0_at_fd() {
    CardTiming t;
    t.protocol = 0;
    t.clock_khz = 4000;
    return t;
}

CardTiming t1_fast() {  // TA1 = 96: Fi 512, Di 32 -> 16 clock cycles per etu = 4 us
    CardTiming t;
    t.protocol = 1;
    t.clock_khz = 4000;
    t.f = 512;
    t.d = 32;
    t.bwi = 4;
    t.cwi = 5;
    return t;
}

}  // namespace

TEST(Timeouts, EtuAndGuardTime) {
    CardTiming t = t0_at_fd();
    EXPECT_EQ(etu(t), microseconds(93));              // 372 / 4 MHz
    EXPECT_EQ(character_time(t), microseconds(1116));  // 12 etu
    t.extra_guard_time = 2;
    EXPECT_EQ(character_time(t), microseconds(1302));  // 14 etu
    t.extra_guard_time = 255;
    EXPECT_EQ(character_time(t), microseconds(1116));  // T=0: N = 255 means 12 etu
    t.protocol = 1;
    EXPECT_EQ(character_time(t), microseconds(1023));  // T=1: 11 etu
}

TEST(Timeouts, T0WorkWaitingTime) {
    CardTiming t = t0_at_fd();
    EXPECT_EQ(t0_wwt(t), microseconds(892800));  // 960 * 10 * 372 / 4 MHz
    t.wi = 1;
    EXPECT_EQ(t0_wwt(t), microseconds(89280));
    t.wi = 0;  // RFU: the default WI applies
    EXPECT_EQ(t0_wwt(t), microseconds(892800));
    t.wi = 10;
    t.f = 512;  // WT uses Fi
    EXPECT_EQ(t0_wwt(t), microseconds(1228800));
}

TEST(Timeouts, T1BlockAndCharacterWaitingTimes) {
    CardTiming t = t1_fast();
    // 11 etu + 2^4 * 960 * 372 / f: the second term does not depend on Fi/Di.
    EXPECT_EQ(t1_bwt(t), microseconds(44 + 1428480));
    EXPECT_EQ(t1_cwt(t), microseconds((11 + 32) * 4));
    t.bwi = 15;  // RFU values are clamped to 9
    EXPECT_EQ(t1_bwt(t), microseconds(44 + 512 * 89280));
}

TEST(Timeouts, TpduTimeoutAddsMarginAndStretchesByWtx) {
    const CardTiming t = t1_fast();
    // 5 characters out (12 etu each), BWT, 259 characters back within CWT, plus 1 s.
    const std::int64_t card_us = 5 * 48 + (44 + 1428480) + 259 * 172;
    EXPECT_EQ(tpdu_timeout(t, 5, 259).count(), (card_us + 1'000'000 + 999) / 1000);
    const std::int64_t wtx_us = card_us + 2 * (44 + 1428480);
    EXPECT_EQ(tpdu_timeout(t, 5, 259, 3).count(), (wtx_us + 1'000'000 + 999) / 1000);
    EXPECT_EQ(tpdu_timeout(t, 5, 259, 1, Millis{250}).count(), (card_us + 1'250'000 + 999) / 1000);
}

TEST(Timeouts, T0TpduTimeoutCountsEveryCharacterAgainstWwt) {
    const CardTiming t = t0_at_fd();
    // Outgoing TPDU with 4 data bytes: 5 characters, then procedure byte + 4 + SW1 SW2.
    const std::int64_t card_us = 5 * 1116 + 7 * 892800;
    EXPECT_EQ(tpdu_timeout(t, 5, 4).count(), (card_us + 1'000'000 + 999) / 1000);
}

TEST(Timeouts, ApduTimeoutGrowsWithTheNumberOfBlocks) {
    CardTiming t = t1_fast();
    t.ifsc = 32;
    t.ifsd = 32;
    EXPECT_GT(apdu_timeout(t, 600, 600), apdu_timeout(t, 20, 20));
    EXPECT_GT(apdu_timeout(t, 20, 20), kReaderMargin);
    CardTiming t0 = t0_at_fd();
    EXPECT_GT(apdu_timeout(t0, 5, 1024), apdu_timeout(t0, 5, 2));
}

TEST(Timeouts, PowerOnCoversTheLongestAtr) {
    // 40000 cycles + 33 characters of 9600 etu at Fd/Dd, plus 1 s.
    const std::int64_t us = 10000 + 33 * 9600 * 93 + 1'000'000;
    EXPECT_EQ(power_on_timeout(4000).count(), (us + 999) / 1000);
    EXPECT_GT(power_on_timeout(1000), power_on_timeout(4000));
}

TEST(Timeouts, HostileValuesStayBounded) {
    CardTiming t;
    t.clock_khz = 0;  // treated as the slowest legal clock
    t.f = 0;
    t.d = 0;
    t.wi = 255;
    EXPECT_GT(t0_wwt(t).count(), 0);
    EXPECT_LE(tpdu_timeout(t, 100000, 100000, 0xFFFFFFFF), kMaxWait);
    EXPECT_LE(apdu_timeout(t, 1u << 30, 1u << 30), kMaxWait);
    EXPECT_EQ(stretched(Millis{1000}, 0), Millis{1000});
    EXPECT_EQ(stretched(Millis{1000}, 5), Millis{5000});
    EXPECT_EQ(stretched(Millis{1000}, 0xFFFFFFFF), kMaxWait);
}

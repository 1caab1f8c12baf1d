// Fault suite, CCID wire faults (see the table in api/fault_suite.h): replies with a wrong
// bSeq, too long, lying about their length, missing, endlessly extended, and stalls.
#include "api/fault_suite.h"

namespace ccidkit::api::testing {
namespace {

class WireFaults : public FaultSuiteTest {};

TEST_F(WireFaults, StaleSequenceNumberIsDropped) {
    start_connected("short:t1");
    sim::ReaderFaults f;
    f.stale_seq = 3;
    xfr_faults(f);
    for (int i = 0; i < 3; ++i) {
        std::chrono::milliseconds took{};
        EXPECT_EQ(timed_echo(took), SCARD_S_SUCCESS);
        EXPECT_LT(took, 2s);
    }
    EXPECT_EQ(sim().faults().stale_seq, 0u);  // every stale copy was sent (and dropped)
    expect_usable_again();
}

TEST_F(WireFaults, ReplyBeyondMaxMessageLengthIsNotTransacted) {
    start_connected("short:t1");
    sim::ReaderFaults f;
    f.oversize = 1;  // dwMaxCCIDMessageLength + 1
    xfr_faults(f);
    std::chrono::milliseconds took{};
    EXPECT_EQ(timed_echo(took), SCARD_E_NOT_TRANSACTED);
    EXPECT_LT(took, 2s);
    EXPECT_EQ(sim().faults().oversize, 0u);
    expect_usable_again();
}

TEST_F(WireFaults, ReplyLongerThanTheRequestAllows) {
    // APDU level: ECHO asked for 3 bytes (Le = 3) and gets 3 + 40 bytes plus the status word;
    // the reader's answer is passed on as the card's (pcsc-lite does not check Le either), and
    // the application's buffer decides.
    start_connected("short:t1");
    sim::ReaderFaults f;
    f.oversize = 1;
    f.oversize_bytes = 40;
    xfr_faults(f);
    Bytes r;
    const auto took = timed([&] {
        r.assign(4, 0);  // too small for what comes
        DWORD len = static_cast<DWORD>(r.size());
        EXPECT_EQ(SCardTransmit(h, SCARD_PCI_T1, kEchoApdu.data(), static_cast<DWORD>(kEchoApdu.size()), nullptr,
                                r.data(), &len),
                  SCARD_E_INSUFFICIENT_BUFFER);
        EXPECT_GT(len, 4u);
    });
    EXPECT_LT(took, 2s);
    expect_usable_again();
}

TEST_F(WireFaults, TpduReaderRecoversFromABadBlock) {
    // TPDU level: the extra bytes make the card's T=1 block invalid; the host's engine asks for
    // it again (R-block) and the exchange succeeds.
    start_connected("tpdu:t1");
    sim::ReaderFaults f;
    f.oversize = 1;
    f.oversize_bytes = 5;
    xfr_faults(f);
    std::chrono::milliseconds took{};
    EXPECT_EQ(timed_echo(took), SCARD_S_SUCCESS);
    EXPECT_LT(took, 2s);
    expect_usable_again();
}

TEST_F(WireFaults, LengthFieldLargerThanPayloadIsNotTransacted) {
    start_connected("short:t1");
    sim::ReaderFaults f;
    f.truncated = 1;
    f.truncate_bytes = 7;
    xfr_faults(f);
    std::chrono::milliseconds took{};
    EXPECT_EQ(timed_echo(took), SCARD_E_NOT_TRANSACTED);
    EXPECT_LT(took, 2s);
    expect_usable_again();
}

TEST_F(WireFaults, MissingReplyTimesOut) {
    start_connected("short:t1");
    sim::ReaderFaults f;
    f.silent = 1;
    xfr_faults(f);
    std::chrono::milliseconds took{};
    EXPECT_EQ(timed_echo(took), SCARD_E_NOT_TRANSACTED);
    EXPECT_LT(took, 10s);
    expect_usable_again();
}

TEST_F(WireFaults, EndlessTimeExtensionsEnd) {
    start_connected("short:t1");
    sim::ReaderFaults f;
    f.endless_time_extension = true;
    xfr_faults(f);
    std::chrono::milliseconds took{};
    EXPECT_EQ(timed_echo(took), SCARD_E_NOT_TRANSACTED);
    EXPECT_LT(took, 10s);
    expect_usable_again();
}

TEST_F(WireFaults, OneStallIsCleared) {
    start_connected("short:t1");
    sim::ReaderFaults f;
    f.bulk_in_stalls = 1;
    sim().set_faults(f);
    std::chrono::milliseconds took{};
    EXPECT_EQ(timed_echo(took), SCARD_S_SUCCESS);
    EXPECT_LT(took, 2s);
    expect_usable_again();
}

TEST_F(WireFaults, PersistentStallsAreNotTransacted) {
    start_connected("short:t1");
    sim::ReaderFaults f;
    f.bulk_in_stalls = 10;
    sim().set_faults(f);
    std::chrono::milliseconds took{};
    EXPECT_EQ(timed_echo(took), SCARD_E_NOT_TRANSACTED);
    EXPECT_LT(took, 5s);
    expect_usable_again();
}

}  // namespace
}  // namespace ccidkit::api::testing

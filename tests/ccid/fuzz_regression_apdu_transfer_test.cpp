// Regression tests for what the fuzz target fuzz_apdu_transfer found (docs/SECURITY.md, F1):
// a T=1 TPDU transfer (or S(IFS) negotiation) that ends on a failed XfrBlock other than a
// mute card or a parity error (USB timeout, cancellation, transport failure, a reader error)
// returned with the T=1 engine still Busy, so every later APDU on the slot was refused with
// "a T=1 exchange is already in progress" until the card was powered off.
//
// The scenario tests state the expected behaviour directly; the replay test runs the committed
// reproducers (fuzz/regressions/fuzz_apdu_transfer/) through the very harness the fuzzer uses.
#include <gtest/gtest.h>

#include "ccid/apdu_transfer.h"
#include "ccid/reader_error.h"
#include "protocol/t1_engine.h"
#include "sim/card/echo_app.h"
#include "sim/card/t1_card.h"

#include "fuzz_reproducers.h"

// The harness itself (defines LLVMFuzzerTestOneInput); its invariant checks abort.
#include "../../fuzz/targets/fuzz_apdu_transfer.cpp"

namespace ccidkit::ccid {
namespace {

const Bytes kEcho = {0x80, 0x10, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x00};
const Bytes kEchoResponse = {0x01, 0x02, 0x03, 0x90, 0x00};

// The reader does not answer the XfrBlock in time (the USB transfer times out).
std::expected<XfrReply, ReaderError> reader_timeout(const XfrRequest&) {
    return std::unexpected(make_error(ReaderErrc::Timeout, "no answer"));
}

// A working reader with a T=1 card behind it.
XfrFunction card_behind(sim::T1Card& card) {
    return [&card](const XfrRequest& r) -> std::expected<XfrReply, ReaderError> {
        auto block = card.handle_block(r.data);
        if (!block) return std::unexpected(make_error(ReaderErrc::CardMute, "card silent"));
        return XfrReply{0, std::move(*block)};
    };
}

TEST(FuzzRegressionApduTransfer, T1TransferAfterReaderTimeoutIsNotRefused) {
    sim::EchoApp app;
    sim::T1Card card(app);
    proto::T1Engine engine;
    const TransferSetup setup;

    const auto failed = transfer_t1_tpdu(kEcho, engine, setup, reader_timeout);
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().code, ReaderErrc::Timeout);
    EXPECT_NE(engine.state(), proto::T1State::Busy) << "the engine must not stay busy after the transfer returned";

    const auto next = transfer_t1_tpdu(kEcho, engine, setup, card_behind(card));
    ASSERT_TRUE(next.has_value()) << describe(next.error());
    EXPECT_EQ(*next, kEchoResponse);
}

TEST(FuzzRegressionApduTransfer, IfsNegotiationAfterReaderTimeoutIsNotRefused) {
    sim::EchoApp app;
    sim::T1Card card(app);
    proto::T1Engine engine;
    const TransferSetup setup;

    const auto failed = negotiate_t1_ifsd(254, engine, setup, reader_timeout);
    ASSERT_FALSE(failed.has_value());
    EXPECT_NE(engine.state(), proto::T1State::Busy);

    const auto next = transfer_t1_tpdu(kEcho, engine, setup, card_behind(card));
    ASSERT_TRUE(next.has_value()) << describe(next.error());
    EXPECT_EQ(*next, kEchoResponse);
}

TEST(FuzzRegressionApduTransferDeathTest, ReproducersPassTheHarness) {
    fuzz_replay::expect_reproducers_pass("fuzz_apdu_transfer", LLVMFuzzerTestOneInput, 2);
}

}  // namespace
}  // namespace ccidkit::ccid

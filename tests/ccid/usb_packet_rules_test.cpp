#include "ccid/usb/usb_packet_rules.h"

#include <gtest/gtest.h>

#include <limits>

namespace ccidkit::ccid::usb {
namespace {

TEST(UsbZeroLengthPacket, OnlyForNonZeroMultiplesOfThePacketSize) {
    EXPECT_FALSE(needs_zero_length_packet(0, 64));
    EXPECT_FALSE(needs_zero_length_packet(1, 64));
    EXPECT_FALSE(needs_zero_length_packet(63, 64));
    EXPECT_TRUE(needs_zero_length_packet(64, 64));
    EXPECT_FALSE(needs_zero_length_packet(65, 64));
    EXPECT_TRUE(needs_zero_length_packet(128, 64));
    EXPECT_FALSE(needs_zero_length_packet(271, 64));  // a maximal short-APDU XfrBlock
    EXPECT_TRUE(needs_zero_length_packet(512, 512));
    EXPECT_FALSE(needs_zero_length_packet(1000, 512));
    EXPECT_TRUE(needs_zero_length_packet(16, 8));
}

TEST(UsbZeroLengthPacket, NeverWithABrokenPacketSize) {
    EXPECT_FALSE(needs_zero_length_packet(0, 0));
    EXPECT_FALSE(needs_zero_length_packet(64, 0));
}

TEST(UsbRoundUp, ToWholePacketsAndAtLeastOne) {
    EXPECT_EQ(round_up_to_packets(0, 64), 64u);
    EXPECT_EQ(round_up_to_packets(1, 64), 64u);
    EXPECT_EQ(round_up_to_packets(64, 64), 64u);
    EXPECT_EQ(round_up_to_packets(65, 64), 128u);
    EXPECT_EQ(round_up_to_packets(271, 64), 320u);
    EXPECT_EQ(round_up_to_packets(271, 512), 512u);
    EXPECT_EQ(round_up_to_packets(1025, 1024), 2048u);
    EXPECT_EQ(round_up_to_packets(5, 0), 5u);
}

TEST(UsbRoundUp, SaturatesInsteadOfWrapping) {
    const std::size_t max = std::numeric_limits<std::size_t>::max();
    const std::size_t r = round_up_to_packets(max, 64);
    EXPECT_EQ(r % 64, 0u);
    EXPECT_GT(r, max - 64);
}

TEST(UsbInPlan, CallerBufferUsedWhenAlreadyWholePackets) {
    const InPlan p = plan_in_transfer(320, 64);
    EXPECT_EQ(p.request_length, 320u);
    EXPECT_FALSE(p.internal_buffer);
}

TEST(UsbInPlan, RoundsUpIntoAnInternalBuffer) {
    InPlan p = plan_in_transfer(271, 64);
    EXPECT_EQ(p.request_length, 320u);
    EXPECT_TRUE(p.internal_buffer);
    p = plan_in_transfer(65554, 64);  // extended-APDU dwMaxCCIDMessageLength
    EXPECT_EQ(p.request_length, 65600u);
    EXPECT_TRUE(p.internal_buffer);
    p = plan_in_transfer(8, 8);
    EXPECT_EQ(p.request_length, 8u);
    EXPECT_FALSE(p.internal_buffer);
}

TEST(UsbInPlan, EmptyBufferStillAsksForOnePacket) {
    const InPlan p = plan_in_transfer(0, 64);
    EXPECT_EQ(p.request_length, 64u);
    EXPECT_TRUE(p.internal_buffer);
}

TEST(UsbInPlan, HugeBuffersAreCappedToWholePackets) {
    InPlan p = plan_in_transfer(kMaxTransferBytes * 4, 64);
    EXPECT_EQ(p.request_length, kMaxTransferBytes);
    EXPECT_FALSE(p.internal_buffer);
    p = plan_in_transfer(kMaxTransferBytes + 5, 1000);  // not a power of two
    EXPECT_LE(p.request_length, kMaxTransferBytes);
    EXPECT_EQ(p.request_length % 1000, 0u);
    EXPECT_GT(p.request_length, kMaxTransferBytes - 1000);
    EXPECT_FALSE(p.internal_buffer);
}

TEST(UsbInPlan, UnknownPacketSize) {
    InPlan p = plan_in_transfer(10, 0);
    EXPECT_EQ(p.request_length, 10u);
    EXPECT_FALSE(p.internal_buffer);
    p = plan_in_transfer(0, 0);
    EXPECT_EQ(p.request_length, 1u);
    EXPECT_TRUE(p.internal_buffer);
    p = plan_in_transfer(kMaxTransferBytes + 1, 0);
    EXPECT_EQ(p.request_length, kMaxTransferBytes);
}

TEST(UsbTimeout, NeverZeroNeverWrapped) {
    using std::chrono::milliseconds;
    EXPECT_EQ(to_libusb_timeout(milliseconds(0)), 1u);
    EXPECT_EQ(to_libusb_timeout(milliseconds(-5)), 1u);
    EXPECT_EQ(to_libusb_timeout(milliseconds(1)), 1u);
    EXPECT_EQ(to_libusb_timeout(milliseconds(1500)), 1500u);
    EXPECT_EQ(to_libusb_timeout(milliseconds::max()), std::numeric_limits<unsigned int>::max());
}

}  // namespace
}  // namespace ccidkit::ccid::usb

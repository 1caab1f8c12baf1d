#include "ccid/usb/usb_descriptor_scan.h"

#include <gtest/gtest.h>

#include <random>

namespace ccidkit::ccid::usb {
namespace {

// A 54-byte CCID class descriptor (CCID 1.1 section 5.1); the body is filler here, its parsing
// is tested elsewhere.
Bytes ccid_descriptor() {
    Bytes d(54, 0xA5);
    d[0] = 54;
    d[1] = 0x21;
    return d;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

TEST(UsbDescriptorScan, EmptyRunHasNothing) {
    EXPECT_FALSE(find_descriptor({}, 0x21));
    const Bytes one{0x21};
    EXPECT_FALSE(find_descriptor(one, 0x21));
}

TEST(UsbDescriptorScan, FindsTheOnlyDescriptor) {
    const Bytes run = ccid_descriptor();
    const auto d = find_descriptor(run, 0x21);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->data(), run.data());
    EXPECT_EQ(d->size(), 54u);
}

TEST(UsbDescriptorScan, SkipsOtherDescriptorsBeforeIt) {
    const Bytes hid{9, 0x24, 1, 2, 3, 4, 5, 6, 7};  // some class-specific descriptor
    const Bytes run = concat({hid, Bytes{2, 0x30}, ccid_descriptor()});
    const auto d = find_descriptor(run, 0x21);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->data(), run.data() + 11);
    EXPECT_EQ(d->size(), 54u);
    EXPECT_EQ(Bytes(d->begin(), d->end()), ccid_descriptor());
}

TEST(UsbDescriptorScan, ReturnsTheFirstOfSeveral) {
    Bytes second = ccid_descriptor();
    second[2] = 0x77;
    const Bytes run = concat({ccid_descriptor(), second});
    const auto d = find_descriptor(run, 0x21);
    ASSERT_TRUE(d);
    EXPECT_EQ((*d)[2], 0xA5);
}

TEST(UsbDescriptorScan, HeaderOnlyDescriptorIsReturnedAsIs) {
    const Bytes run{2, 0x21};
    const auto d = find_descriptor(run, 0x21);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->size(), 2u);
}

TEST(UsbDescriptorScan, WrongTypeIsNotFound) {
    const Bytes run = concat({Bytes{3, 0x24, 0}, Bytes{4, 0x22, 0, 0}});
    EXPECT_FALSE(find_descriptor(run, 0x21));
}

TEST(UsbDescriptorScan, ZeroOrOneLengthStopsTheScan) {
    // bLength 0 would never advance; bLength 1 cannot hold its own type. Neither may hide a
    // descriptor behind it.
    EXPECT_FALSE(find_descriptor(concat({Bytes{0, 0x24}, ccid_descriptor()}), 0x21));
    EXPECT_FALSE(find_descriptor(concat({Bytes{1, 0x24}, ccid_descriptor()}), 0x21));
    EXPECT_FALSE(find_descriptor(Bytes{0, 0x21, 0, 0}, 0x21));
}

TEST(UsbDescriptorScan, TruncatedDescriptorIsNotReturned) {
    Bytes run = ccid_descriptor();
    run.resize(53);  // bLength says 54
    EXPECT_FALSE(find_descriptor(run, 0x21));
    const Bytes tail_claims_too_much = concat({Bytes{3, 0x24, 0}, Bytes{200, 0x21, 1, 2}});
    EXPECT_FALSE(find_descriptor(tail_claims_too_much, 0x21));
}

TEST(UsbDescriptorScan, TrailingByteAfterLastDescriptorIsIgnored) {
    const Bytes run = concat({Bytes{3, 0x24, 0}, Bytes{0x21}});
    EXPECT_FALSE(find_descriptor(run, 0x21));
    const Bytes good = concat({ccid_descriptor(), Bytes{0x05}});
    EXPECT_TRUE(find_descriptor(good, 0x21));
}

TEST(UsbDescriptorScan, RandomRunsStayInBounds) {
    std::mt19937 rng(20261124);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> len(0, 300);
    int found = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes run(static_cast<std::size_t>(len(rng)));
        for (auto& b : run) b = static_cast<std::uint8_t>(byte(rng));
        // Bias towards plausible lengths so that the scan goes deep.
        for (std::size_t k = 0; k < run.size(); k += 2 + (run[k] % 8)) run[k] = static_cast<std::uint8_t>(2 + run[k] % 8);
        const auto d = find_descriptor(run, 0x21);
        if (!d) continue;
        ++found;
        ASSERT_GE(d->data(), run.data());
        ASSERT_LE(d->data() + d->size(), run.data() + run.size());
        ASSERT_EQ(d->size(), (*d)[0]);
        ASSERT_EQ((*d)[1], 0x21);
    }
    EXPECT_GT(found, 0);
}

}  // namespace
}  // namespace ccidkit::ccid::usb

// Enumeration on the machine the tests run on. Development machines and CI have no USB
// controller; the real-hardware path is exercised in a VM with emulated readers.
#include "ccid/usb/usb_enumerate.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace ccidkit::ccid::usb {
namespace {

bool machine_has_usb() { return std::filesystem::exists("/dev/bus/usb") || std::filesystem::exists("/sys/bus/usb"); }

int open_fd_count() {
    int n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

TEST(UsbEnumerate, ListsOnlyReaderInterfaces) {
    const auto readers = enumerate_readers();
    ASSERT_TRUE(readers) << to_string(readers.error());
    if (!machine_has_usb()) {
        EXPECT_TRUE(readers->empty());
        return;
    }
    for (const UsbReaderCandidate& c : *readers) {
        EXPECT_EQ(c.interface_class, kCcidInterfaceClass) << location_name(c);  // no vendor predicate given
        EXPECT_NE(c.bus, 0);
        EXPECT_NE(c.address, 0);
    }
}

TEST(UsbEnumerate, VendorPredicateIsOnlyAskedAboutVendorClassInterfaces) {
    int asked = 0;
    EnumerateOptions o;
    o.read_strings = false;
    o.is_vendor_class_reader = [&](std::uint16_t, std::uint16_t, std::uint16_t) {
        ++asked;
        return true;
    };
    const auto readers = enumerate_readers(o);
    ASSERT_TRUE(readers) << to_string(readers.error());
    if (!machine_has_usb()) {
        EXPECT_EQ(asked, 0);
    }
    for (const UsbReaderCandidate& c : *readers) {
        EXPECT_TRUE(c.interface_class == kCcidInterfaceClass || c.interface_class == kVendorInterfaceClass);
        EXPECT_FALSE(c.strings_read);
    }
}

TEST(UsbEnumerate, RepeatedCallsLeakNoDescriptors) {
    // Every call makes and destroys its own libusb context.
    ASSERT_TRUE(enumerate_readers());
    const int before = open_fd_count();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(enumerate_readers());
    EXPECT_EQ(open_fd_count(), before);
}

}  // namespace
}  // namespace ccidkit::ccid::usb

#include "ccid/usb/usb_bus_signature.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ccidkit::ccid::usb {
namespace {

namespace fs = std::filesystem;

// A fake /sys/bus/usb/devices in a temporary directory.
class FakeSysfs {
public:
    FakeSysfs() : root_(fs::temp_directory_path() / ("ccidkit-sysfs-" + std::to_string(::getpid()))) {
        fs::remove_all(root_);
        fs::create_directories(root_);
    }
    ~FakeSysfs() { fs::remove_all(root_); }
    void device(const std::string& name, const std::string& devnum) {
        fs::create_directories(root_ / name);
        std::ofstream(root_ / name / "devnum") << devnum << "\n";
    }
    void interface(const std::string& name) { fs::create_directories(root_ / name); }
    void remove(const std::string& name) { fs::remove_all(root_ / name); }
    const fs::path& root() const { return root_; }

private:
    fs::path root_;
};

TEST(UsbBusSignature, ChangesWithDevicesNotWithInterfaces) {
    FakeSysfs sys;
    sys.device("usb1", "1");
    sys.device("1-1", "2");
    sys.interface("1-1:1.0");
    const auto first = usb_bus_signature(sys.root());
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, "1-1=2\nusb1=1\n");  // name order, interfaces left out
    EXPECT_EQ(usb_bus_signature(sys.root()), first);

    sys.interface("1-1:1.1");  // another interface of the same device: no change
    EXPECT_EQ(usb_bus_signature(sys.root()), first);

    sys.device("1-2", "3");  // plugged
    const auto plugged = usb_bus_signature(sys.root());
    ASSERT_TRUE(plugged);
    EXPECT_NE(*plugged, *first);

    sys.remove("1-2");  // unplugged
    EXPECT_EQ(usb_bus_signature(sys.root()), first);

    sys.device("1-1", "4");  // re-plugged at the same port: a new device number
    const auto replugged = usb_bus_signature(sys.root());
    ASSERT_TRUE(replugged);
    EXPECT_NE(*replugged, *first);
}

TEST(UsbBusSignature, UnreadableRootIsNoSignature) {
    EXPECT_FALSE(usb_bus_signature("/nonexistent/ccidkit/sys/bus/usb/devices"));
}

TEST(UsbBusSignature, EmptyBusHasAnEmptySignature) {
    FakeSysfs sys;
    const auto s = usb_bus_signature(sys.root());
    ASSERT_TRUE(s);
    EXPECT_EQ(*s, "");
}

}  // namespace
}  // namespace ccidkit::ccid::usb

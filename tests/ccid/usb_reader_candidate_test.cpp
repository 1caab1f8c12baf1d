#include "ccid/usb/usb_reader_candidate.h"
#include "ccid/usb/usb_reader_diff.h"

#include <gtest/gtest.h>

namespace ccidkit::ccid::usb {
namespace {

UsbReaderCandidate reader(std::uint8_t bus, std::uint8_t address, std::uint8_t interface_number,
                          std::string product = "Reader") {
    UsbReaderCandidate c;
    c.bus = bus;
    c.address = address;
    c.interface_number = interface_number;
    c.vendor_id = 0x08E6;
    c.product_id = 0x3437;
    c.configuration_value = 1;
    c.product = std::move(product);
    return c;
}

std::vector<std::string> products(const std::vector<UsbReaderCandidate>& list) {
    std::vector<std::string> out;
    for (const auto& c : list) out.push_back(c.product);
    return out;
}

TEST(UsbLocationName, SysfsStyle) {
    UsbReaderCandidate c = reader(1, 7, 0);
    c.port_path = {1, 4};
    EXPECT_EQ(location_name(c), "1-1.4:1.0");
    c.port_path = {3};
    c.interface_number = 2;
    c.bus = 12;
    EXPECT_EQ(location_name(c), "12-3:1.2");
}

TEST(UsbLocationName, WithoutPortPathUsesTheAddress) {
    const UsbReaderCandidate c = reader(2, 9, 1);
    EXPECT_EQ(location_name(c), "2-@9:1.1");
}

TEST(UsbReaderKey, ReplugIsANewReader) {
    const UsbReaderCandidate a = reader(1, 7, 0);
    UsbReaderCandidate same = a;
    same.product = "renamed";
    same.port_path = {9};
    EXPECT_EQ(key_of(a), key_of(same));
    EXPECT_NE(key_of(a), key_of(reader(1, 8, 0)));  // same port, new address
    EXPECT_NE(key_of(a), key_of(reader(1, 7, 1)));  // other interface
    EXPECT_NE(key_of(a), key_of(reader(2, 7, 0)));
    UsbReaderCandidate other_device = a;
    other_device.product_id = 0x1234;
    EXPECT_NE(key_of(a), key_of(other_device));
}

TEST(UsbReaderDiff, NothingChanged) {
    const std::vector<UsbReaderCandidate> list{reader(1, 2, 0, "a"), reader(1, 3, 0, "b")};
    const ReaderChanges d = diff_readers(list, list);
    EXPECT_TRUE(d.added.empty());
    EXPECT_TRUE(d.removed.empty());
    EXPECT_EQ(products(d.current), (std::vector<std::string>{"a", "b"}));
}

TEST(UsbReaderDiff, AddedAndRemovedInOrder) {
    const std::vector<UsbReaderCandidate> before{reader(1, 2, 0, "a"), reader(1, 3, 0, "b"), reader(1, 4, 0, "c")};
    const std::vector<UsbReaderCandidate> after{reader(1, 5, 0, "e"), reader(1, 3, 0, "b"), reader(1, 6, 0, "f")};
    const ReaderChanges d = diff_readers(before, after);
    EXPECT_EQ(products(d.removed), (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(products(d.added), (std::vector<std::string>{"e", "f"}));
    EXPECT_EQ(products(d.current), (std::vector<std::string>{"e", "b", "f"}));
}

TEST(UsbReaderDiff, KnownReadersKeepTheirFirstDescription) {
    // The monitor reads strings only for new readers; a later scan without strings must not
    // erase them.
    const std::vector<UsbReaderCandidate> before{reader(1, 2, 0, "with strings")};
    const std::vector<UsbReaderCandidate> after{reader(1, 2, 0, "")};
    const ReaderChanges d = diff_readers(before, after);
    EXPECT_TRUE(d.added.empty());
    EXPECT_TRUE(d.removed.empty());
    EXPECT_EQ(products(d.current), (std::vector<std::string>{"with strings"}));
}

TEST(UsbReaderDiff, CompositeInterfacesAreSeparateReaders) {
    const std::vector<UsbReaderCandidate> before{reader(1, 2, 0, "if0")};
    const std::vector<UsbReaderCandidate> after{reader(1, 2, 0, "if0"), reader(1, 2, 1, "if1")};
    const ReaderChanges d = diff_readers(before, after);
    EXPECT_EQ(products(d.added), (std::vector<std::string>{"if1"}));
    EXPECT_TRUE(d.removed.empty());
}

TEST(UsbReaderDiff, EverythingGoneOrEverythingNew) {
    const std::vector<UsbReaderCandidate> list{reader(1, 2, 0, "a"), reader(1, 3, 0, "b")};
    ReaderChanges d = diff_readers(list, {});
    EXPECT_EQ(products(d.removed), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(d.current.empty());
    d = diff_readers({}, list);
    EXPECT_EQ(products(d.added), (std::vector<std::string>{"a", "b"}));
}

TEST(UsbReaderDiff, DuplicateKeysAreReportedOnce) {
    const std::vector<UsbReaderCandidate> twice{reader(1, 2, 0, "a"), reader(1, 2, 0, "a again")};
    ReaderChanges d = diff_readers({}, twice);
    EXPECT_EQ(products(d.added), (std::vector<std::string>{"a"}));
    EXPECT_EQ(d.current.size(), 1u);
    d = diff_readers(twice, {});
    EXPECT_EQ(products(d.removed), (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace ccidkit::ccid::usb

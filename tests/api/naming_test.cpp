// Reader names: "Vendor Model [Interface] (Serial) RR SS", untrusted strings, stable indexes.
#include <string>

#include "api/api_fixture.h"
#include "api/reader_naming.h"

namespace ccidkit::api::testing {
namespace {

ReaderDescription desc(std::string vendor, std::string model, std::string iface, std::string serial) {
    ReaderDescription d;
    d.vendor = std::move(vendor);
    d.model = std::move(model);
    d.interface_name = std::move(iface);
    d.serial = std::move(serial);
    d.vendor_id = 0x08E6;
    d.product_id = 0x3437;
    return d;
}

TEST(ReaderNaming, BaseNameLikePcscLite) {
    EXPECT_EQ(reader_base_name(desc("Gemalto", "PC Twin Reader", "", "")), "Gemalto PC Twin Reader");
    EXPECT_EQ(reader_base_name(desc("Yubico", "Yubico YubiKey OTP+FIDO+CCID", "", "")),
              "Yubico YubiKey OTP+FIDO+CCID");  // the product string already names the vendor
    EXPECT_EQ(reader_base_name(desc("Gemalto", "PC Twin Reader", "CCID Interface", "ABC123")),
              "Gemalto PC Twin Reader [CCID Interface] (ABC123)");
    EXPECT_EQ(reader_base_name(desc("", "", "", "")), "Reader 08E6:3437");
    EXPECT_EQ(reader_base_name(desc("ACME", "", "", "7")), "ACME (7)");
    EXPECT_EQ(reader_full_name("ACME (7)", 0x1A, 2), "ACME (7) 1A 02");
}

TEST(ReaderNaming, HostileStringsCannotBreakTheMultiString) {
    const std::string nul_inside("Evil\0Reader", 11);
    const std::string name = reader_base_name(desc("X\n", nul_inside, "\x01", "S\x7F"));
    EXPECT_EQ(name.find('\0'), std::string::npos);
    for (char c : name) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
    EXPECT_EQ(name, "X Evil Reader (S)");
    // Truncated to fit MAX_READERNAME with " RR SS", on a UTF-8 boundary.
    std::string longer;
    for (int i = 0; i < 100; ++i) longer += "\xC3\xA9";  // é
    const std::string cut = reader_base_name(desc("", longer, "", ""));
    EXPECT_LE(cut.size(), kMaxReaderBaseName);
    EXPECT_EQ(cut.size() % 2, 0u);
    EXPECT_LE(reader_full_name(cut, 0, 0).size() + 1, static_cast<std::size_t>(MAX_READERNAME));
}

TEST(ReaderNaming, IndexesAreReusedByTheSameDevice) {
    ReaderIndexTable t;
    EXPECT_EQ(t.acquire("a"), std::optional<std::uint8_t>(0));
    EXPECT_EQ(t.acquire("b"), std::optional<std::uint8_t>(1));
    EXPECT_EQ(t.acquire("a"), std::optional<std::uint8_t>(0));  // second slot of device a
    t.release("a");
    t.release("a");
    // A newcomer does not take a's index while a is away ...
    EXPECT_EQ(t.acquire("c"), std::optional<std::uint8_t>(2));
    // ... so a gets it back.
    EXPECT_EQ(t.acquire("a"), std::optional<std::uint8_t>(0));
    for (int i = 3; i < 256; ++i) EXPECT_TRUE(t.acquire("d" + std::to_string(i)));
    EXPECT_EQ(t.acquire("full"), std::nullopt);
}

using Naming = ApiTest;

TEST_F(Naming, SlotsShareTheReaderIndex) {
    provider->add(FakeReader::describe("Dual", "D1", 0));
    provider->add(FakeReader::describe("Dual", "D1", 1));
    provider->add(FakeReader::describe("Other", "O1", 0));
    const SCARDCONTEXT ctx = establish();
    EXPECT_EQ(reader_names(ctx),
              (std::vector<std::string>{"Fake Dual (D1) 00 00", "Fake Dual (D1) 00 01", "Fake Other (O1) 01 00"}));
    SCardReleaseContext(ctx);
}

TEST_F(Naming, StableAcrossReplug) {
    auto first = add_reader("First", "F1");
    auto second = add_reader("Second", "S2");
    const SCARDCONTEXT ctx = establish();
    EXPECT_EQ(reader_names(ctx), (std::vector<std::string>{"Fake First (F1) 00 00", "Fake Second (S2) 01 00"}));
    provider->unplug(first);
    EXPECT_EQ(reader_names(ctx), (std::vector<std::string>{"Fake Second (S2) 01 00"}));
    add_reader("Third", "T3");
    first = add_reader("First", "F1");
    EXPECT_EQ(reader_names(ctx), (std::vector<std::string>{"Fake First (F1) 00 00", "Fake Second (S2) 01 00",
                                                           "Fake Third (T3) 02 00"}));
    SCardReleaseContext(ctx);
}

}  // namespace
}  // namespace ccidkit::api::testing

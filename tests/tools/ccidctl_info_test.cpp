// `ccidctl info`: descriptors from hex, from configuration dumps, from the readers corpus and
// from virtual readers; the quirks that apply; text and JSON.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ccid/descriptor.h"
#include "ccid/descriptor_report.h"
#include "ccid/quirks.h"
#include "ccid/quirks_lookup.h"
#include "ccid/usb_config.h"
#include "sim/reader_corpus.h"
#include "tools/ccidctl_runner.h"

using namespace ccidkit;
using namespace ccidkit::testing_ccidctl;
namespace fs = std::filesystem;

namespace {

class TempFile {
public:
    explicit TempFile(const std::string& content) {
        path_ = fs::temp_directory_path() /
                ("ccidctl_info_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) + ".txt");
        std::ofstream(path_, std::ios::binary) << content;
    }
    ~TempFile() { fs::remove(path_); }
    std::string path() const { return path_.string(); }

private:
    static inline int counter_ = 0;
    fs::path path_;
};

ccid::CcidDescriptor odd_descriptor() {
    ccid::CcidDescriptor d;
    d.dwMaxIFSD = 0;  // implausible: the driver uses 254
    d.dwFeatures = 0x000400FE;
    d.dwMaxCCIDMessageLength = 3072;
    return d;
}

TEST(CcidctlInfo, ClassDescriptorHexAsJson) {
    const Bytes raw = ccid::encode_ccid_descriptor(odd_descriptor());
    auto r = ctl({"--json", "info", "--descriptor", to_hex(raw)});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    EXPECT_EQ(v["source"].string, "class-descriptor");
    ASSERT_EQ(v["interfaces"].size(), 1u);
    const auto& i = v["interfaces"][0];
    EXPECT_TRUE(i["vendor_id"].is_null());
    EXPECT_EQ(i["descriptor"]["hex"].string, to_hex(raw, '\0'));
    EXPECT_TRUE(i["descriptor"]["error"].is_null());
    EXPECT_EQ(i["descriptor"]["fields"]["dwMaxIFSD"].integer(), 0);
    EXPECT_EQ(i["descriptor"]["fields"]["dwFeatures"].integer(), 0x000400FE);
    EXPECT_EQ(i["descriptor"]["fields"]["bcdCCID"].string, "1.10");

    auto parsed = ccid::parse_ccid_descriptor(raw);
    ASSERT_TRUE(parsed);
    ASSERT_EQ(i["descriptor"]["warnings"].size(), parsed->warnings.size());
    ASSERT_FALSE(parsed->warnings.empty());
    EXPECT_EQ(i["descriptor"]["warnings"][0]["field"].string, parsed->warnings[0].field);
    EXPECT_EQ(i["descriptor"]["effective"]["ifsd"].integer(), parsed->effective.ifsd);
    EXPECT_EQ(i["descriptor"]["effective"]["level"].string, std::string(to_string(parsed->effective.level)));
    const auto meaning = ccid::describe_descriptor(parsed->fields);
    ASSERT_EQ(i["descriptor"]["meaning"].size(), meaning.size());
    EXPECT_EQ(i["descriptor"]["meaning"][0].string, meaning[0]);
    EXPECT_FALSE(i["quirks"]["identity_known"].boolean);
    EXPECT_EQ(i["driver"]["ifsd"].integer(), parsed->effective.ifsd);
}

TEST(CcidctlInfo, TextShowsTheMeaningWarningsAndEffectiveValues) {
    const Bytes raw = ccid::encode_ccid_descriptor(odd_descriptor());
    auto r = ctl({"info", "--descriptor", to_hex(raw)});
    ASSERT_EQ(r.code, 0) << r.err;
    auto parsed = ccid::parse_ccid_descriptor(raw);
    for (const auto& line : ccid::describe_parsed_descriptor(*parsed))
        EXPECT_NE(r.out.find(line), std::string::npos) << line;
    EXPECT_NE(r.out.find("give --id"), std::string::npos);
}

TEST(CcidctlInfo, QuirksOfTheGivenIdentity) {
    ASSERT_FALSE(ccid::builtin_quirks().empty());
    const ccid::QuirkRow& row = ccid::builtin_quirks().front();
    const std::string id = fmt::format("{:04x}:{:04x}:{:04x}", row.vid, row.pid, row.bcd_min);
    auto r = ctl({"--json", "info", "--descriptor", to_hex(ccid::encode_ccid_descriptor({})), "--id", id});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    const auto& q = v["interfaces"][0]["quirks"];
    EXPECT_TRUE(q["identity_known"].boolean);
    const auto rows = ccid::matching_rows(row.vid, row.pid, row.bcd_min);
    ASSERT_EQ(q["rows"].size(), rows.size());
    EXPECT_EQ(q["rows"][0]["name"].string, rows[0].name);
    const auto settings = ccid::describe_quirks(ccid::quirks_for(row.vid, row.pid, row.bcd_min));
    ASSERT_EQ(q["settings"].size(), settings.size());
    if (!settings.empty()) {
        EXPECT_EQ(q["settings"][0].string, settings[0]);
    }

    EXPECT_EQ(ctl({"info", "--descriptor", "3600", "--id", "nonsense"}).code, 1);
    EXPECT_EQ(ctl({"info", "--id", "1234:5678"}).code, 1);  // --id needs a file or hex
}

TEST(CcidctlInfo, UserQuirksFileRowsAreShown) {
    TempFile quirks("1234:5678 no_pps reason=\"test row\"\n");
    auto r = ctl({"--json", "--quirks-file", quirks.path(), "info", "--descriptor",
                  to_hex(ccid::encode_ccid_descriptor({})), "--id", "1234:5678"});
    ccid::reset_user_quirks();
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    const auto& rows = v["interfaces"][0]["quirks"]["rows"];
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_TRUE(rows[0]["from_user_file"].boolean);
    EXPECT_EQ(rows[0]["reason"].string, "test row");
}

TEST(CcidctlInfo, DevicePlusConfigurationDumpGivesIdentityAndEveryReaderInterface) {
    ccid::UsbConfiguration config;
    for (std::uint8_t n = 0; n < 2; ++n) {
        ccid::UsbAltSetting alt;
        alt.bInterfaceNumber = n;
        alt.bInterfaceClass = 0x0B;
        ccid::CcidDescriptor d;
        d.bMaxSlotIndex = n;
        alt.extra = ccid::encode_ccid_descriptor(d);
        alt.endpoints = {{static_cast<std::uint8_t>(1 + 3 * n), 2, 64, 0, {}},
                         {static_cast<std::uint8_t>(0x82 + 3 * n), 2, 64, 0, {}}};
        ccid::UsbInterface iface;
        iface.number = n;
        iface.alt_settings.push_back(alt);
        config.interfaces.push_back(iface);
    }
    auto cfg = ccid::encode_usb_configuration(config);
    ASSERT_TRUE(cfg);
    Bytes device{18, 1, 0x00, 0x02, 0, 0, 0, 64, 0xE6, 0x08, 0x37, 0x34, 0x00, 0x02, 0, 0, 0, 1};
    Bytes all = device;
    all.insert(all.end(), cfg->begin(), cfg->end());
    TempFile file("# lsusb-style dump\n" + to_hex(all) + "\n");
    auto r = ctl({"--json", "info", "--descriptor-file", file.path()});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    EXPECT_EQ(v["source"].string, "device+configuration");
    ASSERT_EQ(v["interfaces"].size(), 2u);
    EXPECT_EQ(v["interfaces"][0]["vendor_id"].integer(), 0x08E6);
    EXPECT_EQ(v["interfaces"][0]["product_id"].integer(), 0x3437);
    EXPECT_EQ(v["interfaces"][0]["bcd_device"].integer(), 0x0200);
    EXPECT_EQ(v["interfaces"][1]["interface_number"].integer(), 1);
    EXPECT_EQ(v["interfaces"][1]["descriptor"]["fields"]["bMaxSlotIndex"].integer(), 1);
}

TEST(CcidctlInfo, BadInputs) {
    EXPECT_EQ(ctl({"info", "--descriptor-file", "/nonexistent/file"}).code, 5);
    TempFile garbage("this is neither hex nor a parse dump\n");
    EXPECT_EQ(ctl({"info", "--descriptor-file", garbage.path()}).code, 1);
    EXPECT_EQ(ctl({"info", "--descriptor", "zz"}).code, 1);
    EXPECT_EQ(ctl({"info", "--descriptor", "3B00"}).code, 1);  // not a descriptor type
    EXPECT_EQ(ctl({"info", "--descriptor", "12", "--descriptor-file", "x"}).code, 1);
    // A truncated class descriptor is reported, not fatal.
    auto r = ctl({"--json", "info", "--descriptor", "36 21 10 01"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    EXPECT_EQ(v["interfaces"][0]["descriptor"]["error"].string,
              std::string(to_string(ccid::DescriptorError::Truncated)));
    EXPECT_TRUE(v["interfaces"][0]["driver"].is_null());
}

TEST(CcidctlInfo, VirtualReaderIsAskedForItsRateLists) {
    auto r = ctl({"--json", "--virtual", "short,tpdu", "info"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    EXPECT_EQ(v["source"].string, "virtual");
    ASSERT_EQ(v["interfaces"].size(), 2u);
    // The default simulated reader has no lists: the requests stall, as on real readers.
    EXPECT_TRUE(v["interfaces"][0]["data_rates_bps"].is_null());
    bool noted = false;
    for (const auto& n : v["interfaces"][0]["notes"].items)
        noted = noted || n.string.find("GET_DATA_RATES request failed") != std::string::npos;
    EXPECT_TRUE(noted);
    auto one = ctl({"--json", "--virtual", "short,tpdu", "--reader", "1", "info", "--no-open"});
    ASSERT_EQ(one.code, 0);
    auto w = json_of(one);
    ASSERT_EQ(w["interfaces"].size(), 1u);
    EXPECT_EQ(w["interfaces"][0]["driver"]["level"].string, std::string(to_string(ccid::ExchangeLevel::Tpdu)));
}

const fs::path kCorpusDir = fs::path(CCIDKIT_SHARED_DIR) / "corpus" / "ccid-readers";

TEST(CcidctlInfo, CorpusFilesDecodeLikeTheLoaderReadsThem) {
    if (!fs::is_directory(kCorpusDir)) GTEST_SKIP() << "reader corpus not available at " << kCorpusDir;
    auto files = sim::list_corpus(kCorpusDir);
    ASSERT_TRUE(files);
    std::size_t checked = 0;
    // Every 25th file keeps the test fast while covering the corpus' variety.
    for (std::size_t k = 0; k < files->size(); k += 25) {
        const auto& path = (*files)[k];
        auto reader = sim::load_reader_file(path);
        if (!reader) continue;  // not a descriptor dump (the loader's own tests cover those)
        auto r = ctl({"--json", "info", "--descriptor-file", path.string()});
        ASSERT_EQ(r.code, 0) << path << "\n" << r.err;
        auto v = json_of(r);
        ASSERT_EQ(v["interfaces"].size(), reader->interfaces.size()) << path;
        for (std::size_t i = 0; i < reader->interfaces.size(); ++i) {
            const auto& rec = reader->interfaces[i];
            const auto& j = v["interfaces"][i];
            EXPECT_EQ(j["vendor_id"].integer(), rec.device.vendor_id) << path;
            EXPECT_EQ(j["product_id"].integer(), rec.device.product_id) << path;
            EXPECT_EQ(j["descriptor"]["hex"].string, to_hex(rec.descriptor_bytes, '\0')) << path;
            EXPECT_EQ(j["descriptor"]["fields"]["dwFeatures"].integer(), rec.descriptor.dwFeatures) << path;
            EXPECT_EQ(j["quirks"]["rows"].size(),
                      ccid::matching_rows(rec.device.vendor_id, rec.device.product_id, rec.device.bcd_device).size());
        }
        ++checked;
    }
    EXPECT_GT(checked, 10u);
}

}  // namespace

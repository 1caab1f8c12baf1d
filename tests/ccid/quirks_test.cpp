// The built-in quirks table, lookup and merge precedence, bcdDevice ranges, vendor-class
// detection, apply_overrides and the reports. (What each switch does to the driver is tested
// with the driver.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>

#include <unistd.h>

#include "ccid/quirks.h"
#include "ccid/quirks_file.h"
#include "ccid/quirks_lookup.h"

namespace ccidkit::ccid {
namespace {

using Id = std::pair<std::uint16_t, std::uint16_t>;

std::vector<UserQuirkRow> rows_from(std::string_view text) {
    auto rows = parse_quirks_text(text);
    EXPECT_TRUE(rows.has_value()) << (rows ? "" : describe(rows.error()));
    return rows ? *rows : std::vector<UserQuirkRow>{};
}

std::string id_text(std::uint16_t vid, std::uint16_t pid) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04x:%04x", vid, pid);
    return buf;
}

// Every test that touches the process-wide user rows starts and ends without any.
class UserRowsTest : public ::testing::Test {
protected:
    void SetUp() override { clear_user_quirks(); }
    void TearDown() override { clear_user_quirks(); }
};

// ---------------------------------------------------------------------------------------
// Table sanity

TEST(QuirksTable, IsNotEmptyAndEveryRowHasNameAndReason) {
    auto table = builtin_quirks();
    ASSERT_GT(table.size(), 40u);
    for (const QuirkRow& row : table) {
        SCOPED_TRACE(id_text(row.vid, row.pid) + " " + row.name);
        EXPECT_FALSE(row.name.empty());
        EXPECT_FALSE(row.reason.empty());
        EXPECT_NE(row.vid, 0);
        EXPECT_LE(row.bcd_min, row.bcd_max);
        for (char c : row.name + row.reason) {
            EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "control character";
            EXPECT_NE(c, '|') << "breaks the Markdown table";
        }
    }
}

TEST(QuirksTable, EveryRowChangesSomething) {
    for (const QuirkRow& row : builtin_quirks()) {
        EXPECT_TRUE(changed_fields(row.quirks).any()) << id_text(row.vid, row.pid) << " " << row.name;
    }
}

TEST(QuirksTable, RowsOfOneReaderNeverOverlapInFirmware) {
    auto table = builtin_quirks();
    for (std::size_t i = 0; i < table.size(); ++i) {
        for (std::size_t j = i + 1; j < table.size(); ++j) {
            const QuirkRow& a = table[i];
            const QuirkRow& b = table[j];
            if (a.vid != b.vid || a.pid != b.pid) continue;
            bool overlap = a.bcd_min <= b.bcd_max && b.bcd_min <= a.bcd_max;
            EXPECT_FALSE(overlap) << id_text(a.vid, a.pid) << ": rows " << i << " (" << a.name << ") and " << j
                                  << " (" << b.name << ")";
        }
    }
}

TEST(QuirksTable, RefusedFirmwareRowsOnlyCoverTheRefusedVersions) {
    // A row saying "refuse below X" must not also match firmware X or later, or the fix for
    // the good firmware would read as refused in reports.
    for (const QuirkRow& row : builtin_quirks()) {
        if (!row.quirks.min_firmware) continue;
        EXPECT_LT(row.bcd_max, *row.quirks.min_firmware) << id_text(row.vid, row.pid) << " " << row.name;
    }
}

TEST(QuirksTable, BuiltinTableIsStable) {
    auto a = builtin_quirks();
    auto b = builtin_quirks();
    EXPECT_EQ(a.data(), b.data());
    EXPECT_EQ(a.size(), b.size());
}

// The facts the table was asked to carry, checked through the public lookup.
TEST(QuirksTable, CarriesTheKnownFixes) {
    clear_user_quirks();
    Quirks q = quirks_for(0x09BE, 0x0002, 0x0200);  // MySmartPad
    EXPECT_EQ(q.descriptor.dwMaxIFSD, 254u);
    EXPECT_TRUE(q.vendor_class_ccid);

    for (Id fake_pinpad : {Id{0x076B, 0x3031}, Id{0x076B, 0x3A21}, Id{0x076B, 0x6632}, Id{0x046A, 0x00A7},
                           Id{0x0BF8, 0x1024}}) {
        Quirks f = quirks_for(fake_pinpad.first, fake_pinpad.second, 0x0100);
        EXPECT_EQ(f.descriptor.bPINSupport, std::uint8_t{0}) << id_text(fake_pinpad.first, fake_pinpad.second);
        EXPECT_EQ(f.level, ExchangeLevelOverride::ExtendedApdu);
    }
    for (Id leaking : {Id{0x03F0, 0x1024}, Id{0x03F0, 0x0036}, Id{0x0BF8, 0x1017}, Id{0x04F2, 0x1469}}) {
        EXPECT_EQ(quirks_for(leaking.first, leaking.second, 0x0200).descriptor.bPINSupport, std::uint8_t{0});
    }

    EXPECT_EQ(quirks_for(0x0D46, 0x3010, 0x0040).level, ExchangeLevelOverride::ShortApdu);  // Kobil TriBank
    EXPECT_EQ(quirks_for(0x2F7C, 0x6007, 0x0101).level, ExchangeLevelOverride::ExtendedApdu);  // PN7362AU
    EXPECT_EQ(quirks_for(0x046A, 0x00A1, 0x0100).level, ExchangeLevelOverride::ExtendedApdu);  // KC 1000 SC 1.00
    EXPECT_EQ(quirks_for(0x046A, 0x00A1, 0x0102).level, ExchangeLevelOverride::None);          // later firmware

    EXPECT_TRUE(quirks_for(0x0529, 0x0620, 0x0012).skip_ifsd_exchange);  // eToken 5100 fw 0.12
    EXPECT_TRUE(quirks_for(0x0529, 0x0620, 0x0013).skip_ifsd_exchange);
    EXPECT_FALSE(quirks_for(0x0529, 0x0620, 0x0100).skip_ifsd_exchange);  // Token JC shares the ID

    EXPECT_EQ(quirks_for(0x058F, 0x9540, 0x0120).max_data_rate, 200000u);  // AU9540
    for (std::uint16_t oz : {std::uint16_t{0x7762}, std::uint16_t{0x7772}}) {
        Quirks o = quirks_for(0x0B97, oz, 0x0110);
        EXPECT_TRUE(o.no_pps);
        EXPECT_EQ(o.max_data_rate, 9600u);
    }

    EXPECT_GT(quirks_for(0x09D8, 0x0427, 0x0200).open_timeout_factor, 1u);  // TWN4
    EXPECT_GT(quirks_for(0x04E6, 0x5293, 0x0112).open_timeout_factor, 1u);  // SCL011

    Quirks spr_old = quirks_for(0x04E6, 0xE003, 0x0500);
    EXPECT_EQ(spr_old.max_ifsd, std::uint8_t{48});
    EXPECT_EQ(spr_old.min_firmware, std::uint16_t{0x0510});
    EXPECT_TRUE(spr_old.abort_on_open);
    EXPECT_TRUE(spr_old.poll_slot_status);
    Quirks spr_new = quirks_for(0x04E6, 0xE003, 0x0510);
    EXPECT_FALSE(spr_new.max_ifsd.has_value());
    EXPECT_FALSE(spr_new.min_firmware.has_value());
    EXPECT_TRUE(spr_new.abort_on_open);
    EXPECT_TRUE(spr_new.vendor_class_ccid);

    EXPECT_TRUE(quirks_for(0x08E6, 0x3437, 0x0100).no_nad);  // GemPC Twin
    EXPECT_EQ(quirks_for(0x04E6, 0xE001, 0x0515).max_ifsd, std::uint8_t{48});  // SCR331 before 5.16
    EXPECT_EQ(quirks_for(0x04E6, 0xE001, 0x0516), Quirks{});                   // fixed firmware
}

TEST(QuirksTable, UnknownReaderIsWellBehaved) {
    clear_user_quirks();
    EXPECT_EQ(quirks_for(0x1234, 0x5678, 0x0100), Quirks{});
    EXPECT_FALSE(is_vendor_class_reader(0x1234, 0x5678));
    EXPECT_TRUE(describe_quirks_for(0x1234, 0x5678, 0x0100).empty());
}

// Cross-check with the recorded reader descriptors: every ID in the table is a real reader,
// and every row that enumerates a vendor-class interface is backed by a recording of one.
struct CorpusReader {
    std::uint16_t vid = 0, pid = 0, bcd = 0;
    unsigned interface_class = 0;
    bool has_ccid_descriptor = false;
};

std::optional<unsigned> hex_after(const std::string& line, std::string_view key) {
    auto at = line.find(key);
    if (at == std::string::npos) return std::nullopt;
    auto x = line.find("0x", at);
    if (x == std::string::npos) return std::nullopt;
    return static_cast<unsigned>(std::stoul(line.substr(x + 2, 4), nullptr, 16));
}

std::vector<CorpusReader> load_corpus(const std::filesystem::path& dir) {
    std::vector<CorpusReader> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".txt" || entry.path().filename() == "supported_readers.txt") continue;
        std::ifstream in(entry.path());
        CorpusReader r;
        bool have_vid = false, have_pid = false, have_class = false;
        std::string line;
        while (std::getline(in, line)) {
            if (!have_vid && line.find("idVendor:") != std::string::npos) {
                if (auto v = hex_after(line, "idVendor:")) r.vid = static_cast<std::uint16_t>(*v), have_vid = true;
            } else if (!have_pid && line.find("idProduct:") != std::string::npos) {
                if (auto v = hex_after(line, "idProduct:")) r.pid = static_cast<std::uint16_t>(*v), have_pid = true;
            } else if (!have_class && line.find("bInterfaceClass:") != std::string::npos) {
                if (auto v = hex_after(line, "bInterfaceClass:")) r.interface_class = *v, have_class = true;
            } else if (line.find("CCID Class Descriptor") != std::string::npos) {
                r.has_ccid_descriptor = true;
            }
        }
        if (have_vid && have_pid) out.push_back(r);
    }
    return out;
}

// IDs of libccid's list: all of them, and those of its "supported"/"shouldwork" sections.
void load_supported_list(const std::filesystem::path& file, std::set<Id>& all, std::set<Id>& supported) {
    std::ifstream in(file);
    std::string line, section;
    while (std::getline(in, line)) {
        if (line.rfind("# section: ", 0) == 0) {
            section = line.substr(11);
            continue;
        }
        std::string s = line;
        bool commented = !s.empty() && s[0] == '#';
        if (commented) s = s.substr(1);
        if (s.size() < 13 || s.rfind("0x", 0) != 0 || s[6] != ':' || s.substr(7, 2) != "0x") continue;
        Id id{static_cast<std::uint16_t>(std::stoul(s.substr(2, 4), nullptr, 16)),
              static_cast<std::uint16_t>(std::stoul(s.substr(9, 4), nullptr, 16))};
        all.insert(id);
        if (!commented && (section == "supported" || section == "shouldwork")) supported.insert(id);
    }
}

TEST(QuirksTable, AgreesWithRecordedReaders) {
    std::filesystem::path dir = std::filesystem::path(CCIDKIT_SHARED_DIR) / "corpus" / "ccid-readers";
    if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "reader corpus not available at " << dir;
    clear_user_quirks();
    auto corpus = load_corpus(dir);
    ASSERT_GT(corpus.size(), 100u);
    std::set<Id> listed, supported;
    if (std::filesystem::exists(dir / "supported_readers.txt")) load_supported_list(dir / "supported_readers.txt", listed, supported);
    std::set<Id> recorded;
    std::set<Id> recorded_vendor_class;
    for (const CorpusReader& r : corpus) {
        recorded.insert({r.vid, r.pid});
        if (r.interface_class == 0xFF && r.has_ccid_descriptor) recorded_vendor_class.insert({r.vid, r.pid});
    }
    // Readers known only from the drivers' firmware lists (no recording in the corpus).
    const std::set<Id> from_driver_sources_only = {{0x062D, 0x0001} /* THRC */};

    for (const QuirkRow& row : builtin_quirks()) {
        Id id{row.vid, row.pid};
        SCOPED_TRACE(id_text(row.vid, row.pid) + " " + row.name);
        EXPECT_TRUE(recorded.contains(id) || listed.contains(id) || from_driver_sources_only.contains(id))
            << "VID:PID not found in the corpus nor in libccid's list (typo?)";
        if (row.quirks.vendor_class_ccid) {
            EXPECT_TRUE(recorded_vendor_class.contains(id)) << "no recording shows a vendor-class CCID interface";
        }
    }
    // Every vendor-class reader that libccid supports is enumerated.
    for (Id id : recorded_vendor_class) {
        if (!supported.contains(id)) continue;
        EXPECT_TRUE(is_vendor_class_reader(id.first, id.second)) << id_text(id.first, id.second);
    }
}

// ---------------------------------------------------------------------------------------
// Merge precedence (pure functions, explicit rows)

std::vector<QuirkRow> sample_builtin() {
    std::vector<QuirkRow> rows(2);
    rows[0].vid = 0x1111;
    rows[0].pid = 0x2222;
    rows[0].bcd_min = 0x0000;
    rows[0].bcd_max = 0x01FF;
    rows[0].name = "old firmware";
    rows[0].reason = "r";
    rows[0].quirks.no_pps = true;
    rows[0].quirks.max_data_rate = 9600;
    rows[0].quirks.min_firmware = 0x0200;
    rows[0].quirks.vendor_class_ccid = true;
    rows[1] = rows[0];
    rows[1].bcd_min = 0x0200;
    rows[1].bcd_max = 0xFFFF;
    rows[1].name = "new firmware";
    rows[1].quirks = Quirks{};
    rows[1].quirks.vendor_class_ccid = true;
    return rows;
}

TEST(QuirksMerge, BuiltinRowsApplyWithinTheirRangeOnly) {
    auto builtin = sample_builtin();
    Quirks old_fw = merge_quirks(builtin, {}, 0x1111, 0x2222, 0x01FF);
    EXPECT_TRUE(old_fw.no_pps);
    EXPECT_EQ(old_fw.max_data_rate, 9600u);
    EXPECT_EQ(old_fw.min_firmware, std::uint16_t{0x0200});
    Quirks new_fw = merge_quirks(builtin, {}, 0x1111, 0x2222, 0x0200);
    EXPECT_FALSE(new_fw.no_pps);
    EXPECT_FALSE(new_fw.min_firmware);
    EXPECT_TRUE(new_fw.vendor_class_ccid);
    EXPECT_EQ(merge_quirks(builtin, {}, 0x1111, 0x2223, 0x0100), Quirks{});  // other PID
    EXPECT_EQ(merge_quirks(builtin, {}, 0x1112, 0x2222, 0x0100), Quirks{});  // other VID
}

TEST(QuirksMerge, UserRowOverridesOnlyTheFieldsItNames) {
    auto builtin = sample_builtin();
    auto user = rows_from("1111:2222 max_data_rate=4800\n");
    Quirks q = merge_quirks(builtin, user, 0x1111, 0x2222, 0x0100);
    EXPECT_EQ(q.max_data_rate, 4800u);
    EXPECT_TRUE(q.no_pps);                              // kept from the built-in row
    EXPECT_EQ(q.min_firmware, std::uint16_t{0x0200});  // kept
}

TEST(QuirksMerge, UserRowCanCancelABuiltinFix) {
    auto builtin = sample_builtin();
    auto user = rows_from("1111:2222 min_firmware=default no_pps=no\n");
    Quirks q = merge_quirks(builtin, user, 0x1111, 0x2222, 0x0100);
    EXPECT_FALSE(q.min_firmware.has_value());
    EXPECT_FALSE(q.no_pps);
    EXPECT_EQ(q.max_data_rate, 9600u);
}

TEST(QuirksMerge, LaterUserRowsOverrideEarlierOnes) {
    auto user = rows_from(
        "1111:2222 max_ifsd=100 no_nad\n"
        "1111:2222 max_ifsd=48\n"
        "1111:2222 bcd=0300-0400 max_ifsd=32\n");
    EXPECT_EQ(merge_quirks({}, user, 0x1111, 0x2222, 0x0100).max_ifsd, std::uint8_t{48});
    EXPECT_TRUE(merge_quirks({}, user, 0x1111, 0x2222, 0x0100).no_nad);
    EXPECT_EQ(merge_quirks({}, user, 0x1111, 0x2222, 0x0300).max_ifsd, std::uint8_t{32});
    EXPECT_EQ(merge_quirks({}, user, 0x1111, 0x2222, 0x0400).max_ifsd, std::uint8_t{32});
    EXPECT_EQ(merge_quirks({}, user, 0x1111, 0x2222, 0x0401).max_ifsd, std::uint8_t{48});
}

TEST(QuirksMerge, RowRangeBoundsAreInclusive) {
    QuirkRow row;
    row.vid = 1;
    row.pid = 2;
    row.bcd_min = 0x0100;
    row.bcd_max = 0x0105;
    EXPECT_FALSE(row_matches(row, 1, 2, 0x00FF));
    EXPECT_TRUE(row_matches(row, 1, 2, 0x0100));
    EXPECT_TRUE(row_matches(row, 1, 2, 0x0105));
    EXPECT_FALSE(row_matches(row, 1, 2, 0x0106));
    row.bcd_min = 0;
    row.bcd_max = 0xFFFF;
    EXPECT_TRUE(row_matches(row, 1, 2, 0));
    EXPECT_TRUE(row_matches(row, 1, 2, 0xFFFF));
}

TEST(QuirksMerge, ChangedFieldsListsExactlyTheNonDefaultFields) {
    EXPECT_TRUE(changed_fields(Quirks{}).none());
    Quirks q;
    q.descriptor.bPINSupport = 0;  // 0 is a value, not "unset"
    q.open_timeout_factor = 4;
    q.extra_timeout = std::chrono::milliseconds(1);
    QuirkFieldSet f = changed_fields(q);
    EXPECT_EQ(f.count(), 3u);
    EXPECT_TRUE(f.test(index_of(QuirkField::bPINSupport)));
    EXPECT_TRUE(f.test(index_of(QuirkField::open_timeout_factor)));
    EXPECT_TRUE(f.test(index_of(QuirkField::extra_timeout)));
}

TEST(QuirksMerge, VendorClassHoldsWhenAnyFirmwareHasIt) {
    auto builtin = sample_builtin();
    EXPECT_TRUE(any_vendor_class(builtin, {}, 0x1111, 0x2222));
    // Cancelled for part of the range only: still a vendor-class reader for other firmware.
    auto part = rows_from("1111:2222 bcd=0000-0100 vendor_class_ccid=no\n");
    EXPECT_TRUE(any_vendor_class(builtin, part, 0x1111, 0x2222));
    EXPECT_FALSE(merge_quirks(builtin, part, 0x1111, 0x2222, 0x0050).vendor_class_ccid);
    // Cancelled everywhere.
    auto all = rows_from("1111:2222 vendor_class_ccid=default\n");
    EXPECT_FALSE(any_vendor_class(builtin, all, 0x1111, 0x2222));
    // Added by the user for one firmware at the very top of the range.
    auto added = rows_from("3333:4444 bcd=FFFF vendor_class_ccid\n");
    EXPECT_TRUE(any_vendor_class({}, added, 0x3333, 0x4444));
    EXPECT_FALSE(any_vendor_class({}, {}, 0x3333, 0x4444));
}

// ---------------------------------------------------------------------------------------
// The process-wide user rows

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
    auto path = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".quirks");
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

TEST_F(UserRowsTest, LoadedFileOverridesTheBuiltinTable) {
    auto path = write_temp("override", "# bring-up\n0b97:7762 max_data_rate=19200 reason=\"test\"\n");
    auto n = load_quirks_file(path.string());
    ASSERT_TRUE(n.has_value()) << describe(n.error());
    EXPECT_EQ(*n, 1u);
    Quirks q = quirks_for(0x0B97, 0x7762, 0x0110);
    EXPECT_EQ(q.max_data_rate, 19200u);
    EXPECT_TRUE(q.no_pps);  // from the built-in row
    EXPECT_FALSE(user_quirks_error().has_value());
    ASSERT_EQ(user_quirks().size(), 1u);
    EXPECT_EQ(user_quirks()[0].line, 2u);
    std::filesystem::remove(path);
}

TEST_F(UserRowsTest, RejectedFileChangesNothingAndIsReported) {
    auto good = write_temp("good", "1234:5678 no_pps\n");
    ASSERT_TRUE(load_quirks_file(good.string()).has_value());
    auto bad = write_temp("bad", "1234:5678 max_ifsd=48\n1234:5678 frobnicate\n");
    auto r = load_quirks_file(bad.string());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, QuirksFileErrorCode::UnknownKey);
    EXPECT_EQ(r.error().line, 2u);
    Quirks q = quirks_for(0x1234, 0x5678, 0);
    EXPECT_TRUE(q.no_pps);                  // the previous file still applies
    EXPECT_FALSE(q.max_ifsd.has_value());   // nothing of the rejected file
    ASSERT_TRUE(user_quirks_error().has_value());
    EXPECT_EQ(user_quirks_error()->line, 2u);
    std::filesystem::remove(good);
    std::filesystem::remove(bad);
}

TEST_F(UserRowsTest, EnvironmentFileIsReadAtTheFirstLookup) {
    auto path = write_temp("env", "abcd:0001 vendor_class_ccid name=\"Bring-up reader\"\n");
    ASSERT_EQ(::setenv(kQuirksFileEnvVar, path.c_str(), 1), 0);
    reset_user_quirks();
    // The library prints nothing while loading a good file (logging is off by default).
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    EXPECT_TRUE(is_vendor_class_reader(0xABCD, 0x0001));
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
    EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
    EXPECT_TRUE(is_vendor_class_reader(0xABCD, 0x0001, 0x0100));
    // Read once: changing the variable later does not reload.
    ASSERT_EQ(::setenv(kQuirksFileEnvVar, "/nonexistent/quirks", 1), 0);
    EXPECT_TRUE(quirks_for(0xABCD, 0x0001, 0).vendor_class_ccid);
    EXPECT_FALSE(user_quirks_error().has_value());
    // A broken file named by the environment: built-in rows only, error kept.
    reset_user_quirks();
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    EXPECT_FALSE(quirks_for(0xABCD, 0x0001, 0).vendor_class_ccid);
    // A misconfiguration is said on stderr even with logging off; never on stdout.
    EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
    EXPECT_THAT(::testing::internal::GetCapturedStderr(),
                ::testing::StartsWith("ccidkit: CCIDKIT_QUIRKS_FILE is ignored, built-in quirks only:"));
    ASSERT_TRUE(user_quirks_error().has_value());
    EXPECT_EQ(user_quirks_error()->code, QuirksFileErrorCode::CannotOpen);
    EXPECT_EQ(quirks_for(0x09BE, 0x0002, 0).descriptor.dwMaxIFSD, 254u);
    ::unsetenv(kQuirksFileEnvVar);
    std::filesystem::remove(path);
}

TEST_F(UserRowsTest, VendorClassIdsAreSortedUniqueAndFollowUserRows) {
    auto ids = vendor_class_ids();
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
    auto has = [&](Id id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
    EXPECT_TRUE(has({0x04E6, 0xE003}));  // SCM SPR532
    EXPECT_TRUE(has({0x046A, 0x003E}));  // Cherry ST-2000
    EXPECT_TRUE(has({0x09BE, 0x0002}));  // MySmartPad
    EXPECT_FALSE(has({0x0B97, 0x7762}));  // has quirks, but class 0x0B
    for (Id id : ids) EXPECT_TRUE(is_vendor_class_reader(id.first, id.second));

    set_user_quirks(rows_from("04e6:e003 vendor_class_ccid=no\nfeed:beef vendor_class_ccid\n"));
    ids = vendor_class_ids();
    EXPECT_FALSE(has({0x04E6, 0xE003}));
    EXPECT_TRUE(has({0xFEED, 0xBEEF}));
}

TEST_F(UserRowsTest, MatchingRowsNameBuiltinAndUserOrigins) {
    set_user_quirks(rows_from("\n04e6:e003 bcd=0500 extra_timeout=2s reason=\"slow card\"\n"));
    auto m = matching_rows(0x04E6, 0xE003, 0x0500);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_FALSE(m[0].from_user_file);
    EXPECT_EQ(m[0].name, "SCM SPR532");
    EXPECT_TRUE(m[1].from_user_file);
    EXPECT_EQ(m[1].line, 2u);
    EXPECT_EQ(m[1].reason, "slow card");
    EXPECT_EQ(matching_rows(0x04E6, 0xE003, 0x0501).size(), 1u);
}

TEST_F(UserRowsTest, LookupsRaceSafelyWithReplacement) {
    // Readers look up while another thread swaps the user rows: every answer must be one of
    // the two complete row sets, never a mix or a dangling one (ASan watches the lifetimes).
    auto with = rows_from("0b97:7762 max_data_rate=4800 no_nad\n");
    std::atomic<bool> stop{false};
    std::atomic<int> torn{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
        readers.emplace_back([&] {
            while (!stop) {
                Quirks q = quirks_for(0x0B97, 0x7762, 0x0110);
                bool user = q.max_data_rate == 4800u;
                if (user != q.no_nad || !q.no_pps) ++torn;
            }
        });
    }
    for (int i = 0; i < 200; ++i) {
        if (i % 2) set_user_quirks(with);
        else clear_user_quirks();
    }
    stop = true;
    for (auto& th : readers) th.join();
    EXPECT_EQ(torn.load(), 0);
}

// ---------------------------------------------------------------------------------------
// apply_overrides

TEST(QuirksApply, EmptyOverridesLeaveTheDescriptorAlone) {
    CcidDescriptor d;
    d.dwMaxIFSD = 32;
    d.trailing = {1, 2, 3};
    EXPECT_EQ(apply_overrides(d, DescriptorOverrides{}), d);
}

TEST(QuirksApply, EachOverrideReplacesOnlyItsField) {
    CcidDescriptor base;
    base.dwFeatures = 0x000100BA;
    base.dwMaxIFSD = 32;
    base.dwMaxCCIDMessageLength = 271;
    base.dwMaxDataRate = 344086;
    base.dwProtocols = 3;
    base.bPINSupport = 3;
    base.bVoltageSupport = 7;
    base.bMaxCCIDBusySlots = 1;
    struct Case {
        const char* name;
        DescriptorOverrides o;
        CcidDescriptor expected;
    };
    std::vector<Case> cases;
    auto add = [&](const char* name, auto set_override, auto set_expected) {
        Case c{name, {}, base};
        set_override(c.o);
        set_expected(c.expected);
        cases.push_back(std::move(c));
    };
    add("dwFeatures", [](auto& o) { o.dwFeatures = 0x000400BA; }, [](auto& d) { d.dwFeatures = 0x000400BA; });
    add("dwMaxIFSD", [](auto& o) { o.dwMaxIFSD = 254; }, [](auto& d) { d.dwMaxIFSD = 254; });
    add("dwMaxCCIDMessageLength", [](auto& o) { o.dwMaxCCIDMessageLength = 65554; },
        [](auto& d) { d.dwMaxCCIDMessageLength = 65554; });
    add("dwMaxDataRate", [](auto& o) { o.dwMaxDataRate = 9600; }, [](auto& d) { d.dwMaxDataRate = 9600; });
    add("dwProtocols", [](auto& o) { o.dwProtocols = 2; }, [](auto& d) { d.dwProtocols = 2; });
    add("bPINSupport", [](auto& o) { o.bPINSupport = 0; }, [](auto& d) { d.bPINSupport = 0; });
    add("bVoltageSupport", [](auto& o) { o.bVoltageSupport = 1; }, [](auto& d) { d.bVoltageSupport = 1; });
    add("bMaxCCIDBusySlots", [](auto& o) { o.bMaxCCIDBusySlots = 2; }, [](auto& d) { d.bMaxCCIDBusySlots = 2; });
    EXPECT_EQ(cases.size(), 8u);  // one per DescriptorOverrides field
    for (const Case& c : cases) {
        CcidDescriptor got = apply_overrides(base, c.o);
        EXPECT_EQ(got, c.expected) << c.name;
        EXPECT_NE(got, base) << c.name;
    }
}

TEST(QuirksApply, TableOverridesReachTheDescriptor) {
    clear_user_quirks();
    CcidDescriptor reported;
    reported.dwMaxIFSD = 32;
    reported.bPINSupport = 3;
    EXPECT_EQ(apply_overrides(reported, quirks_for(0x09BE, 0x0002, 0x0200).descriptor).dwMaxIFSD, 254u);
    EXPECT_EQ(apply_overrides(reported, quirks_for(0x076B, 0x3031, 0x0106).descriptor).bPINSupport, 0);
}

// ---------------------------------------------------------------------------------------
// Reports

TEST(QuirksReport, OneLinePerChangedField) {
    EXPECT_TRUE(describe_quirks(Quirks{}).empty());
    Quirks q;
    q.descriptor.dwMaxIFSD = 254;
    q.max_data_rate = 9600;
    q.min_firmware = 0x0516;
    auto lines = describe_quirks(q);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_NE(lines[0].find("254"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("9600"), std::string::npos) << lines[1];
    EXPECT_NE(lines[2].find("5.16"), std::string::npos) << lines[2];
}

TEST(QuirksReport, EveryFieldHasADistinctDescription) {
    // Set every field to a non-default value and check each gets its own line.
    Quirks q;
    for (std::size_t i = 0; i < kQuirkFieldCount; ++i) {
        visit_quirk_field(q, quirk_field_at(i), [](auto& m) {
            using M = std::remove_cvref_t<decltype(m)>;
            if constexpr (std::is_same_v<M, bool>) m = true;
            else if constexpr (std::is_same_v<M, ExchangeLevelOverride>) m = ExchangeLevelOverride::Tpdu;
            else if constexpr (std::is_same_v<M, unsigned>) m = 3;
            else if constexpr (std::is_same_v<M, std::chrono::milliseconds>) m = std::chrono::milliseconds(5);
            else m = 7;
        });
    }
    EXPECT_EQ(changed_fields(q).count(), kQuirkFieldCount);
    auto lines = describe_quirks(q);
    ASSERT_EQ(lines.size(), kQuirkFieldCount);
    std::set<std::string> unique(lines.begin(), lines.end());
    EXPECT_EQ(unique.size(), kQuirkFieldCount);
}

TEST_F(UserRowsTest, DescribeForNamesRowsThenEffects) {
    auto lines = describe_quirks_for(0x04E6, 0xE003, 0x0500);
    ASSERT_GE(lines.size(), 2u);
    EXPECT_NE(lines[0].find("SCM SPR532"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("built-in"), std::string::npos) << lines[0];
    bool mentions_refusal = std::any_of(lines.begin(), lines.end(),
                                        [](const std::string& l) { return l.find("5.10") != std::string::npos; });
    EXPECT_TRUE(mentions_refusal);
}

TEST(QuirksReport, DocumentationEmbedsTheCurrentTable) {
    std::filesystem::path doc = std::filesystem::path(CCIDKIT_SOURCE_DIR) / "docs" / "design" / "quirks.md";
    std::ifstream in(doc);
    ASSERT_TRUE(in) << doc;
    std::stringstream text;
    text << in.rdbuf();
    std::string table = builtin_quirks_markdown();
    EXPECT_NE(text.str().find(table), std::string::npos)
        << "docs/design/quirks.md is out of date; replace its table with:\n"
        << table;
}

}  // namespace
}  // namespace ccidkit::ccid

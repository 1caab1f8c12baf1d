// The user quirks file parser: every key, every value form, every error (with its line), the
// whole-file rejection rule, round trips of the built-in table, and garbage inputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <string>

#include <unistd.h>

#include "ccid/quirks.h"
#include "ccid/quirks_file.h"
#include "ccid/quirks_lookup.h"

namespace ccidkit::ccid {
namespace {

using std::chrono::milliseconds;

UserQuirkRow one_row(const std::string& text) {
    auto rows = parse_quirks_text(text);
    EXPECT_TRUE(rows.has_value()) << text << " -> " << (rows ? "" : describe(rows.error()));
    if (!rows || rows->size() != 1) {
        ADD_FAILURE() << "expected exactly one row from: " << text;
        return {};
    }
    return rows->front();
}

QuirksFileError error_of(const std::string& text) {
    auto rows = parse_quirks_text(text);
    EXPECT_FALSE(rows.has_value()) << "accepted: " << text;
    return rows ? QuirksFileError{} : rows.error();
}

QuirkFieldSet only(QuirkField f) {
    QuirkFieldSet s;
    s.set(index_of(f));
    return s;
}

// ---------------------------------------------------------------------------------------
// Keys

struct KeyCase {
    std::string settings;
    QuirkField field;
    std::function<bool(const Quirks&)> holds;
};

std::vector<KeyCase> key_cases() {
    return {
        {"dwFeatures=0x000400BA", QuirkField::dwFeatures, [](const Quirks& q) { return q.descriptor.dwFeatures == 0x000400BAu; }},
        {"dwMaxIFSD=254", QuirkField::dwMaxIFSD, [](const Quirks& q) { return q.descriptor.dwMaxIFSD == 254u; }},
        {"dwMaxCCIDMessageLength=65554", QuirkField::dwMaxCCIDMessageLength,
         [](const Quirks& q) { return q.descriptor.dwMaxCCIDMessageLength == 65554u; }},
        {"dwMaxDataRate=9600", QuirkField::dwMaxDataRate, [](const Quirks& q) { return q.descriptor.dwMaxDataRate == 9600u; }},
        {"dwProtocols=2", QuirkField::dwProtocols, [](const Quirks& q) { return q.descriptor.dwProtocols == 2u; }},
        {"bPINSupport=0", QuirkField::bPINSupport, [](const Quirks& q) { return q.descriptor.bPINSupport == std::uint8_t{0}; }},
        {"bVoltageSupport=1", QuirkField::bVoltageSupport,
         [](const Quirks& q) { return q.descriptor.bVoltageSupport == std::uint8_t{1}; }},
        {"bMaxCCIDBusySlots=2", QuirkField::bMaxCCIDBusySlots,
         [](const Quirks& q) { return q.descriptor.bMaxCCIDBusySlots == std::uint8_t{2}; }},
        {"level=extended", QuirkField::level, [](const Quirks& q) { return q.level == ExchangeLevelOverride::ExtendedApdu; }},
        {"max_data_rate=200000", QuirkField::max_data_rate, [](const Quirks& q) { return q.max_data_rate == 200000u; }},
        {"no_pps", QuirkField::no_pps, [](const Quirks& q) { return q.no_pps; }},
        {"skip_ifsd_exchange", QuirkField::skip_ifsd_exchange, [](const Quirks& q) { return q.skip_ifsd_exchange; }},
        {"power_off_before_on", QuirkField::power_off_before_on, [](const Quirks& q) { return q.power_off_before_on; }},
        {"poll_slot_status", QuirkField::poll_slot_status, [](const Quirks& q) { return q.poll_slot_status; }},
        {"ignore_interrupt_endpoint", QuirkField::ignore_interrupt_endpoint,
         [](const Quirks& q) { return q.ignore_interrupt_endpoint; }},
        {"abort_on_open", QuirkField::abort_on_open, [](const Quirks& q) { return q.abort_on_open; }},
        {"open_timeout_factor=10", QuirkField::open_timeout_factor, [](const Quirks& q) { return q.open_timeout_factor == 10u; }},
        {"extra_timeout=300s", QuirkField::extra_timeout, [](const Quirks& q) { return q.extra_timeout == milliseconds(300000); }},
        {"max_ifsd=48", QuirkField::max_ifsd, [](const Quirks& q) { return q.max_ifsd == std::uint8_t{48}; }},
        {"no_nad", QuirkField::no_nad, [](const Quirks& q) { return q.no_nad; }},
        {"min_firmware=5.16", QuirkField::min_firmware, [](const Quirks& q) { return q.min_firmware == std::uint16_t{0x0516}; }},
        {"vendor_class_ccid", QuirkField::vendor_class_ccid, [](const Quirks& q) { return q.vendor_class_ccid; }},
        {"no_bulk_in_read_ahead", QuirkField::no_bulk_in_read_ahead,
         [](const Quirks& q) { return q.no_bulk_in_read_ahead; }},
    };
}

TEST(QuirksFileKeys, EveryKeySetsExactlyItsField) {
    std::set<QuirkField> covered;
    for (const KeyCase& c : key_cases()) {
        SCOPED_TRACE(c.settings);
        covered.insert(c.field);
        UserQuirkRow r = one_row("08e6:3437 " + c.settings);
        EXPECT_EQ(r.fields, only(c.field));
        EXPECT_TRUE(c.holds(r.row.quirks));
        EXPECT_EQ(changed_fields(r.row.quirks), only(c.field));  // nothing else moved
        EXPECT_EQ(key_name(c.field), c.settings.substr(0, c.settings.find('=')));
    }
    EXPECT_EQ(covered.size(), kQuirkFieldCount) << "a key has no test case";
}

TEST(QuirksFileKeys, EveryKeyAcceptsDefault) {
    for (std::size_t i = 0; i < kQuirkFieldCount; ++i) {
        QuirkField f = quirk_field_at(i);
        UserQuirkRow r = one_row("1:2 " + std::string(key_name(f)) + "=default");
        EXPECT_EQ(r.fields, only(f)) << key_name(f);
        EXPECT_EQ(r.row.quirks, Quirks{}) << key_name(f);
    }
}

TEST(QuirksFileKeys, KeysMatchWithoutCase) {
    UserQuirkRow r = one_row("1:2 DWMAXIFSD=32 No_Pps LEVEL=TPDU");
    EXPECT_EQ(r.row.quirks.descriptor.dwMaxIFSD, 32u);
    EXPECT_TRUE(r.row.quirks.no_pps);
    EXPECT_EQ(r.row.quirks.level, ExchangeLevelOverride::Tpdu);
}

TEST(QuirksFileKeys, ExampleFromTheDocumentation) {
    UserQuirkRow r = one_row(
        "08e6:3437 bcd=0000-0200 no_pps max_ifsd=48 dwMaxIFSD=254 level=extended reason=\"chains like extended\"");
    EXPECT_EQ(r.row.vid, 0x08E6);
    EXPECT_EQ(r.row.pid, 0x3437);
    EXPECT_EQ(r.row.bcd_min, 0x0000);
    EXPECT_EQ(r.row.bcd_max, 0x0200);
    EXPECT_TRUE(r.row.quirks.no_pps);
    EXPECT_EQ(r.row.quirks.max_ifsd, std::uint8_t{48});
    EXPECT_EQ(r.row.quirks.descriptor.dwMaxIFSD, 254u);
    EXPECT_EQ(r.row.quirks.level, ExchangeLevelOverride::ExtendedApdu);
    EXPECT_EQ(r.row.reason, "chains like extended");
    EXPECT_EQ(r.fields.count(), 4u);
    EXPECT_EQ(r.line, 1u);
}

// ---------------------------------------------------------------------------------------
// Value forms

TEST(QuirksFileValues, FlagForms) {
    for (const char* yes : {"", "=1", "=yes", "=true", "=on", "=YES", "=True"})
        EXPECT_TRUE(one_row(std::string("1:2 no_nad") + yes).row.quirks.no_nad) << yes;
    for (const char* no : {"=0", "=no", "=false", "=off", "=OFF"}) {
        UserQuirkRow r = one_row(std::string("1:2 no_nad") + no);
        EXPECT_FALSE(r.row.quirks.no_nad) << no;
        EXPECT_TRUE(r.fields.test(index_of(QuirkField::no_nad))) << "an explicit 'no' still overrides";
    }
}

TEST(QuirksFileValues, NumberForms) {
    EXPECT_EQ(one_row("1:2 max_data_rate=0x2580").row.quirks.max_data_rate, 9600u);
    EXPECT_EQ(one_row("1:2 max_data_rate=0X2580").row.quirks.max_data_rate, 9600u);
    EXPECT_EQ(one_row("1:2 max_ifsd=254").row.quirks.max_ifsd, std::uint8_t{254});
    EXPECT_EQ(one_row("1:2 max_ifsd=1").row.quirks.max_ifsd, std::uint8_t{1});
    EXPECT_EQ(one_row("1:2 dwFeatures=0xFFFFFFFF").row.quirks.descriptor.dwFeatures, 0xFFFFFFFFu);
    EXPECT_EQ(one_row("1:2 dwFeatures=0").row.quirks.descriptor.dwFeatures, 0u);
    EXPECT_EQ(one_row("1:2 open_timeout_factor=100").row.quirks.open_timeout_factor, 100u);
}

TEST(QuirksFileValues, DurationForms) {
    EXPECT_EQ(one_row("1:2 extra_timeout=250").row.quirks.extra_timeout, milliseconds(250));
    EXPECT_EQ(one_row("1:2 extra_timeout=250ms").row.quirks.extra_timeout, milliseconds(250));
    EXPECT_EQ(one_row("1:2 extra_timeout=2s").row.quirks.extra_timeout, milliseconds(2000));
    EXPECT_EQ(one_row("1:2 extra_timeout=600s").row.quirks.extra_timeout, milliseconds(600000));
    EXPECT_EQ(one_row("1:2 extra_timeout=0").row.quirks.extra_timeout, milliseconds(0));
}

TEST(QuirksFileValues, LevelForms) {
    EXPECT_EQ(one_row("1:2 level=none").row.quirks.level, ExchangeLevelOverride::None);
    EXPECT_EQ(one_row("1:2 level=tpdu").row.quirks.level, ExchangeLevelOverride::Tpdu);
    EXPECT_EQ(one_row("1:2 level=short").row.quirks.level, ExchangeLevelOverride::ShortApdu);
    EXPECT_EQ(one_row("1:2 level=short_apdu").row.quirks.level, ExchangeLevelOverride::ShortApdu);
    EXPECT_EQ(one_row("1:2 level=extended_apdu").row.quirks.level, ExchangeLevelOverride::ExtendedApdu);
}

TEST(QuirksFileValues, IdForms) {
    for (const char* id : {"08e6:3437", "08E6:3437", "0x08E6:0x3437", "8e6:3437", "0X8e6:3437"}) {
        UserQuirkRow r = one_row(std::string(id) + " no_pps");
        EXPECT_EQ(r.row.vid, 0x08E6) << id;
        EXPECT_EQ(r.row.pid, 0x3437) << id;
    }
    EXPECT_EQ(one_row("0:0 no_pps").row.vid, 0);
    EXPECT_EQ(one_row("ffff:ffff no_pps").row.pid, 0xFFFF);
}

TEST(QuirksFileValues, BcdForms) {
    auto range = [](const std::string& bcd) {
        UserQuirkRow r = one_row("1:2 no_pps bcd=" + bcd);
        return std::pair{r.row.bcd_min, r.row.bcd_max};
    };
    EXPECT_EQ(range("0200"), (std::pair<std::uint16_t, std::uint16_t>{0x0200, 0x0200}));
    EXPECT_EQ(range("2.00"), (std::pair<std::uint16_t, std::uint16_t>{0x0200, 0x0200}));
    EXPECT_EQ(range("0x0516"), (std::pair<std::uint16_t, std::uint16_t>{0x0516, 0x0516}));
    EXPECT_EQ(range("0000-0200"), (std::pair<std::uint16_t, std::uint16_t>{0x0000, 0x0200}));
    EXPECT_EQ(range("1.00-2E.3D"), (std::pair<std::uint16_t, std::uint16_t>{0x0100, 0x2E3D}));
    EXPECT_EQ(range("0-FFFF"), (std::pair<std::uint16_t, std::uint16_t>{0x0000, 0xFFFF}));
    UserQuirkRow no_bcd = one_row("1:2 no_pps");
    EXPECT_EQ(no_bcd.row.bcd_min, 0x0000);
    EXPECT_EQ(no_bcd.row.bcd_max, 0xFFFF);
    EXPECT_EQ(one_row("1:2 min_firmware=0516").row.quirks.min_firmware, std::uint16_t{0x0516});
}

TEST(QuirksFileValues, NamesAndReasons) {
    UserQuirkRow r = one_row(R"(1:2 no_pps name="My \"pad\" \\ v2" reason=unquoted)");
    EXPECT_EQ(r.row.name, "My \"pad\" \\ v2");
    EXPECT_EQ(r.row.reason, "unquoted");
    UserQuirkRow hash = one_row("1:2 no_pps reason=\"see #12, with = and spaces\"");
    EXPECT_EQ(hash.row.reason, "see #12, with = and spaces");
    UserQuirkRow utf8 = one_row("1:2 no_pps name=\"Lecteur \xC3\xA9tudiant\"");
    EXPECT_EQ(utf8.row.name, "Lecteur \xC3\xA9tudiant");
    // Defaults name the ID and the place in the file.
    auto rows = parse_quirks_text("\n\n0b97:7762 no_pps\n", "/etc/q.txt");
    ASSERT_TRUE(rows.has_value());
    EXPECT_EQ(rows->front().row.name, "0b97:7762 (user row)");
    EXPECT_EQ(rows->front().row.reason, "set by /etc/q.txt line 3");
    EXPECT_EQ(rows->front().line, 3u);
}

TEST(QuirksFileValues, CommentsBlankLinesWhitespaceAndLineEndings) {
    auto rows = parse_quirks_text(
        "# header comment\r\n"
        "\r\n"
        "   \t  \n"
        "\t1:2\tno_pps   # trailing comment with \"quote\n"
        "1:3 max_ifsd=48#glued comment\r\n"
        "   # indented comment\n"
        "1:4 no_nad");  // no final newline
    ASSERT_TRUE(rows.has_value()) << describe(rows.error());
    ASSERT_EQ(rows->size(), 3u);
    EXPECT_EQ((*rows)[0].line, 4u);
    EXPECT_TRUE((*rows)[0].row.quirks.no_pps);
    EXPECT_EQ((*rows)[1].line, 5u);
    EXPECT_EQ((*rows)[1].row.quirks.max_ifsd, std::uint8_t{48});
    EXPECT_EQ((*rows)[2].line, 7u);
    EXPECT_TRUE(parse_quirks_text("").has_value());
    EXPECT_TRUE(parse_quirks_text("# only comments\n\n").value().empty());
}

// ---------------------------------------------------------------------------------------
// Errors

struct ErrorCase {
    std::string text;
    QuirksFileErrorCode code;
    std::size_t line;
};

TEST(QuirksFileErrors, EachMalformedInputGivesItsCodeAndLine) {
    using E = QuirksFileErrorCode;
    const std::vector<ErrorCase> cases = {
        {"08e6 no_pps", E::BadId, 1},
        {"08e6: no_pps", E::BadId, 1},
        {":3437 no_pps", E::BadId, 1},
        {"08e6:34370 no_pps", E::BadId, 1},
        {"08g6:3437 no_pps", E::BadId, 1},
        {"08e6:3437=1 no_pps", E::BadId, 1},
        {"no_pps 08e6:3437", E::BadId, 1},
        {"0x:3437 no_pps", E::BadId, 1},
        {"1:2 no_pps bcd=0300-0200", E::BadBcd, 1},
        {"1:2 no_pps bcd=12345", E::BadBcd, 1},
        {"1:2 no_pps bcd=2.0", E::BadBcd, 1},
        {"1:2 no_pps bcd=.00", E::BadBcd, 1},
        {"1:2 no_pps bcd=0x2.00", E::BadBcd, 1},
        {"1:2 no_pps bcd=0200-", E::BadBcd, 1},
        {"1:2 no_pps bcd=-0200", E::BadBcd, 1},
        {"1:2 no_pps bcd=zz", E::BadBcd, 1},
        {"1:2 min_firmware=5.1x", E::BadBcd, 1},
        {"1:2 nopps", E::UnknownKey, 1},
        {"1:2 no_pps=1 frobnicate=2", E::UnknownKey, 1},
        {"1:2 no_pps no_pps", E::DuplicateKey, 1},
        {"1:2 max_ifsd=48 MAX_IFSD=32", E::DuplicateKey, 1},
        {"1:2 no_pps bcd=1 bcd=2", E::DuplicateKey, 1},
        {"1:2 no_pps name=a name=b", E::DuplicateKey, 1},
        {"1:2 no_pps reason=a reason=b", E::DuplicateKey, 1},
        {"1:2 max_ifsd", E::MissingValue, 1},
        {"1:2 level", E::MissingValue, 1},
        {"1:2 extra_timeout", E::MissingValue, 1},
        {"1:2 min_firmware", E::MissingValue, 1},
        {"1:2 no_pps bcd", E::MissingValue, 1},
        {"1:2 no_pps name", E::MissingValue, 1},
        {"1:2 no_pps reason", E::MissingValue, 1},
        {"1:2 max_ifsd=", E::MissingValue, 1},
        {"1:2 max_ifsd=abc", E::BadValue, 1},
        {"1:2 max_ifsd=-1", E::BadValue, 1},
        {"1:2 max_ifsd=+4", E::BadValue, 1},
        {"1:2 max_ifsd=4.5", E::BadValue, 1},
        {"1:2 max_ifsd=0x", E::BadValue, 1},
        {"1:2 no_pps=maybe", E::BadValue, 1},
        {"1:2 level=apdu", E::BadValue, 1},
        {"1:2 extra_timeout=5min", E::BadValue, 1},
        {"1:2 extra_timeout=0x10", E::BadValue, 1},
        {"1:2 extra_timeout=ms", E::BadValue, 1},
        {"1:2 max_ifsd=255", E::OutOfRange, 1},
        {"1:2 max_ifsd=0", E::OutOfRange, 1},
        {"1:2 dwMaxIFSD=255", E::OutOfRange, 1},
        {"1:2 bPINSupport=4", E::OutOfRange, 1},
        {"1:2 bVoltageSupport=0", E::OutOfRange, 1},
        {"1:2 dwProtocols=4", E::OutOfRange, 1},
        {"1:2 dwMaxCCIDMessageLength=10", E::OutOfRange, 1},
        {"1:2 open_timeout_factor=0", E::OutOfRange, 1},
        {"1:2 open_timeout_factor=101", E::OutOfRange, 1},
        {"1:2 extra_timeout=601s", E::OutOfRange, 1},
        {"1:2 extra_timeout=600001", E::OutOfRange, 1},
        {"1:2 max_data_rate=0", E::OutOfRange, 1},
        {"1:2 dwFeatures=0x100000000", E::OutOfRange, 1},
        {"1:2 max_data_rate=99999999999999999999999999", E::OutOfRange, 1},
        {"1:2 extra_timeout=99999999999999999999s", E::OutOfRange, 1},
        {"1:2 no_pps name=\"unterminated", E::Syntax, 1},
        {"1:2 no_pps name=\"ends with backslash\\", E::Syntax, 1},
        {"1:2 no_pps name=\"bad \\n escape\"", E::Syntax, 1},
        {"1:2 no_pps name=\"a\"b", E::Syntax, 1},
        {"1:2 no_pps na\"me=x", E::Syntax, 1},
        {"1:2 no_pps =x", E::Syntax, 1},
        {"1:2 no_pps name=a\"b", E::Syntax, 1},
        {"1:2 no_pps name=a=b", E::Syntax, 1},
        {"1:2 \"no_pps\"", E::Syntax, 1},
        {"1:2", E::NothingToChange, 1},
        {"1:2 bcd=0100 name=x reason=y", E::NothingToChange, 1},
        {"1:2 no_pps\x01", E::ControlCharacter, 1},
        {std::string("1:2 no_pps\0", 11), E::ControlCharacter, 1},
        {"1:2 no_pps name=\"a\x7f\"", E::ControlCharacter, 1},
        {"1:2 no_pps\rmore", E::ControlCharacter, 1},
        {"1:2 no_pps\n\n# ok\n1:3 max_ifsd=300\n", E::OutOfRange, 4},
        {"1:2 no_pps\n1:3 \x1b[31m\n", E::ControlCharacter, 2},
    };
    for (const ErrorCase& c : cases) {
        SCOPED_TRACE(c.text);
        QuirksFileError e = error_of(c.text);
        EXPECT_EQ(e.code, c.code) << describe(e);
        EXPECT_EQ(e.line, c.line) << describe(e);
        EXPECT_NE(describe(e).find("line " + std::to_string(c.line) + ":"), std::string::npos) << describe(e);
    }
}

TEST(QuirksFileErrors, TheWholeFileIsRejected) {
    auto rows = parse_quirks_text("1:2 no_pps\n1:3 no_nad\n1:4 bogus\n1:5 no_pps\n");
    ASSERT_FALSE(rows.has_value());
    EXPECT_EQ(rows.error().line, 3u);
    EXPECT_EQ(rows.error().code, QuirksFileErrorCode::UnknownKey);
    EXPECT_NE(rows.error().detail.find("bogus"), std::string::npos);
}

TEST(QuirksFileErrors, LineLengthLimit) {
    std::string ok = "1:2 no_pps name=\"" + std::string(kMaxQuirksLineBytes - 18, 'a') + "\"";
    ASSERT_EQ(ok.size(), kMaxQuirksLineBytes);
    EXPECT_TRUE(parse_quirks_text(ok + "\r\n").has_value());  // CR is not counted
    QuirksFileError e = error_of("# fine\n" + ok + "a\n");
    EXPECT_EQ(e.code, QuirksFileErrorCode::LineTooLong);
    EXPECT_EQ(e.line, 2u);
    EXPECT_EQ(error_of(std::string(5000, '#')).code, QuirksFileErrorCode::LineTooLong);
}

TEST(QuirksFileErrors, RowCountLimit) {
    std::string text;
    for (std::size_t i = 0; i < kMaxQuirksRows; ++i) text += "1:2 no_pps\n";
    auto rows = parse_quirks_text(text);
    ASSERT_TRUE(rows.has_value());
    EXPECT_EQ(rows->size(), kMaxQuirksRows);
    QuirksFileError e = error_of(text + "\n# comment lines are free\n1:2 no_pps\n");
    EXPECT_EQ(e.code, QuirksFileErrorCode::TooManyRows);
    EXPECT_EQ(e.line, kMaxQuirksRows + 3);
}

TEST(QuirksFileErrors, FileSizeLimit) {
    std::string big(kMaxQuirksFileBytes + 1, '\n');
    QuirksFileError e = error_of(big);
    EXPECT_EQ(e.code, QuirksFileErrorCode::FileTooLarge);
    EXPECT_EQ(e.line, 0u);
    EXPECT_TRUE(parse_quirks_text(std::string(kMaxQuirksFileBytes, '\n')).has_value());
}

std::filesystem::path temp_file(const std::string& name) {
    return std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".quirks");
}

TEST(QuirksFileRead, ReadsAFile) {
    auto path = temp_file("read");
    std::ofstream(path, std::ios::binary) << "0b97:7762 max_data_rate=4800\n";
    auto rows = read_quirks_file(path.string());
    ASSERT_TRUE(rows.has_value()) << describe(rows.error());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_NE(rows->front().row.reason.find(path.string()), std::string::npos);
    std::filesystem::remove(path);
}

TEST(QuirksFileRead, MissingUnreadableAndOversizedFiles) {
    auto missing = read_quirks_file("/nonexistent/dir/quirks.txt");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, QuirksFileErrorCode::CannotOpen);
    EXPECT_NE(describe(missing.error()).find("/nonexistent/dir/quirks.txt"), std::string::npos);

    auto dir = read_quirks_file(std::filesystem::temp_directory_path().string());
    ASSERT_FALSE(dir.has_value());
    EXPECT_EQ(dir.error().code, QuirksFileErrorCode::CannotOpen);

    auto path = temp_file("big");
    std::ofstream(path, std::ios::binary) << std::string(kMaxQuirksFileBytes + 10, '#');
    auto big = read_quirks_file(path.string());
    ASSERT_FALSE(big.has_value());
    EXPECT_EQ(big.error().code, QuirksFileErrorCode::FileTooLarge);
    std::filesystem::remove(path);
}

TEST(QuirksFileErrors, EveryCodeHasItsOwnMessage) {
    std::set<std::string> seen;
    for (int i = 0; i <= static_cast<int>(QuirksFileErrorCode::NothingToChange); ++i) {
        std::string m(to_string(static_cast<QuirksFileErrorCode>(i)));
        EXPECT_FALSE(m.empty());
        EXPECT_TRUE(seen.insert(m).second) << m;
    }
    EXPECT_EQ(describe(QuirksFileError{QuirksFileErrorCode::UnknownKey, 7, "'x'"}),
              "quirks file line 7: unknown key: 'x'");
    EXPECT_EQ(describe(QuirksFileError{QuirksFileErrorCode::FileTooLarge, 0, ""}), "quirks file: file too large");
}

// ---------------------------------------------------------------------------------------
// Round trips and formatting

TEST(QuirksFileFormat, BuiltinRowsRoundTrip) {
    for (const QuirkRow& row : builtin_quirks()) {
        std::string text = format_quirk_row(row, changed_fields(row.quirks));
        SCOPED_TRACE(text);
        UserQuirkRow back = one_row(text);
        EXPECT_EQ(back.row.vid, row.vid);
        EXPECT_EQ(back.row.pid, row.pid);
        EXPECT_EQ(back.row.bcd_min, row.bcd_min);
        EXPECT_EQ(back.row.bcd_max, row.bcd_max);
        EXPECT_EQ(back.row.name, row.name);
        EXPECT_EQ(back.row.reason, row.reason);
        EXPECT_EQ(back.row.quirks, row.quirks);
        EXPECT_EQ(back.fields, changed_fields(row.quirks));
    }
}

TEST(QuirksFileFormat, ExplicitDefaultsAndNoRoundTrip) {
    QuirkRow row;
    row.vid = 0x1234;
    row.pid = 0xABCD;
    row.name = "quote \" and backslash \\";
    QuirkFieldSet fields;
    for (QuirkField f : {QuirkField::no_pps, QuirkField::min_firmware, QuirkField::level, QuirkField::extra_timeout,
                         QuirkField::dwFeatures})
        fields.set(index_of(f));
    std::string text = format_quirk_row(row, fields);
    EXPECT_EQ(text,
              "1234:abcd dwFeatures=default level=none no_pps=no extra_timeout=0ms min_firmware=default "
              "name=\"quote \\\" and backslash \\\\\"");
    UserQuirkRow back = one_row(text);
    EXPECT_EQ(back.fields, fields);
    EXPECT_EQ(back.row.quirks, Quirks{});
    EXPECT_EQ(back.row.name, row.name);
}

TEST(QuirksFileFormat, Bcd) {
    EXPECT_EQ(format_bcd(0x0516), "5.16");
    EXPECT_EQ(format_bcd(0x0000), "0.00");
    EXPECT_EQ(format_bcd(0x2E3D), "2E.3D");
    EXPECT_EQ(format_bcd(0xFFFF), "FF.FF");
}

// ---------------------------------------------------------------------------------------
// Garbage: never crash, never accept something half-parsed, errors point at a real line.

void check_outcome(const std::string& text) {
    auto rows = parse_quirks_text(text);
    std::size_t lines = 1;
    for (char c : text) lines += (c == '\n');
    if (rows) {
        for (const UserQuirkRow& r : *rows) {
            ASSERT_TRUE(r.fields.any());
            ASSERT_GE(r.line, 1u);
            ASSERT_LE(r.line, lines);
            ASSERT_LE(r.row.bcd_min, r.row.bcd_max);
        }
    } else {
        ASSERT_LE(rows.error().line, lines);
        ASSERT_FALSE(describe(rows.error()).empty());
    }
}

TEST(QuirksFileFuzz, RandomBytes) {
    std::mt19937 rng(0xC01D);
    for (int iter = 0; iter < 3000; ++iter) {
        std::string text(rng() % 300, '\0');
        for (char& c : text) c = static_cast<char>(rng() & 0xFF);
        check_outcome(text);
    }
}

TEST(QuirksFileFuzz, TokenSoup) {
    // Pieces of the real grammar glued at random: reaches deep into the value parsers.
    const std::vector<std::string> pieces = {
        "08e6:3437", "1:2", "0x", ":", "=", "\"", "\\", " ", "\t", "\n", "#", "-", ".", "bcd", "name", "reason",
        "default", "yes", "no", "0", "1", "48", "254", "255", "0xFFFFFFFF", "99999999999999999999", "ms", "s",
        "5.16", "0000-0200", "short", "extended", "tpdu", "\r\n", "\x01", "\xC3\xA9"};
    std::vector<std::string> vocab = pieces;
    for (std::size_t i = 0; i < kQuirkFieldCount; ++i) vocab.emplace_back(key_name(quirk_field_at(i)));
    std::mt19937 rng(7);
    for (int iter = 0; iter < 4000; ++iter) {
        std::string text;
        int n = static_cast<int>(rng() % 40);
        for (int k = 0; k < n; ++k) text += vocab[rng() % vocab.size()];
        check_outcome(text);
    }
}

TEST(QuirksFileFuzz, MutatedValidRows) {
    std::string valid;
    for (const QuirkRow& row : builtin_quirks()) valid += format_quirk_row(row, changed_fields(row.quirks)) + "\n";
    ASSERT_TRUE(parse_quirks_text(valid).has_value());
    std::mt19937 rng(42);
    for (int iter = 0; iter < 300; ++iter) {
        std::string text = valid;
        int edits = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < edits && !text.empty(); ++k) {
            std::size_t at = rng() % text.size();
            switch (rng() % 3) {
                case 0: text[at] = static_cast<char>(rng() & 0xFF); break;
                case 1: text.erase(at, 1 + rng() % 8); break;
                default: text.insert(at, 1, static_cast<char>(rng() & 0xFF)); break;
            }
        }
        check_outcome(text);
    }
}

}  // namespace
}  // namespace ccidkit::ccid

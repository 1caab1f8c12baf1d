// The udev rules and the diagnostics unit: the generated rules are well-formed udev syntax
// (checked by a small parser here; `udevadm verify` only exists in systemd 254 and later),
// list exactly the quirks table's vendor-class readers, and the unit passes
// `systemd-analyze verify` where that tool exists.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "ccid/quirks.h"
#include "ccid/quirks_lookup.h"
#include "tools/ccidctl_runner.h"
#include "udev_rules.h"

using namespace ccidkit;
using namespace ccidkit::ccidctl;
using namespace ccidkit::testing_ccidctl;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
    std::ostringstream buffer;
    buffer << std::ifstream(path, std::ios::binary).rdbuf();
    return buffer.str();
}

struct Assignment {
    std::string key;   // "ENV", "ATTR", "GOTO", ...
    std::string attr;  // inside {}, may be empty
    std::string op;
    std::string value;
};

// The keys udev(7) documents, which of them take {attribute}, and which operators each allows.
struct KeyRule {
    bool needs_attr;
    bool match;   // ==, != allowed
    bool assign;  // =, +=, -=, := allowed
};

const std::map<std::string, KeyRule>& known_keys() {
    static const std::map<std::string, KeyRule> keys = {
        {"ACTION", {false, true, false}},    {"DEVPATH", {false, true, false}},    {"KERNEL", {false, true, false}},
        {"KERNELS", {false, true, false}},   {"NAME", {false, true, true}},        {"SYMLINK", {false, true, true}},
        {"SUBSYSTEM", {false, true, false}}, {"SUBSYSTEMS", {false, true, false}}, {"DRIVER", {false, true, false}},
        {"DRIVERS", {false, true, false}},   {"ATTR", {true, true, true}},         {"ATTRS", {true, true, false}},
        {"ENV", {true, true, true}},         {"TAG", {false, true, true}},         {"TAGS", {false, true, false}},
        {"TEST", {false, true, false}},      {"PROGRAM", {false, true, false}},    {"RESULT", {false, true, false}},
        {"OWNER", {false, false, true}},     {"GROUP", {false, false, true}},      {"MODE", {false, false, true}},
        {"RUN", {false, false, true}},       {"LABEL", {false, false, true}},      {"GOTO", {false, false, true}},
        {"IMPORT", {true, false, true}},     {"OPTIONS", {false, false, true}},
    };
    return keys;
}

// Parses one rule line into its key/operator/value items; an error message on failure.
std::expected<std::vector<Assignment>, std::string> parse_rule(const std::string& line) {
    static const std::regex item(
        R"re(^\s*([A-Z]+)(\{([A-Za-z0-9_./-]+)\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"\\]*)"\s*(,|$))re");
    std::vector<Assignment> out;
    std::string rest = line;
    while (!rest.empty() && rest.find_first_not_of(" \t") != std::string::npos) {
        std::smatch m;
        if (!std::regex_search(rest, m, item)) return std::unexpected("unparsable item: '" + rest + "'");
        Assignment a{m[1], m[3], m[4], m[5]};
        const auto k = known_keys().find(a.key);
        if (k == known_keys().end()) return std::unexpected("unknown key " + a.key);
        if (k->second.needs_attr != !a.attr.empty() && !(a.key == "TEST" || a.key == "RUN"))
            return std::unexpected("key " + a.key + ": {attribute} " + (a.attr.empty() ? "missing" : "not allowed"));
        const bool is_match = a.op == "==" || a.op == "!=";
        if (is_match && !k->second.match) return std::unexpected(a.key + " cannot be matched");
        if (!is_match && !k->second.assign) return std::unexpected(a.key + " cannot be assigned");
        out.push_back(a);
        rest = m.suffix();
    }
    if (out.empty()) return std::unexpected("empty rule");
    bool assigns = false;
    for (const auto& a : out) assigns = assigns || !(a.op == "==" || a.op == "!=");
    if (!assigns) return std::unexpected("a rule with matches only does nothing");
    return out;
}

struct ParsedRules {
    std::vector<std::vector<Assignment>> rules;
    std::vector<std::string> errors;
};

ParsedRules parse_rules(const std::string& text) {
    ParsedRules p;
    std::istringstream in(text);
    std::set<std::string> labels, gotos;
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
        if (line.empty() || line.front() == '#') continue;
        if (line.back() == '\\') {
            p.errors.push_back("line " + std::to_string(n) + ": continuation lines are not used");
            continue;
        }
        auto r = parse_rule(line);
        if (!r) {
            p.errors.push_back("line " + std::to_string(n) + ": " + r.error());
            continue;
        }
        for (const auto& a : *r) {
            if (a.key == "LABEL") labels.insert(a.value);
            if (a.key == "GOTO") gotos.insert(a.value);
        }
        p.rules.push_back(std::move(*r));
    }
    for (const auto& g : gotos)
        if (!labels.contains(g)) p.errors.push_back("GOTO without LABEL: " + g);
    return p;
}

std::vector<UsbId> ids_in_rules(const ParsedRules& p) {
    std::vector<UsbId> ids;
    for (const auto& rule : p.rules) {
        std::optional<unsigned> vid, pid;
        for (const auto& a : rule) {
            if (a.key == "ATTR" && a.attr == "idVendor") vid = static_cast<unsigned>(std::stoul(a.value, nullptr, 16));
            if (a.key == "ATTR" && a.attr == "idProduct") pid = static_cast<unsigned>(std::stoul(a.value, nullptr, 16));
        }
        if (vid && pid) ids.emplace_back(static_cast<std::uint16_t>(*vid), static_cast<std::uint16_t>(*pid));
    }
    return ids;
}

// Straight from the table: every VID:PID with a row that sets vendor_class_ccid.
std::vector<UsbId> table_vendor_class_ids() {
    std::set<UsbId> ids;
    for (const auto& row : ccid::builtin_quirks())
        if (row.quirks.vendor_class_ccid) ids.emplace(row.vid, row.pid);
    return {ids.begin(), ids.end()};
}

TEST(UdevRules, TheCheckerRejectsBrokenRules) {
    EXPECT_FALSE(parse_rule(R"(ATTR{idVendor}=="08e6")"));  // matches only
    EXPECT_FALSE(parse_rule(R"(FOO=="1", GROUP="x")"));     // unknown key
    EXPECT_FALSE(parse_rule(R"(ENV="1")"));                 // ENV needs {name}
    EXPECT_FALSE(parse_rule(R"(ACTION="add")"));            // ACTION is match-only
    EXPECT_FALSE(parse_rule(R"(GROUP=="plugdev")"));        // GROUP is assign-only
    EXPECT_FALSE(parse_rule(R"(MODE="0660" GROUP="x")"));   // missing comma
    EXPECT_FALSE(parse_rule(R"(MODE="0660)"));              // unterminated value
    EXPECT_TRUE(parse_rule(R"(ACTION=="add", TAG+="uaccess", MODE="0660")"));
    EXPECT_FALSE(parse_rules("GOTO=\"nowhere\"\n").errors.empty());
}

TEST(UdevRules, GeneratedFileIsWellFormedAndCoversCcidAndVendorClassReaders) {
    const std::string text = read_file(CCIDKIT_UDEV_RULES);
    ASSERT_FALSE(text.empty()) << "the build generates " << CCIDKIT_UDEV_RULES;
    const ParsedRules p = parse_rules(text);
    EXPECT_TRUE(p.errors.empty()) << ::testing::PrintToString(p.errors);
    EXPECT_EQ(text.find("@CCIDKIT_"), std::string::npos) << "a placeholder was left";

    // The generated vendor-class list is the quirks table's.
    const auto ids = ids_in_rules(p);
    EXPECT_EQ(ids, table_vendor_class_ids());
    EXPECT_EQ(ids, vendor_class_reader_ids(false));

    // Access: uaccess for desktops, group and mode for headless machines; diagnostics through
    // systemd, never RUN.
    bool uaccess = false, group = false, wants = false, class_match = false;
    for (const auto& rule : p.rules) {
        for (const auto& a : rule) {
            uaccess = uaccess || (a.key == "TAG" && a.op == "+=" && a.value == "uaccess");
            group = group || (a.key == "GROUP" && !a.value.empty());
            wants = wants || (a.key == "ENV" && a.attr == "SYSTEMD_WANTS" && a.value == "ccidkit-diag@%k.service");
            class_match = class_match || (a.key == "ENV" && a.attr == "ID_USB_INTERFACES" && a.value == "*:0b????:*");
            EXPECT_NE(a.key, "RUN") << "long jobs do not belong in RUN";
        }
    }
    EXPECT_TRUE(uaccess);
    EXPECT_TRUE(group);
    EXPECT_TRUE(wants);
    EXPECT_TRUE(class_match);
    // uaccess only works before 73-seat-late.rules.
    EXPECT_LT(std::stoi(fs::path(CCIDKIT_UDEV_RULES).filename().string().substr(0, 2)), 73);
}

TEST(UdevRules, RenderingTheTemplate) {
    const std::string templ = read_file(CCIDKIT_UDEV_TEMPLATE);
    const std::vector<UsbId> ids{{0x1234, 0x5678}, {0x0abc, 0x0001}};
    auto out = render_udev_rules(templ, ids, "ccidkit");
    ASSERT_TRUE(out) << out.error();
    const ParsedRules p = parse_rules(*out);
    EXPECT_TRUE(p.errors.empty()) << ::testing::PrintToString(p.errors);
    EXPECT_EQ(ids_in_rules(p), ids);
    EXPECT_NE(out->find("GROUP=\"ccidkit\""), std::string::npos);

    EXPECT_FALSE(render_udev_rules("no placeholder\n", ids, "plugdev"));
    EXPECT_FALSE(render_udev_rules(templ, ids, "bad group\""));
    EXPECT_FALSE(render_udev_rules(templ, ids, ""));
}

TEST(UdevRules, CommandOutputsAndUserRows) {
    unsetenv(ccid::kQuirksFileEnvVar);
    ccid::reset_user_quirks();
    auto plain = ctl({"udev-rules"});
    ASSERT_EQ(plain.code, 0) << plain.err;
    EXPECT_EQ(ids_in_rules(parse_rules(plain.out)), table_vendor_class_ids());

    auto json = ctl({"--json", "udev-rules"});
    ASSERT_EQ(json.code, 0);
    auto v = json_of(json);
    ASSERT_EQ(v["vendor_class_readers"].size(), table_vendor_class_ids().size());

    // A user's vendor-class row joins the list only when asked for.
    const auto path = fs::temp_directory_path() / ("ccidctl_udev_" + std::to_string(::getpid()) + ".quirks");
    std::ofstream(path) << "fedc:ba98 vendor_class_ccid reason=\"test\"\n";
    auto without = ctl({"--quirks-file", path.string(), "udev-rules"});
    auto with = ctl({"--quirks-file", path.string(), "udev-rules", "--include-user-quirks"});
    ccid::reset_user_quirks();
    fs::remove(path);
    const auto ids_without = ids_in_rules(parse_rules(without.out));
    const auto ids_with = ids_in_rules(parse_rules(with.out));
    EXPECT_EQ(ids_without, table_vendor_class_ids());
    EXPECT_EQ(ids_with.size(), ids_without.size() + 1);
    EXPECT_NE(std::find(ids_with.begin(), ids_with.end(), UsbId{0xfedc, 0xba98}), ids_with.end());

    const auto out_file = fs::temp_directory_path() / ("ccidctl_udev_" + std::to_string(::getpid()) + ".rules");
    auto written =
        ctl({"udev-rules", "--template", CCIDKIT_UDEV_TEMPLATE, "--group", "plugdev", "-o", out_file.string()});
    EXPECT_EQ(written.code, 0) << written.err;
    EXPECT_EQ(read_file(out_file.string()), read_file(CCIDKIT_UDEV_RULES));
    fs::remove(out_file);
    EXPECT_EQ(ctl({"udev-rules", "--template", "/nonexistent"}).code, 5);
    EXPECT_EQ(ctl({"udev-rules", "--group", "x"}).code, 1);
}

std::string run_shell(const std::string& command) {
    std::string output;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return "popen failed";
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
    pclose(pipe);
    return output;
}

TEST(DiagUnit, SystemdAcceptsTheUnit) {
    if (std::system("systemd-analyze --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no systemd-analyze";
    std::string unit = read_file(CCIDKIT_DIAG_UNIT_TEMPLATE);
    ASSERT_FALSE(unit.empty());
    for (auto [from, to] : {std::pair<std::string, std::string>{"@CCIDCTL_PATH@", CCIDCTL_PATH},
                            std::pair<std::string, std::string>{"@CCIDKIT_DOC_DIR@", "/usr/share/doc/ccidkit"}}) {
        for (auto at = unit.find(from); at != std::string::npos; at = unit.find(from))
            unit.replace(at, from.size(), to);
    }
    EXPECT_EQ(unit.find('@' + std::string("CCID")), std::string::npos);
    const auto dir = fs::temp_directory_path() / ("ccidctl_unit_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    // An instance of the template, named as udev would start it for the device 1-1.4.
    const auto path = dir / "ccidkit-diag@1-1.4.service";
    std::ofstream(path) << unit;
    const std::string out = run_shell("systemd-analyze verify '" + path.string() + "'");
    fs::remove_all(dir);
    EXPECT_EQ(out, "") << "systemd-analyze verify complained";
    EXPECT_NE(unit.find("diag --no-card"), std::string::npos) << "plug-in diagnostics never touch the card";
}

}  // namespace

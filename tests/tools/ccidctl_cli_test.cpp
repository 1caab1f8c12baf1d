// ccidctl's framework: the JSON emitter, the option parser, `--help` on every command, exit
// codes for usage errors, JSON error documents, and the real executable's streams.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <limits>

#include "args.h"
#include "ccid/quirks_lookup.h"
#include "command.h"
#include "json.h"
#include "tools/ccidctl_runner.h"

using namespace ccidkit;
using namespace ccidkit::ccidctl;
using namespace ccidkit::testing_ccidctl;
namespace tj = ccidkit::testing_json;

namespace {

// ---- JSON emitter ----

TEST(JsonWriter, WritesNestedDocumentsThatParseBack) {
    std::ostringstream out;
    {
        JsonWriter j(out);
        j.begin_object();
        j.field("text", "a\"b\\c\n\t\x01").field("yes", true).field("n", -42).field("big", std::uint64_t{1} << 40);
        j.key("empty").begin_array().end_array();
        j.key("list").begin_array().value(1).null().value("x").begin_object().end_object().end_array();
        j.hex_field("bytes", Bytes{0x3B, 0x00, 0xFF});
        j.field("half", 0.5);
        j.end_object();
        EXPECT_TRUE(j.complete());
    }
    auto v = tj::parse(out.str());
    ASSERT_TRUE(v) << out.str();
    EXPECT_EQ((*v)["text"].string, "a\"b\\c\n\t\x01");
    EXPECT_TRUE((*v)["yes"].boolean);
    EXPECT_EQ((*v)["n"].integer(), -42);
    EXPECT_EQ((*v)["big"].integer(), std::int64_t{1} << 40);
    EXPECT_EQ((*v)["empty"].type, tj::Value::Type::Array);
    EXPECT_EQ((*v)["empty"].size(), 0u);
    ASSERT_EQ((*v)["list"].size(), 4u);
    EXPECT_TRUE((*v)["list"][1].is_null());
    EXPECT_EQ((*v)["list"][3].type, tj::Value::Type::Object);
    EXPECT_EQ((*v)["bytes"].string, "3B00FF");
    EXPECT_DOUBLE_EQ((*v)["half"].number, 0.5);
    EXPECT_EQ(out.str().back(), '\n');
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacters) {
    // Device strings are untrusted: a lone continuation byte, an overlong form, a surrogate.
    const std::string bad = std::string("ok\x80") + "\xC0\xAF" + "\xED\xA0\x80" + "\xE2\x82\xAC";
    const std::string quoted = json_quote(bad);
    auto v = tj::parse(quoted);
    ASSERT_TRUE(v) << quoted;
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(v->string, "ok" + fffd + fffd + fffd + fffd + fffd + fffd + "\xE2\x82\xAC");
}

TEST(JsonWriter, CompactModeIsOneLine) {
    std::ostringstream out;
    {
        JsonWriter j(out, true);
        j.begin_object().field("a", 1).key("b").begin_array().value(2).value(3).end_array().end_object();
    }
    EXPECT_EQ(out.str(), "{\"a\":1,\"b\":[2,3]}\n");
}

TEST(JsonWriter, NonFiniteNumbersBecomeNull) {
    std::ostringstream out;
    {
        JsonWriter j(out);
        j.begin_array().value(std::numeric_limits<double>::infinity()).end_array();
    }
    auto v = tj::parse(out.str());
    ASSERT_TRUE(v);
    EXPECT_TRUE((*v)[0].is_null());
}

// ---- Option parser ----

constexpr std::array kSpecs = {
    OptionSpec{"flag", 'f', "", "a flag"},
    OptionSpec{"value", 'v', "V", "a value"},
};

ParsedArgs parse_ok(std::vector<std::string> args, bool stop = false) {
    const std::array<std::span<const OptionSpec>, 1> specs{kSpecs};
    auto r = parse_args(args, specs, stop);
    EXPECT_TRUE(r) << (r ? "" : r.error());
    return r.value_or(ParsedArgs{});
}

TEST(Args, LongShortInlineAndPositional) {
    auto a = parse_ok({"x", "--flag", "--value", "1", "-v", "2", "--value=3", "y", "--", "--flag"});
    EXPECT_TRUE(a.has("flag"));
    EXPECT_EQ(a.value("value"), "3");  // the last one wins
    EXPECT_EQ(a.options.at("value").size(), 3u);
    EXPECT_EQ(a.positional, (std::vector<std::string>{"x", "y", "--flag"}));
}

TEST(Args, StopAtPositionalKeepsTheRestUntouched) {
    auto a = parse_ok({"-f", "atr", "--bogus", "3B"}, true);
    EXPECT_TRUE(a.has("flag"));
    EXPECT_EQ(a.rest, (std::vector<std::string>{"atr", "--bogus", "3B"}));
}

TEST(Args, Errors) {
    const std::array<std::span<const OptionSpec>, 1> specs{kSpecs};
    std::vector<std::string> unknown{"--nope"}, missing{"--value"}, flag_value{"--flag=1"};
    EXPECT_FALSE(parse_args(unknown, specs));
    EXPECT_FALSE(parse_args(missing, specs));
    EXPECT_FALSE(parse_args(flag_value, specs));
    std::vector<std::string> dash{"-"};  // a lone dash is an argument (stdin)
    auto ok = parse_args(dash, specs);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->positional, dash);
}

// ---- Dispatcher ----

TEST(Ccidctl, HelpWithoutCommandListsEveryCommandAndTheExitCodes) {
    auto r = ctl({"--help"});
    EXPECT_EQ(r.code, 0);
    for (const auto& c : all_commands()) EXPECT_NE(r.out.find(std::string(c.name)), std::string::npos) << c.name;
    EXPECT_NE(r.out.find("Exit status"), std::string::npos);
}

TEST(Ccidctl, EveryCommandHasHelp) {
    for (const auto& c : all_commands()) {
        for (const auto& form : {std::vector<std::string>{std::string(c.name), "--help"},
                                 std::vector<std::string>{"-h", std::string(c.name)}}) {
            auto r = ctl(form);
            EXPECT_EQ(r.code, 0) << c.name;
            EXPECT_NE(r.out.find("Usage: ccidctl " + std::string(c.name)), std::string::npos) << r.out;
            EXPECT_NE(r.out.find("--json"), std::string::npos) << "global options listed";
            for (const auto& o : c.options)
                EXPECT_NE(r.out.find("--" + std::string(o.name)), std::string::npos) << c.name << " " << o.name;
        }
    }
}

TEST(Ccidctl, UsageErrorsExitWithOne) {
    EXPECT_EQ(ctl({}).code, 1);
    EXPECT_EQ(ctl({"frobnicate"}).code, 1);
    EXPECT_EQ(ctl({"atr", "--bogus"}).code, 1);
    EXPECT_EQ(ctl({"--slot", "99", "atr", "3B00"}).code, 1);
    EXPECT_EQ(ctl({"--slot", "x", "atr", "3B00"}).code, 1);
    EXPECT_EQ(ctl({"atr", "not-hex"}).code, 1);
    EXPECT_EQ(ctl({"--virtual", "bogus", "list"}).code, 1);
    EXPECT_EQ(ctl({"--virtual", "short:t9", "list"}).code, 1);
    EXPECT_EQ(ctl({"trace", "atr", "3B00"}).code, 1);  // no --output
    auto r = ctl({"frobnicate"});
    EXPECT_NE(r.err.find("unknown command"), std::string::npos);
    EXPECT_TRUE(r.out.empty());
}

TEST(Ccidctl, JsonErrorsAreOneDocumentWithTheExitCode) {
    auto r = ctl({"--json", "atr", "zz"});
    EXPECT_EQ(r.code, 1);
    auto v = json_of(r);
    EXPECT_EQ(v["error"]["exit_code"].integer(), 1);
    EXPECT_EQ(v["error"]["kind"].string, "usage");
    EXPECT_FALSE(v["error"]["message"].string.empty());

    auto none = ctl({"--json", "--virtual", "short", "--reader", "7", "atr"});
    EXPECT_EQ(none.code, 2);
    EXPECT_EQ(json_of(none)["error"]["kind"].string, "no-reader");
}

TEST(Ccidctl, GlobalOptionsWorkBeforeAndAfterTheCommand) {
    auto before = ctl({"--json", "atr", "3B00"});
    auto after = ctl({"atr", "3B00", "--json"});
    EXPECT_EQ(before.code, 0);
    EXPECT_EQ(before.out, after.out);
    json_of(before);
}

TEST(Ccidctl, UnreadableQuirksFileIsAnIoError) {
    auto r = ctl({"--quirks-file", "/nonexistent/ccidkit-quirks", "atr", "3B00"});
    EXPECT_EQ(r.code, 5);
    ccid::reset_user_quirks();
}

// ---- The executable ----

struct Process {
    int code = -1;
    std::string out;
};

Process run_binary(const std::string& args) {
    Process p;
    const std::string command = std::string(CCIDCTL_PATH) + " " + args + " 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return p;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) p.out.append(buf.data(), n);
    const int status = pclose(pipe);
    p.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return p;
}

TEST(CcidctlBinary, ExitCodesAndCleanStdout) {
    EXPECT_EQ(run_binary("--help").code, 0);
    EXPECT_EQ(run_binary("nope").code, 1);
    EXPECT_EQ(run_binary("--virtual short --reader 3 atr").code, 2);
    EXPECT_EQ(run_binary("--virtual short:none atr").code, 3);
    EXPECT_EQ(run_binary("atr 3B 8F").code, 4);  // truncated ATR
    EXPECT_EQ(run_binary("info --descriptor-file /nonexistent").code, 5);
    // stdout carries only the JSON document; progress and warnings go to stderr.
    auto p = run_binary("--json --virtual short diag --iterations 2");
    EXPECT_EQ(p.code, 0);
    auto v = tj::parse(p.out);
    ASSERT_TRUE(v) << p.out;
    EXPECT_EQ((*v)["verdict"].string, "pass");
}

}  // namespace

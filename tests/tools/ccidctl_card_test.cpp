// The commands that use readers and cards — list, apdu, script, monitor, diag — against
// virtual readers (the reader simulator behind the host CCID driver).
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ccid/descriptor.h"
#include "diag_report.h"
#include "sim/card/apdu_app.h"
#include "sim/card/sim_card.h"
#include "tools/ccidctl_runner.h"

using namespace ccidkit;
using namespace ccidkit::testing_ccidctl;
namespace fs = std::filesystem;
namespace tj = ccidkit::testing_json;

namespace {

class TempFile {
public:
    explicit TempFile(const std::string& content, std::string suffix = ".txt") {
        path_ = fs::temp_directory_path() /
                ("ccidctl_card_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) + suffix);
        std::ofstream(path_, std::ios::binary) << content;
    }
    ~TempFile() { fs::remove(path_); }
    std::string path() const { return path_.string(); }

private:
    static inline int counter_ = 0;
    fs::path path_;
};

// What the simulated card's default application answers (APDU level, no T=0 procedure).
Bytes demo_answer(const Bytes& command) {
    sim::DemoCardApp app;
    return app.process(command);
}

const Bytes kSelectMf{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00};
const Bytes kSelectMissing{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x42};

// ---- list ----

TEST(CcidctlList, VirtualReadersWithTheirSlots) {
    auto r = ctl({"--json", "--virtual", "short:t1,tpdu:t0,extended:none", "list"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    const auto& readers = v["readers"];
    ASSERT_EQ(readers.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(readers[i]["index"].integer(), static_cast<std::int64_t>(i));
        EXPECT_EQ(readers[i]["location"].string, "virtual:" + std::to_string(i));
        EXPECT_TRUE(readers[i]["error"].is_null());
        ASSERT_EQ(readers[i]["slots"].size(), 1u);
    }
    EXPECT_EQ(readers[0]["slots"][0]["card"].string, "present");
    EXPECT_EQ(readers[2]["slots"][0]["card"].string, "absent");
    // Names follow pcsc-lite: "... RR SS", RR the reader index.
    EXPECT_TRUE(readers[1]["name"].string.ends_with(" 01 00")) << readers[1]["name"].string;

    auto text = ctl({"--virtual", "short:t1", "list"});
    EXPECT_NE(text.out.find("slot 0: card present"), std::string::npos) << text.out;
    auto quick = json_of(ctl({"--json", "--virtual", "short", "list", "--no-status"}));
    EXPECT_EQ(quick["readers"][0]["slots"].size(), 0u);
}

TEST(CcidctlList, UsbWithoutReadersSaysSo) {
    // Machines running the tests have no reader (or no USB at all): no reader, or no libusb.
    auto r = ctl({"--json", "list", "--no-status"});
    if (r.code == 0) GTEST_SKIP() << "a USB reader is plugged in";
    EXPECT_TRUE(r.code == 2 || r.code == 5) << r.code << " " << r.err;
    json_of(r);
}

// ---- apdu ----

TEST(CcidctlApdu, ResponsesComeFromTheCard) {
    auto r = ctl({"--json", "--virtual", "short:t1", "apdu", to_hex(kSelectMf, '\0'), to_hex(kSelectMissing, '\0')});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    EXPECT_EQ(v["protocol"].integer(), 1);
    EXPECT_EQ(v["atr"].string, to_hex(sim::SimCard::t1_default().atr(), '\0'));
    ASSERT_EQ(v["exchanges"].size(), 2u);
    const Bytes first = demo_answer(kSelectMf);
    EXPECT_EQ(v["exchanges"][0]["command"].string, to_hex(kSelectMf, '\0'));
    EXPECT_EQ(v["exchanges"][0]["response"].string, to_hex(first, '\0'));
    EXPECT_EQ(v["exchanges"][0]["sw"].string, to_hex(ByteView(first).last(2), '\0'));
    EXPECT_EQ(v["exchanges"][1]["response"].string, to_hex(demo_answer(kSelectMissing), '\0'));
    EXPECT_GE(v["exchanges"][0]["elapsed_us"].integer(), 0);
}

TEST(CcidctlApdu, TextIsScriptorStyle) {
    auto r = ctl({"--virtual", "tpdu:t1", "apdu", to_hex(kSelectMf, ':')});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("> " + to_hex(kSelectMf)), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("< " + to_hex(demo_answer(kSelectMf)) + " : "), std::string::npos) << r.out;
}

TEST(CcidctlApdu, ExitCodes) {
    EXPECT_EQ(ctl({"--virtual", "short:none", "apdu", "00A4000000"}).code, 3);
    EXPECT_EQ(ctl({"--virtual", "short", "apdu", "00A4"}).code, 1);
    EXPECT_EQ(ctl({"--virtual", "short", "apdu"}).code, 1);
    EXPECT_EQ(ctl({"--virtual", "short", "apdu", to_hex(kSelectMissing, '\0')}).code, 0);
    EXPECT_EQ(ctl({"--virtual", "short", "apdu", "--check", to_hex(kSelectMissing, '\0')}).code, 4);
    // 1031 bytes do not fit a short-APDU reader: refused before anything is sent.
    Bytes extended{0x00, 0xA4, 0x04, 0x00, 0x00, 0x04, 0x00};
    extended.resize(7 + 1024, 0x11);
    EXPECT_EQ(ctl({"--virtual", "short", "apdu", to_hex(extended, '\0')}).code, 1);
}

// ---- script ----

TEST(CcidctlScript, RunsStepsChecksExpectationsAndStopsAtTheFirstMismatch) {
    const Bytes ok = demo_answer(kSelectMf);
    const std::string sw = to_hex(ByteView(ok).last(2));
    TempFile script("# a comment line\n\n" + to_hex(kSelectMf) + " => " + sw + "   # trailing comment\nreset\n" +
                    to_hex(kSelectMissing) + " => 90 00\n" + to_hex(kSelectMf) + "\n");
    auto r = ctl({"--json", "--virtual", "short:t1", "script", script.path()});
    EXPECT_EQ(r.code, 4) << r.err;
    auto v = json_of(r);
    const auto& steps = v["steps"];
    ASSERT_EQ(steps.size(), 3u);  // the last APDU is not sent
    EXPECT_EQ(steps[0]["line"].integer(), 3);
    EXPECT_TRUE(steps[0]["as_expected"].boolean);
    EXPECT_TRUE(steps[1]["reset"].boolean);
    EXPECT_EQ(steps[1]["atr"].string, to_hex(sim::SimCard::t1_default().atr(), '\0'));
    EXPECT_FALSE(steps[2]["as_expected"].boolean);
    EXPECT_EQ(v["exit_code"].integer(), 4);

    auto keep = ctl({"--json", "--virtual", "short:t1", "script", "--keep-going", script.path()});
    EXPECT_EQ(keep.code, 4);
    EXPECT_EQ(json_of(keep)["steps"].size(), 4u);
}

TEST(CcidctlScript, ExitStopsTheScriptAndWholeResponsesCanBeExpected) {
    const Bytes ok = demo_answer(kSelectMf);
    TempFile script(to_hex(kSelectMf) + " => " + to_hex(ok) + "\nEXIT\n" + to_hex(kSelectMissing) + " => 90 00\n");
    auto r = ctl({"--virtual", "extended:t1", "script", script.path()});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find(to_hex(kSelectMissing)), std::string::npos);
}

TEST(CcidctlScript, BadScripts) {
    TempFile bad("00 A4 00\n");
    auto r = ctl({"--virtual", "short", "script", bad.path()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("line 1"), std::string::npos);
    TempFile bad_expect("00 A4 00 00 => 90\n");
    EXPECT_EQ(ctl({"--virtual", "short", "script", bad_expect.path()}).code, 1);
    EXPECT_EQ(ctl({"--virtual", "short", "script", "/nonexistent/script"}).code, 5);
    EXPECT_EQ(ctl({"--virtual", "short", "script"}).code, 1);
}

// ---- monitor ----

TEST(CcidctlMonitor, ReportsTheInitialStateAsJsonLines) {
    auto r = ctl({"--json", "--virtual", "short:t1,tpdu:none", "monitor", "--timeout", "0.4"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto lines = tj::parse_lines(r.out);
    ASSERT_TRUE(lines) << r.out;
    std::vector<std::string> kinds;
    for (const auto& l : *lines) kinds.push_back(l["event"].string);
    EXPECT_EQ(kinds, (std::vector<std::string>{"reader-added", "card-present", "reader-added", "card-absent"}))
        << r.out;
    EXPECT_EQ((*lines)[1]["slot"].integer(), 0);
    EXPECT_TRUE((*lines)[0]["slot"].is_null());
}

TEST(CcidctlMonitor, CountAndInterruptEndIt) {
    auto one = ctl({"--virtual", "short:t1", "monitor", "--count", "1"});
    EXPECT_EQ(one.code, 0);
    EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 1) << one.out;

    std::atomic<bool> stop{false};
    std::thread t([&stop] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        stop.store(true);
    });
    const auto start = std::chrono::steady_clock::now();
    auto r = ctl({"--virtual", "short:t1", "monitor"}, &stop);
    t.join();
    EXPECT_EQ(r.code, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(ctl({"--virtual", "short", "monitor", "--timeout", "x"}).code, 1);
    EXPECT_EQ(ctl({"--virtual", "short", "monitor", "--count", "0"}).code, 1);
}

// ---- diag ----

const tj::Value* check(const tj::Value& report, std::string_view id) {
    for (const auto& c : report["checks"].items)
        if (c["id"].string == id) return &c;
    return nullptr;
}

TEST(CcidctlDiag, HealthyVirtualReaderPasses) {
    TempFile saved("", ".json");
    auto r = ctl({"--json", "--virtual", "short:t1", "diag", "--iterations", "3", "--save", saved.path()});
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = json_of(r);
    EXPECT_EQ(v["verdict"].string, "pass");
    EXPECT_TRUE(v["suggested_quirks_row"].is_null());
    for (const char* id :
         {"descriptor.parse", "open", "command.GetSlotStatus", "card.power-on.1v8", "card.power-on.3v0",
          "card.power-on.5v0", "card.negotiation", "command.GetParameters", "command.SetParameters", "card.apdu.probe",
          "card.apdu.short-max", "card.apdu.extended", "card.latency", "command.IccPowerOff", "exchange"}) {
        const auto* c = check(v, id);
        ASSERT_NE(c, nullptr) << id;
        EXPECT_NE((*c)["status"].string, "fail") << id;
    }
    EXPECT_EQ((*check(v, "card.latency"))["measurements"].keys.size(), 3u);
    // A short-APDU reader cannot carry a 1031-byte APDU: information, not a failure.
    EXPECT_EQ((*check(v, "card.apdu.extended"))["status"].string, "info");
    // Progress went to stderr.
    EXPECT_NE(r.err.find("diag: opening the reader"), std::string::npos);
    // The saved report is the same document.
    std::ostringstream buffer;
    buffer << std::ifstream(saved.path()).rdbuf();
    const std::string file = buffer.str();
    auto s = tj::parse(file);
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)["checks"].size(), v["checks"].size());
}

TEST(CcidctlDiag, NeverPowersACardAboveItsClass) {
    // A class C (1.8 V) card answers at 1.8 V first; its class indicator then rules out 3 V and 5 V.
    auto v = json_of(ctl({"--json", "--virtual", "short:t1-1v8", "diag", "--iterations", "1", "-q"}));
    ASSERT_NE(check(v, "card.power-on.1v8"), nullptr);
    EXPECT_EQ((*check(v, "card.power-on.1v8"))["status"].string, "pass");
    for (const char* id : {"card.power-on.3v0", "card.power-on.5v0"}) {
        ASSERT_NE(check(v, id), nullptr) << id;
        EXPECT_EQ((*check(v, id))["status"].string, "skip") << id;
    }
    EXPECT_EQ(v["verdict"].string, "pass");
}

TEST(CcidctlDiag, ExtendedLevelMustCarryExtendedApdus) {
    auto v = json_of(ctl({"--json", "--virtual", "extended:t1", "diag", "--iterations", "1", "-q"}));
    ASSERT_NE(check(v, "card.apdu.extended"), nullptr);
    EXPECT_EQ((*check(v, "card.apdu.extended"))["status"].string, "pass");
    EXPECT_EQ(v["verdict"].string, "pass");
}

TEST(CcidctlDiag, WithoutCardOrWithNoCardTheCardChecksAreSkipped) {
    for (const auto& args : {std::vector<std::string>{"--json", "--virtual", "short:none", "diag", "-q"},
                             std::vector<std::string>{"--json", "--virtual", "short:t1", "diag", "-q", "--no-card"}}) {
        auto r = ctl(args);
        ASSERT_EQ(r.code, 0) << r.err;
        auto v = json_of(r);
        ASSERT_NE(check(v, "card"), nullptr);
        EXPECT_EQ((*check(v, "card"))["status"].string, "skip");
        EXPECT_EQ(check(v, "card.negotiation"), nullptr);
        EXPECT_EQ(r.err, "");
    }
}

TEST(CcidctlDiag, AFailingReaderExitsWithSix) {
    // A T=0-only reader with a T=1-only card: no common protocol.
    ccid::CcidDescriptor d;
    d.dwProtocols = 0x00000001;
    TempFile descriptor(to_hex(ccid::encode_ccid_descriptor(d)) + "\n");
    auto r = ctl({"--json", "--virtual", "file=" + descriptor.path() + ":t1", "diag", "-q"});
    EXPECT_EQ(r.code, 6) << r.err;
    auto v = json_of(r);
    EXPECT_EQ(v["verdict"].string, "fail");
    ASSERT_NE(check(v, "card.negotiation"), nullptr);
    EXPECT_EQ((*check(v, "card.negotiation"))["status"].string, "fail");
    auto text = ctl({"--virtual", "file=" + descriptor.path() + ":t1", "diag", "-q"});
    EXPECT_NE(text.out.find("Verdict: PROBLEMS"), std::string::npos) << text.out;
}

TEST(CcidctlDiag, SuggestedRowIsAValidQuirksFileLine) {
    ccidctl::DiagReport report;
    report.reader = "Test Reader 00 00";
    report.vendor_id = 0x1234;
    report.product_id = 0x5678;
    report.add("card.negotiation", "power-on", ccidctl::CheckStatus::Fail);
    ccidctl::QuirkSuggestion s;
    s.row.vid = 0x1234;
    s.row.pid = 0x5678;
    s.row.bcd_min = s.row.bcd_max = 0x0100;
    s.row.name = "Test Reader";
    s.row.reason = "suggested by ccidctl diag";
    s.row.quirks.no_pps = true;
    s.fields.set(ccid::index_of(ccid::QuirkField::no_pps));
    s.why.push_back("no_pps: the PPS exchange fails");
    report.suggestion = s;
    std::ostringstream text;
    ccidctl::print_report_text(text, report);
    const std::string line = ccid::format_quirk_row(s.row, s.fields);
    EXPECT_NE(text.str().find(line), std::string::npos);
    // The row reads back as the same setting.
    auto rows = ccid::parse_quirks_text(line);
    ASSERT_TRUE(rows) << ccid::describe(rows.error());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_TRUE((*rows)[0].row.quirks.no_pps);
    std::ostringstream json;
    {
        ccidctl::JsonWriter j(json);
        ccidctl::write_report_json(j, report);
    }
    auto v = tj::parse(json.str());
    ASSERT_TRUE(v);
    EXPECT_EQ((*v)["suggested_quirks_row"]["row"].string, line);
    EXPECT_EQ((*v)["verdict"].string, "fail");
}

}  // namespace

#include "readers_markdown.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "../../tests/ccid/corpus_emulation_known.h"

namespace ccidkit::readers_report {

namespace {

using emulation::CardResult;
using emulation::Coverage;
using emulation::InterfaceResult;
using emulation::SizeOutcome;

constexpr std::array kLevels = {ccid::ExchangeLevel::Tpdu, ccid::ExchangeLevel::ShortApdu,
                                ccid::ExchangeLevel::ExtendedApdu};

// Table cells: characters with a meaning in Markdown are escaped, line breaks removed.
std::string cell(std::string_view s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '|': case '\\': case '*': case '_': case '`': case '<': case '>': case '[': case ']':
                out.push_back('\\');
                out.push_back(c);
                break;
            case '\n': case '\r': out.push_back(' '); break;
            default: out.push_back(c);
        }
    }
    return out;
}

std::string vid_pid(const InterfaceResult& r) { return fmt::format("{:04X}:{:04X}", r.vid, r.pid); }

std::string file_label(const InterfaceResult& r, bool several) {
    return several ? fmt::format("{} (#{})", r.file, r.interface_index + 1) : r.file;
}

// Sizes in sweep order, consecutive sweep sizes joined: "0–255, 4096".
std::string size_runs(const std::vector<std::size_t>& sizes) {
    std::vector<std::size_t> index;
    for (const std::size_t n : sizes) {
        for (std::size_t i = 0; i < std::size(emulation::kSweepSizes); ++i)
            if (emulation::kSweepSizes[i] == n) index.push_back(i);
    }
    std::string out;
    for (std::size_t a = 0; a < index.size();) {
        std::size_t b = a;
        while (b + 1 < index.size() && index[b + 1] == index[b] + 1) ++b;
        if (!out.empty()) out += ", ";
        out += b == a ? fmt::format("{}", emulation::kSweepSizes[index[a]])
                      : fmt::format("{}–{}", emulation::kSweepSizes[index[a]], emulation::kSweepSizes[index[b]]);
        a = b + 1;
    }
    return out;
}

// "pass 0–65535", "pass 0–256; refused 261–65535", "FAIL at 4096", "FAIL power-on".
std::string card_verdict(const CardResult& c) {
    if (!c.powered) return "**FAIL** power-on";
    std::vector<std::size_t> passed, refused, failed;
    for (const auto& s : c.sizes) {
        if (s.outcome == SizeOutcome::Pass) passed.push_back(s.size);
        else if (s.outcome == SizeOutcome::Refused) refused.push_back(s.size);
        else failed.push_back(s.size);
    }
    std::string out = failed.empty() ? "pass " + size_runs(passed) : "**FAIL** at " + size_runs(failed);
    if (!refused.empty()) out += "; refused " + size_runs(refused);
    return out;
}

struct Tally {
    std::size_t interfaces = 0, passed = 0;
    std::array<std::size_t, 2> cards_run{}, cards_passed{};  // by protocol
};

struct SizeTally {
    std::size_t pass = 0, refused = 0, fail = 0;
};

bool several_interfaces(const emulation::CorpusRun& run, const InterfaceResult& r) {
    std::size_t n = 0;
    for (const auto& o : run.interfaces)
        if (o.file == r.file) ++n;
    return n > 1;
}

void summary(std::string& out, const emulation::CorpusRun& run) {
    std::map<ccid::ExchangeLevel, Tally> by_level;
    std::size_t character = 0, iccd = 0, quirked = 0, refused_fw = 0, vendor_class = 0;
    Tally all;
    for (const auto& r : run.interfaces) {
        if (!r.quirks.empty()) ++quirked;
        if (r.firmware_refusal) ++refused_fw;
        if (r.interface_class == 0xFF) ++vendor_class;
        if (r.coverage == Coverage::CharacterLevel) ++character;
        if (r.coverage == Coverage::Iccd) ++iccd;
        if (!r.emulated()) continue;
        for (Tally* t : {&by_level[r.level], &all}) {
            ++t->interfaces;
            if (r.passed()) ++t->passed;
            for (const auto& c : r.cards) {
                ++t->cards_run[c.protocol];
                if (c.passed()) ++t->cards_passed[c.protocol];
            }
        }
    }
    out += "## Summary\n\n";
    out += "| Exchange level | Interfaces | All cards passed | T=1 cards passed / run | T=0 cards passed / run |\n";
    out += "| --- | ---: | ---: | ---: | ---: |\n";
    auto row = [&](std::string_view label, const Tally& t) {
        out += fmt::format("| {} | {} | {} | {} / {} | {} / {} |\n", label, t.interfaces, t.passed, t.cards_passed[1],
                           t.cards_run[1], t.cards_passed[0], t.cards_run[0]);
    };
    for (const auto level : kLevels) row(emulation::level_label(level), by_level[level]);
    row("**all emulated**", all);
    out += fmt::format("| character level (not driven) | {} | — | — | — |\n", character);
    out += fmt::format("| ICCD (not driven) | {} | — | — | — |\n\n", iccd);
    out += fmt::format(
        "{} interfaces in {} files ({} listed; {} are not descriptor dumps). Quirks applied to {} interfaces; "
        "{} run firmware a quirk refuses (emulated with the refusal lifted, as `min_firmware=default` would); "
        "{} are vendor-class (FFh) interfaces.\n\n",
        run.interfaces.size(), run.files_loaded, run.files, run.load_errors.size(), quirked, refused_fw, vendor_class);
}

void sizes_table(std::string& out, const emulation::CorpusRun& run) {
    out += "## APDU sizes\n\n";
    out += "Passed / sent per data size (ECHO with Nc = Ne = size; short APDU level: PATTERN with Le = 00 for "
           "256, and the driver must refuse what needs extended length fields or exceeds the reader's "
           "dwMaxCCIDMessageLength).\n\n";
    out += "| Level | Card |";
    for (const std::size_t n : emulation::kSweepSizes) out += fmt::format(" {} |", n);
    out += "\n| --- | --- |";
    for (std::size_t i = 0; i < std::size(emulation::kSweepSizes); ++i) out += " ---: |";
    out += "\n";
    for (const auto level : kLevels) {
        for (const std::uint8_t protocol : {std::uint8_t{1}, std::uint8_t{0}}) {
            std::map<std::size_t, SizeTally> t;
            for (const auto& r : run.interfaces) {
                if (!r.emulated() || r.level != level) continue;
                for (const auto& c : r.cards) {
                    if (c.protocol != protocol) continue;
                    for (const auto& s : c.sizes) {
                        auto& st = t[s.size];
                        if (s.outcome == SizeOutcome::Pass) ++st.pass;
                        else if (s.outcome == SizeOutcome::Refused) ++st.refused;
                        else ++st.fail;
                    }
                }
            }
            out += fmt::format("| {} | T={} |", emulation::level_label(level), protocol);
            for (const std::size_t n : emulation::kSweepSizes) {
                const auto it = t.find(n);
                if (it == t.end()) {
                    out += " — |";
                } else if (it->second.refused > 0 && it->second.pass == 0 && it->second.fail == 0) {
                    out += fmt::format(" refused ({}) |", it->second.refused);
                } else {
                    const std::size_t sent = it->second.pass + it->second.refused + it->second.fail;
                    out += fmt::format(" {} / {} |", it->second.pass, sent);
                }
            }
            out += "\n";
        }
    }
    out += "\n";
}

// One row per failing card (or failed open): the sizes that failed and their distinct reasons.
std::string failure_rows(const emulation::CorpusRun& run, const InterfaceResult& r) {
    const std::string who = fmt::format("| {} | {} | {} |", cell(file_label(r, several_interfaces(run, r))), vid_pid(r),
                                        cell(emulation::level_label(r.level)));
    std::string rows;
    if (!r.open_error.empty()) rows += fmt::format("{} — | open | {} |\n", who, cell(r.open_error));
    if (r.cards.empty() && r.open_error.empty()) rows += fmt::format("{} — | — | no card could be planned |\n", who);
    for (const auto& c : r.cards) {
        const std::string card = fmt::format("T={} (slot {})", c.protocol, c.slot);
        if (!c.powered) {
            rows += fmt::format("{} {} | power-on | {} |\n", who, card, cell(c.power_error));
            continue;
        }
        std::vector<std::size_t> failed;
        std::vector<std::string> reasons;
        for (const auto& s : c.sizes) {
            if (s.outcome != SizeOutcome::Fail) continue;
            failed.push_back(s.size);
            const std::string reason = fmt::format("{}: {}", s.size, s.reason);
            // Sizes failing for the same reason are named once, with the first size.
            bool seen = false;
            for (const auto& earlier : reasons)
                if (earlier.substr(earlier.find(": ") + 2) == s.reason) seen = true;
            if (!seen) reasons.push_back(reason);
        }
        if (failed.empty()) continue;
        std::string text;
        for (const auto& reason : reasons) text += (text.empty() ? "" : " — ") + cell(reason);
        rows += fmt::format("{} {} | sizes {} | {} |\n", who, card, size_runs(failed), text);
    }
    return rows;
}

void failures(std::string& out, const emulation::CorpusRun& run) {
    out += "## Failures\n\n";
    // Grouped by the causes the test knows (tests/ccid/corpus_emulation_known.h), in order of
    // first appearance; failures of no known cause come last.
    std::vector<const emulation::KnownCause*> causes;
    std::map<const emulation::KnownCause*, std::string> rows;
    std::map<const emulation::KnownCause*, std::size_t> readers;
    for (const auto& r : run.interfaces) {
        if (!r.emulated() || r.passed()) continue;
        const emulation::KnownCause* cause = emulation::known_cause(r.file);
        if (!rows.contains(cause)) causes.push_back(cause);
        rows[cause] += failure_rows(run, r);
        ++readers[cause];
    }
    if (causes.empty()) {
        out += "None: every emulated interface passed every APDU it was sent.\n\n";
        return;
    }
    std::stable_partition(causes.begin(), causes.end(), [](const auto* c) { return c != nullptr; });
    for (const auto* cause : causes) {
        if (cause) {
            out += fmt::format("### {} ({} interfaces)\n\n{}\n\n", cause->title, readers[cause], cause->explanation);
        } else {
            out += fmt::format("### Not yet explained ({} interfaces)\n\n", readers[cause]);
        }
        out += "| File | VID:PID | Level | Card | Step | Reason (driver's error; sizes with the same reason named once) |\n";
        out += "| --- | --- | --- | --- | --- | --- |\n";
        out += rows[cause];
        out += "\n";
    }
}

void not_emulated(std::string& out, const emulation::CorpusRun& run) {
    out += "## Not emulated\n\n";
    out += "| File | VID:PID | Name | Why |\n| --- | --- | --- | --- |\n";
    for (const auto& r : run.interfaces) {
        if (r.emulated()) continue;
        out += fmt::format("| {} | {} | {} | {} |\n", cell(file_label(r, several_interfaces(run, r))), vid_pid(r),
                           cell(r.name), cell(r.not_emulated_reason));
    }
    if (!run.load_errors.empty()) {
        out += "\nFiles of the corpus folder that hold no interface record:\n\n";
        for (const auto& e : run.load_errors) out += fmt::format("- {}\n", cell(e));
    }
    out += "\n";
}

void per_reader(std::string& out, const emulation::CorpusRun& run) {
    out += "## Per reader\n\n";
    out += "T=1 / T=0: the verdict over the sizes sent, the card (voltage classes, TA1), then what the driver "
           "settled at power-on (voltage, protocol, Fi/Di, how, and the driver's rate choice in brackets). A dash: "
           "the reader does not support the protocol (or is not emulated).\n\n";
    out += "| File | VID:PID | bcdDevice | Name | Level | T=1 | T=0 | Notes |\n";
    out += "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
    for (const auto& r : run.interfaces) {
        auto card_cell = [&](std::uint8_t protocol) -> std::string {
            if (!r.emulated()) return "—";
            const CardResult* c = r.card(protocol);
            if (!c) return "—";
            // The verdict carries its own emphasis; the driver's text is escaped.
            return card_verdict(*c) + "; card " + cell(c->card) + "; " + cell(c->powered ? c->session : c->power_error);
        };
        std::vector<std::string> notes;
        if (!r.emulated()) notes.push_back(std::string(emulation::to_string(r.coverage)));
        if (!r.open_error.empty()) notes.push_back("open failed: " + r.open_error);
        if (r.firmware_refusal) notes.push_back("refused by default: " + *r.firmware_refusal);
        for (const auto& q : r.quirks) notes.push_back("quirk: " + q);
        for (const auto& n : r.notes) notes.push_back(n);
        std::string note_text;
        for (const auto& n : notes) note_text += (note_text.empty() ? "" : "; ") + n;
        std::string level = std::string(emulation::level_label(r.level));
        if (r.level != r.declared_level) level += fmt::format(" (declares {})", emulation::level_label(r.declared_level));
        if (r.coverage == Coverage::Iccd) level = "ICCD";
        out += fmt::format("| {} | {} | {:X}.{:02X} | {} | {} | {} | {} | {} |\n",
                           cell(file_label(r, several_interfaces(run, r))), vid_pid(r), r.bcd >> 8, r.bcd & 0xFF,
                           cell(r.name), cell(level), card_cell(1), card_cell(0), cell(note_text));
    }
    out += "\n";
}

}  // namespace

std::string render_markdown(const emulation::CorpusRun& run, const ReportInfo& info) {
    std::string out;
    out += "# Real readers, emulated\n\n";
    out += "<!-- Generated by `make readers-doc` (tools/readers-report). Do not edit by hand. -->\n\n";
    out += fmt::format(
        "Every interface of the real-reader corpus (`{}`: libccid's `parse` output for each reader model) is "
        "impersonated by the reader simulator and driven by the host driver: Reader::open with the reported "
        "descriptor and the reader's quirks, a simulated T=1 and/or T=0 card fitted to the reader's voltages, "
        "protocols and data rates, power-on with negotiation, then APDUs of 0 to 65535 data bytes checked against "
        "the card's echo application. Method and limits: `docs/design/readers.md`.\n\n",
        cell(info.corpus_label));
    summary(out, run);
    sizes_table(out, run);
    failures(out, run);
    not_emulated(out, run);
    per_reader(out, run);
    return out;
}

}  // namespace ccidkit::readers_report

#include "script_parser.h"

#include <fmt/format.h>

#include <cctype>

namespace ccidkit::ccidctl {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

bool equals_nocase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

}  // namespace

std::expected<std::vector<ScriptStep>, std::string> parse_script(std::string_view text) {
    std::vector<ScriptStep> steps;
    std::size_t line_no = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        line = trim(line);
        if (line.empty()) continue;
        if (steps.size() == kMaxScriptSteps) return std::unexpected(fmt::format("line {}: too many commands", line_no));

        ScriptStep step;
        step.line = line_no;
        if (equals_nocase(line, "reset")) {
            step.kind = ScriptStep::Kind::Reset;
        } else if (equals_nocase(line, "exit") || equals_nocase(line, "quit")) {
            step.kind = ScriptStep::Kind::Exit;
        } else {
            std::string_view command = line;
            std::optional<std::string_view> expected;
            if (const auto arrow = line.find("=>"); arrow != std::string_view::npos) {
                command = trim(line.substr(0, arrow));
                expected = trim(line.substr(arrow + 2));
            }
            auto apdu = from_hex(command);
            if (!apdu || apdu->size() < 4)
                return std::unexpected(fmt::format("line {}: not a command APDU: '{}'", line_no, command));
            step.apdu = std::move(*apdu);
            if (expected) {
                auto e = from_hex(*expected);
                if (!e || e->size() < 2)
                    return std::unexpected(
                        fmt::format("line {}: the expected response needs at least SW1 SW2: '{}'", line_no, *expected));
                step.expected = std::move(*e);
            }
        }
        steps.push_back(std::move(step));
    }
    return steps;
}

}  // namespace ccidkit::ccidctl

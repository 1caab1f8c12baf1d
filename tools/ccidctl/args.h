// Command-line parsing for ccidctl: long options ("--name value", "--name=value"), a few short
// aliases ("-h"), "--" to end options, and positional arguments. Each command declares its
// options; the global ones (--json, --reader, ...) are accepted anywhere on the line.
#pragma once

#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ccidkit::ccidctl {

struct OptionSpec {
    std::string_view name;        // without the dashes: "reader"
    char short_name = '\0';       // 'h' for -h; '\0' when none
    std::string_view value_name;  // empty: a flag; otherwise the option takes a value
    std::string_view help;

    bool takes_value() const { return !value_name.empty(); }
};

struct ParsedArgs {
    std::map<std::string, std::vector<std::string>, std::less<>> options;  // every occurrence
    std::vector<std::string> positional;
    // With stop_at_positional: everything from the first positional argument on, untouched.
    std::vector<std::string> rest;

    bool has(std::string_view name) const { return options.find(name) != options.end(); }
    // The last value given (options given twice: the last one wins).
    std::optional<std::string> value(std::string_view name) const;
};

// Parses `args` against the union of the spec lists. Errors name the offending argument.
// stop_at_positional: the first positional argument and everything after it go to `rest`
// (for commands that run another command line, such as `trace`).
std::expected<ParsedArgs, std::string> parse_args(std::span<const std::string> args,
                                                  std::span<const std::span<const OptionSpec>> specs,
                                                  bool stop_at_positional = false);

// "  --name VALUE, -n   help" lines, aligned.
std::string format_options(std::span<const OptionSpec> specs);

}  // namespace ccidkit::ccidctl

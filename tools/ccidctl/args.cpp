#include "args.h"

#include <algorithm>

namespace ccidkit::ccidctl {
namespace {

const OptionSpec* find_long(std::span<const std::span<const OptionSpec>> specs, std::string_view name) {
    for (auto list : specs)
        for (const auto& s : list)
            if (s.name == name) return &s;
    return nullptr;
}

const OptionSpec* find_short(std::span<const std::span<const OptionSpec>> specs, char c) {
    for (auto list : specs)
        for (const auto& s : list)
            if (s.short_name != '\0' && s.short_name == c) return &s;
    return nullptr;
}

}  // namespace

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
    auto it = options.find(name);
    if (it == options.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
}

std::expected<ParsedArgs, std::string> parse_args(std::span<const std::string> args,
                                                  std::span<const std::span<const OptionSpec>> specs,
                                                  bool stop_at_positional) {
    ParsedArgs out;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const bool looks_like_option = !options_ended && a.size() > 1 && a[0] == '-';
        if (!looks_like_option) {
            if (stop_at_positional) {
                out.rest.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
                return out;
            }
            out.positional.push_back(a);
            continue;
        }
        if (a == "--") {
            options_ended = true;
            if (stop_at_positional) {
                out.rest.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
                return out;
            }
            continue;
        }
        const OptionSpec* spec = nullptr;
        std::optional<std::string> inline_value;
        if (a.starts_with("--")) {
            std::string_view body = std::string_view(a).substr(2);
            const auto eq = body.find('=');
            if (eq != std::string_view::npos) {
                inline_value = std::string(body.substr(eq + 1));
                body = body.substr(0, eq);
            }
            spec = find_long(specs, body);
        } else if (a.size() == 2) {
            spec = find_short(specs, a[1]);
        }
        if (spec == nullptr) {
            // "-3" style negative numbers are not options of ccidctl; say what was not understood.
            return std::unexpected("unknown option '" + a + "'");
        }
        std::string key(spec->name);
        if (!spec->takes_value()) {
            if (inline_value) return std::unexpected("option --" + key + " takes no value");
            out.options[key].push_back("");
            continue;
        }
        if (inline_value) {
            out.options[key].push_back(*inline_value);
            continue;
        }
        if (i + 1 >= args.size()) {
            return std::unexpected("option --" + key + " needs a value (" + std::string(spec->value_name) + ")");
        }
        out.options[key].push_back(args[++i]);
    }
    return out;
}

std::string format_options(std::span<const OptionSpec> specs) {
    std::vector<std::string> left;
    std::size_t width = 0;
    for (const auto& s : specs) {
        std::string l = "  --" + std::string(s.name);
        if (s.takes_value()) l += " " + std::string(s.value_name);
        if (s.short_name != '\0') l += std::string(", -") + s.short_name;
        width = std::max(width, l.size());
        left.push_back(std::move(l));
    }
    std::string out;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        out += left[i];
        out.append(width - left[i].size() + 2, ' ');
        out += specs[i].help;
        out += '\n';
    }
    return out;
}

}  // namespace ccidkit::ccidctl

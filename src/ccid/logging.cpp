#include "ccid/logging.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace ccidkit::ccid {

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "trace") return spdlog::level::trace;
    if (lower == "debug") return spdlog::level::debug;
    if (lower == "info") return spdlog::level::info;
    if (lower == "warn" || lower == "warning") return spdlog::level::warn;
    if (lower == "error" || lower == "err") return spdlog::level::err;
    if (lower == "critical") return spdlog::level::critical;
    if (lower == "off") return spdlog::level::off;
    return std::nullopt;
}

std::shared_ptr<spdlog::logger> logger() {
    static std::once_flag once;
    static std::shared_ptr<spdlog::logger> instance;
    std::call_once(once, [] {
        const std::string name(kLoggerName);
        // Another part of the process may have registered the name first: share it.
        instance = spdlog::get(name);
        if (!instance) {
            try {
                instance = spdlog::stderr_color_mt(name);
            } catch (const spdlog::spdlog_ex&) {
                instance = spdlog::get(name);  // lost a registration race
            }
        }
        if (!instance) instance = std::make_shared<spdlog::logger>(name);  // no sink: silent
        auto level = spdlog::level::off;
        if (const char* env = std::getenv(kLogEnvVar)) {
            if (auto parsed = parse_log_level(env)) level = *parsed;
        }
        instance->set_level(level);
    });
    return instance;
}

void set_log_level(spdlog::level::level_enum level) { logger()->set_level(level); }

}  // namespace ccidkit::ccid

// The `ccidkit` spdlog logger of the CCID layer. Off unless enabled: the environment variable
// CCIDKIT_LOG names the level (trace, debug, info, warn, error, critical, off) when the logger
// is first used, and set_log_level() changes it at run time. At trace level every CCID message
// is logged decoded (message_trace.h), in both directions.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include <spdlog/spdlog.h>

namespace ccidkit::ccid {

inline constexpr std::string_view kLoggerName = "ccidkit";
inline constexpr const char* kLogEnvVar = "CCIDKIT_LOG";

// The shared logger (created on first use, writes to stderr). Never null.
std::shared_ptr<spdlog::logger> logger();

void set_log_level(spdlog::level::level_enum level);

// "trace" -> trace, ..., "off" -> off; nullopt for anything else (case-insensitive).
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text);

}  // namespace ccidkit::ccid

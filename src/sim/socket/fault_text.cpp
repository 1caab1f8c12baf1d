#include "sim/socket/fault_text.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace ccidkit::sim {
namespace {

constexpr unsigned kMaxCount = 1000000;

std::optional<unsigned> count_of(std::string_view v) {
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n > kMaxCount) return std::nullopt;
    return n;
}

}  // namespace

std::expected<ReaderFaults, std::string> apply_fault_text(ReaderFaults base, std::string_view text) {
    if (text.empty()) return std::unexpected(std::string("no fault given"));
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = text.find(',', start);
        const std::string_view item = text.substr(start, comma == text.npos ? text.npos : comma - start);
        start = comma == text.npos ? text.size() + 1 : comma + 1;
        if (item == "clear") {
            base = ReaderFaults{};
            continue;
        }
        const std::size_t eq = item.find('=');
        if (eq == item.npos) return std::unexpected(fmt::format("fault '{}': expected KEY=N or clear", item));
        const std::string_view key = item.substr(0, eq);
        const auto n = count_of(item.substr(eq + 1));
        if (!n) return std::unexpected(fmt::format("fault '{}': the value must be a number up to {}", item, kMaxCount));
        if (key == "stale_seq") base.stale_seq = *n;
        else if (key == "oversize") base.oversize = *n;
        else if (key == "truncated") base.truncated = *n;
        else if (key == "silent") base.silent = *n;
        else if (key == "bulk_in_stalls") base.bulk_in_stalls = *n;
        else if (key == "endless_time_extension" && *n <= 1) base.endless_time_extension = *n == 1;
        else
            return std::unexpected(fmt::format(
                "fault '{}': unknown key or value (stale_seq, oversize, truncated, silent, bulk_in_stalls, "
                "endless_time_extension=0|1, clear)",
                item));
    }
    return base;
}

}  // namespace ccidkit::sim

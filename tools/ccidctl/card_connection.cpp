#include "card_connection.h"

#include <fmt/format.h>

namespace ccidkit::ccidctl {

std::expected<CardConnection, ReaderFailure> connect_card(const Context& ctx, const ccid::PowerOnOptions& options) {
    auto info = find_reader(ctx);
    if (!info) return std::unexpected(info.error());
    auto opened = open_reader(ctx, *info);
    if (!opened) return std::unexpected(opened.error());
    CardConnection c;
    c.opened = std::move(*opened);
    c.slot = c.opened.reader->slot(ctx.slot);
    if (c.slot == nullptr) {
        return std::unexpected(ReaderFailure{ExitCode::Usage, fmt::format("{} has no slot {} (it has {})", info->name,
                                                                          ctx.slot, c.opened.reader->slot_count())});
    }
    auto session = c.slot->power_on(options);
    if (!session)
        return std::unexpected(failure_from(session.error(), fmt::format("{}, slot {}", info->name, ctx.slot)));
    c.session = std::move(*session);
    return c;
}

std::string protocol_name(const ccid::CardSession& s) { return fmt::format("T={}", s.protocol); }

}  // namespace ccidkit::ccidctl

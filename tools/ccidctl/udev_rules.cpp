#include "udev_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "ccid/quirks.h"
#include "ccid/quirks_lookup.h"

namespace ccidkit::ccidctl {
namespace {

// The reader's name from the table, made safe for a comment line.
std::string reader_name(const UsbId& id) {
    std::string name;
    for (const auto& row : ccid::builtin_quirks()) {
        if (row.vid == id.first && row.pid == id.second) {
            name = row.name;
            break;
        }
    }
    if (name.empty()) {
        for (const auto& u : ccid::user_quirks()) {
            if (u.row.vid == id.first && u.row.pid == id.second) {
                name = u.row.name;
                break;
            }
        }
    }
    for (char& c : name)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    return name.empty() ? "unnamed reader" : name;
}

// POSIX portable user/group name (what udev accepts in GROUP=).
bool valid_group(std::string_view g) {
    if (g.empty() || g.size() > 32 || g.front() == '-') return false;
    return std::all_of(g.begin(), g.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.';
    });
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

}  // namespace

std::vector<UsbId> vendor_class_reader_ids(bool with_user_rows) {
    if (with_user_rows) return ccid::vendor_class_ids();
    std::set<UsbId> ids;
    const auto builtin = ccid::builtin_quirks();
    for (const auto& row : builtin)
        if (ccid::any_vendor_class(builtin, {}, row.vid, row.pid)) ids.emplace(row.vid, row.pid);
    return {ids.begin(), ids.end()};
}

std::string vendor_class_rules(const std::vector<UsbId>& ids) {
    std::string out;
    for (const auto& id : ids) {
        out += fmt::format("# {}\n", reader_name(id));
        out += fmt::format("ATTR{{idVendor}}==\"{:04x}\", ATTR{{idProduct}}==\"{:04x}\", ENV{{CCIDKIT_READER}}=\"1\"\n",
                           id.first, id.second);
    }
    if (ids.empty()) out += "# (the quirks table lists no vendor-class reader)\n";
    return out;
}

std::expected<std::string, std::string> render_udev_rules(std::string_view templ, const std::vector<UsbId>& ids,
                                                          std::string_view group) {
    if (templ.find(kVendorClassPlaceholder) == std::string_view::npos)
        return std::unexpected(fmt::format("the template has no {} line", kVendorClassPlaceholder));
    if (!valid_group(group)) return std::unexpected(fmt::format("'{}' is not a valid group name", group));
    std::string rules = vendor_class_rules(ids);
    if (!rules.empty() && rules.back() == '\n') rules.pop_back();  // the placeholder's own line ends it
    std::string out = replace_all(std::string(templ), kVendorClassPlaceholder, rules);
    return replace_all(std::move(out), kGroupPlaceholder, group);
}

}  // namespace ccidkit::ccidctl

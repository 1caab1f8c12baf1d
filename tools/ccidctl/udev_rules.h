// udev rules for ccidkit, generated from the reader quirks table so that the list of
// vendor-class readers in the rules and in the driver never drift apart (docs/design/tools.md).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ccidkit::ccidctl {

using UsbId = std::pair<std::uint16_t, std::uint16_t>;  // idVendor, idProduct

// Template placeholders.
inline constexpr std::string_view kVendorClassPlaceholder = "@CCIDKIT_VENDOR_CLASS_RULES@";
inline constexpr std::string_view kGroupPlaceholder = "@CCIDKIT_GROUP@";

// VID:PID of every built-in quirk row that makes a vendor-class interface a reader (for some
// firmware), sorted, without duplicates. with_user_rows: the user's quirks file counts too.
std::vector<UsbId> vendor_class_reader_ids(bool with_user_rows);

// One match rule per id (preceded by a comment naming the reader), each setting
// ENV{CCIDKIT_READER}="1" on the usb_device.
std::string vendor_class_rules(const std::vector<UsbId>& ids);

// The template with the placeholders replaced. Fails when a placeholder is missing (the
// template would silently lose the vendor-class readers) or the group name is not a valid
// user/group name.
std::expected<std::string, std::string> render_udev_rules(std::string_view templ, const std::vector<UsbId>& ids,
                                                          std::string_view group);

}  // namespace ccidkit::ccidctl

#include "api/reader_naming.h"

#include <fmt/format.h>

namespace ccidkit::api {

namespace {

// Keeps printable bytes (and UTF-8 sequences); a NUL or a control byte would corrupt the
// multi-string of SCardListReaders.
std::string clean(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        out.push_back((u < 0x20 || u == 0x7F) ? ' ' : c);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::size_t first = out.find_first_not_of(' ');
    return first == std::string::npos ? std::string{} : out.substr(first);
}

// Cuts at most max bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string s, std::size_t max) {
    if (s.size() <= max) return s;
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

}  // namespace

std::string reader_base_name(const ReaderDescription& d) {
    const std::string vendor = clean(d.vendor);
    const std::string model = clean(d.model);
    std::string base;
    if (model.empty() && vendor.empty())
        base = fmt::format("Reader {:04X}:{:04X}", d.vendor_id, d.product_id);
    else if (vendor.empty() || model.starts_with(vendor))
        base = model;  // iProduct often repeats the manufacturer
    else if (model.empty())
        base = vendor;
    else
        base = vendor + " " + model;

    const std::string iface = clean(d.interface_name);
    if (!iface.empty() && iface != model && iface != base) base += " [" + iface + "]";
    const std::string serial = clean(d.serial);
    if (!serial.empty()) base += " (" + serial + ")";
    return truncate_utf8(std::move(base), kMaxReaderBaseName);
}

std::string reader_full_name(std::string_view base, std::uint8_t index, std::uint8_t slot) {
    return fmt::format("{} {:02X} {:02X}", base, index, slot);
}

bool ReaderIndexTable::in_use(std::uint8_t index) const {
    for (const auto& [id, a] : active_)
        if (a.index == index) return true;
    return false;
}

std::optional<std::uint8_t> ReaderIndexTable::acquire(const std::string& device_id) {
    if (auto it = active_.find(device_id); it != active_.end()) {
        ++it->second.users;
        return it->second.index;
    }
    std::optional<std::uint8_t> chosen;
    if (auto it = remembered_.find(device_id); it != remembered_.end() && !in_use(it->second))
        chosen = it->second;
    // First an index no absent device remembers, so that it can get its own back later.
    for (unsigned pass = 0; pass < 2 && !chosen; ++pass) {
        for (unsigned i = 0; i < 256; ++i) {
            auto idx = static_cast<std::uint8_t>(i);
            if (in_use(idx)) continue;
            bool reserved = false;
            if (pass == 0)
                for (const auto& [id, r] : remembered_)
                    if (r == idx && id != device_id) reserved = true;
            if (!reserved) {
                chosen = idx;
                break;
            }
        }
    }
    if (!chosen) return std::nullopt;
    // Bound the memory: a device could announce a new serial number at every plug.
    if (remembered_.size() >= kMaxRemembered)
        std::erase_if(remembered_, [this](const auto& e) { return !active_.contains(e.first); });
    active_[device_id] = Active{*chosen, 1};
    remembered_[device_id] = *chosen;
    return chosen;
}

void ReaderIndexTable::release(const std::string& device_id) {
    auto it = active_.find(device_id);
    if (it == active_.end()) return;
    if (--it->second.users == 0) active_.erase(it);
}

}  // namespace ccidkit::api

#include "ccid/usb/usb_bus_signature.h"

#include <algorithm>
#include <fstream>
#include <system_error>
#include <vector>

namespace ccidkit::ccid::usb {

namespace {

// Far above any real bus; a hostile or broken sysfs cannot make the listing unbounded.
constexpr std::size_t kMaxEntries = 4096;

}  // namespace

std::optional<std::string> usb_bus_signature(const std::filesystem::path& root) {
    std::error_code ec;
    std::filesystem::directory_iterator it(root, ec);
    if (ec) return std::nullopt;
    std::vector<std::string> entries;
    for (const std::filesystem::directory_iterator end; it != end && entries.size() < kMaxEntries; it.increment(ec)) {
        if (ec) return std::nullopt;
        const std::string name = it->path().filename().string();
        if (name.find(':') != std::string::npos) continue;  // an interface of a device
        std::string devnum;
        std::ifstream in(it->path() / "devnum");
        if (in) std::getline(in, devnum);
        entries.push_back(name + "=" + devnum);
    }
    if (ec) return std::nullopt;
    std::sort(entries.begin(), entries.end());
    std::string signature;
    for (const std::string& e : entries) {
        signature += e;
        signature += '\n';
    }
    return signature;
}

}  // namespace ccidkit::ccid::usb

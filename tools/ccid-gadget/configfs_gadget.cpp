#include "configfs_gadget.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

namespace ccidkit::gadget {

namespace {

std::string errno_text() { return std::strerror(errno); }

std::expected<void, std::string> write_attr(const std::string& path, const std::string& value) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return std::unexpected(fmt::format("open {}: {}", path, errno_text()));
    // configfs attributes take the whole value in one write; an empty UDC needs "\n".
    const std::string text = value.empty() ? "\n" : value;
    const ssize_t n = ::write(fd, text.data(), text.size());
    const int saved = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(text.size())) {
        errno = saved;
        return std::unexpected(fmt::format("write '{}' to {}: {}", value, path, errno_text()));
    }
    return {};
}

std::expected<void, std::string> make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        return std::unexpected(fmt::format("mkdir {}: {}", path, errno_text()));
    }
    return {};
}

std::string hex4(std::uint16_t v) { return fmt::format("0x{:04x}", v); }

// configfs takes bcdDevice only as binary-coded decimal (every nibble 0..9).
bool is_bcd(std::uint16_t v) {
    for (int shift = 0; shift < 16; shift += 4) {
        if (((v >> shift) & 0xF) > 9) return false;
    }
    return true;
}

}  // namespace

ConfigfsGadget::ConfigfsGadget(std::string configfs, std::string name, std::string ffs_dir)
    : root_(configfs + "/usb_gadget/" + name), name_(std::move(name)), ffs_dir_(std::move(ffs_dir)) {}

ConfigfsGadget::~ConfigfsGadget() { destroy(); }

std::vector<std::string> ConfigfsGadget::list_udcs() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/sys/class/udc", ec)) {
        out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::expected<void, std::string> ConfigfsGadget::create(const DeviceIdentity& id) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(root_).parent_path(), ec)) {
        return std::unexpected(fmt::format("{} missing: is configfs mounted and libcomposite loaded?",
                                           std::filesystem::path(root_).parent_path().string()));
    }
    if (std::filesystem::exists(root_, ec)) {
        return std::unexpected(fmt::format("{} already exists (another gadget with this --name?)", root_));
    }
    if (auto r = make_dir(root_); !r) return r;
    created_ = true;
    const std::string strings = root_ + "/strings/0x409";
    const std::string config = root_ + "/configs/c.1";
    const std::string function = root_ + "/functions/ffs." + name_;
    std::expected<void, std::string> r;
    // bDeviceClass 0: the class is given per interface (CCID 4.2).
    for (const auto& [attr, value] : {std::pair{"idVendor", hex4(id.vendor_id)},
                                      std::pair{"idProduct", hex4(id.product_id)},
                                      std::pair{"bcdDevice", hex4(is_bcd(id.bcd_device) ? id.bcd_device : 0)},
                                      std::pair{"bcdUSB", std::string("0x0200")},
                                      std::pair{"bDeviceClass", std::string("0x00")}}) {
        if (r = write_attr(root_ + "/" + attr, value); !r) return r;
    }
    if (r = make_dir(strings); !r) return r;
    if (r = write_attr(strings + "/manufacturer", id.manufacturer); !r) return r;
    if (r = write_attr(strings + "/product", id.product); !r) return r;
    if (!id.serial.empty()) {
        if (r = write_attr(strings + "/serialnumber", id.serial); !r) return r;
    }
    if (r = make_dir(config); !r) return r;
    if (r = write_attr(config + "/MaxPower", "100"); !r) return r;
    if (r = make_dir(config + "/strings/0x409"); !r) return r;
    if (r = write_attr(config + "/strings/0x409/configuration", "CCID"); !r) return r;
    if (r = make_dir(function); !r) return r;
    if (::symlink(function.c_str(), (config + "/ffs." + name_).c_str()) != 0) {
        return std::unexpected(fmt::format("symlink into {}: {}", config, errno_text()));
    }
    std::filesystem::create_directories(ffs_dir_, ec);
    if (::mount(name_.c_str(), ffs_dir_.c_str(), "functionfs", 0, nullptr) != 0) {
        return std::unexpected(fmt::format("mount functionfs {} on {}: {}", name_, ffs_dir_, errno_text()));
    }
    mounted_ = true;
    return {};
}

std::expected<void, std::string> ConfigfsGadget::bind(const std::string& udc) {
    if (auto r = write_attr(root_ + "/UDC", udc); !r) return r;
    bound_ = true;
    return {};
}

std::expected<void, std::string> ConfigfsGadget::unbind() {
    if (!bound_) return {};
    if (auto r = write_attr(root_ + "/UDC", ""); !r) return r;
    bound_ = false;
    return {};
}

void ConfigfsGadget::destroy() {
    (void)unbind();
    if (mounted_) {
        ::umount2(ffs_dir_.c_str(), MNT_DETACH);
        ::rmdir(ffs_dir_.c_str());
        mounted_ = false;
    }
    if (!created_) return;
    const std::string config = root_ + "/configs/c.1";
    // configfs wants the reverse order of creation, one rmdir per directory.
    ::unlink((config + "/ffs." + name_).c_str());
    ::rmdir((config + "/strings/0x409").c_str());
    ::rmdir(config.c_str());
    ::rmdir((root_ + "/functions/ffs." + name_).c_str());
    ::rmdir((root_ + "/strings/0x409").c_str());
    ::rmdir(root_.c_str());
    created_ = false;
}

}  // namespace ccidkit::gadget

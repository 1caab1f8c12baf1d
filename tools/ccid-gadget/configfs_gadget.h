// A USB gadget made of one FunctionFS function, set up through configfs
// (Documentation/usb/gadget_configfs.rst): device descriptor fields and strings, one
// configuration, the ffs.NAME function, the FunctionFS mount, and binding to a UDC.
// Binding and unbinding is what plugging and unplugging look like to the host.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace ccidkit::gadget {

struct DeviceIdentity {
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;
    std::string manufacturer;
    std::string product;
    std::string serial;
};

class ConfigfsGadget {
public:
    ConfigfsGadget(std::string configfs, std::string name, std::string ffs_dir);
    // Unbinds and removes everything created (best effort).
    ~ConfigfsGadget();
    ConfigfsGadget(const ConfigfsGadget&) = delete;
    ConfigfsGadget& operator=(const ConfigfsGadget&) = delete;

    // Creates the gadget directories and mounts FunctionFS at ffs_dir. On error: what failed.
    // A bcdDevice that is not binary-coded decimal (some readers use one) is refused by
    // configfs: the device then shows 0000.
    std::expected<void, std::string> create(const DeviceIdentity& identity);
    std::expected<void, std::string> bind(const std::string& udc);
    std::expected<void, std::string> unbind();
    bool bound() const { return bound_; }

    const std::string& ffs_dir() const { return ffs_dir_; }

    // The UDCs the kernel offers (/sys/class/udc), sorted.
    static std::vector<std::string> list_udcs();

private:
    void destroy();

    std::string root_;  // CONFIGFS/usb_gadget/NAME
    std::string name_;
    std::string ffs_dir_;
    bool created_ = false;
    bool mounted_ = false;
    bool bound_ = false;
};

}  // namespace ccidkit::gadget

// A cheap fingerprint of the USB devices present, for polling without a full enumeration.
//
// Where libusb gets no hotplug events (no udev daemon), the reader monitor polls. A full scan
// creates a libusb context and reads every device's descriptors: too much to repeat every
// second on a small system. The signature is one directory listing plus one small file per
// device (sysfs, no device I/O); the monitor enumerates only when it changed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace ccidkit::ccid::usb {

inline constexpr const char* kSysfsUsbDevices = "/sys/bus/usb/devices";

// Every device directory under `root` (interfaces, "1-1:1.0", are skipped) with its devnum, in
// name order: a device plugged, unplugged or re-plugged at the same port (a new devnum)
// changes it. nullopt when `root` cannot be listed: the caller then always enumerates.
std::optional<std::string> usb_bus_signature(const std::filesystem::path& root = kSysfsUsbDevices);

}  // namespace ccidkit::ccid::usb

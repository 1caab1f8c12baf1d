// Compares two enumerations of reader candidates: what appeared, what disappeared. Pure; the
// hotplug monitor uses it for libusb hotplug events and for polling alike.
#pragma once

#include <vector>

#include "ccid/usb/usb_reader_candidate.h"

namespace ccidkit::ccid::usb {

struct ReaderChanges {
    std::vector<UsbReaderCandidate> removed;  // from `before`, in its order
    std::vector<UsbReaderCandidate> added;    // from `after`, in its order
    // `after` with every reader that was already known replaced by its `before` entry (which
    // keeps the strings read when it first appeared). Duplicate keys appear once.
    std::vector<UsbReaderCandidate> current;
};

// Readers are matched by key_of(): the same interface of the same plugged-in device.
ReaderChanges diff_readers(const std::vector<UsbReaderCandidate>& before, const std::vector<UsbReaderCandidate>& after);

}  // namespace ccidkit::ccid::usb

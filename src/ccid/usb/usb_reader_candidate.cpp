#include "ccid/usb/usb_reader_candidate.h"

#include <fmt/format.h>

namespace ccidkit::ccid::usb {

std::string location_name(const UsbReaderCandidate& c) {
    std::string out = fmt::format("{}-", c.bus);
    if (c.port_path.empty()) {
        out += fmt::format("@{}", c.address);
    } else {
        for (std::size_t i = 0; i < c.port_path.size(); ++i) {
            if (i != 0) out.push_back('.');
            out += fmt::format("{}", c.port_path[i]);
        }
    }
    out += fmt::format(":{}.{}", c.configuration_value, c.interface_number);
    return out;
}

ReaderKey key_of(const UsbReaderCandidate& c) {
    return ReaderKey{c.bus, c.address, c.interface_number, c.vendor_id, c.product_id};
}

}  // namespace ccidkit::ccid::usb

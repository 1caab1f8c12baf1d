#include "ffs_descriptors.h"

#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>

#include <algorithm>

namespace ccidkit::gadget {

namespace {

void put_le16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put_le32(Bytes& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void set_le32(Bytes& out, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

void put_endpoint(Bytes& out, std::uint8_t address, std::uint8_t attributes, std::uint16_t max_packet,
                  std::uint8_t interval) {
    out.push_back(USB_DT_ENDPOINT_SIZE);
    out.push_back(USB_DT_ENDPOINT);
    out.push_back(address);
    out.push_back(attributes);
    put_le16(out, max_packet);
    out.push_back(interval);
}

// One speed's set: interface, class descriptor, endpoints. Returns the descriptor count.
std::uint32_t put_speed_set(Bytes& out, const InterfaceLayout& layout, bool high_speed) {
    const std::uint8_t endpoints = layout.interrupt_in ? 3 : 2;
    out.push_back(USB_DT_INTERFACE_SIZE);
    out.push_back(USB_DT_INTERFACE);
    out.push_back(0);  // bInterfaceNumber: FunctionFS maps it to the real one
    out.push_back(0);  // bAlternateSetting
    out.push_back(endpoints);
    out.push_back(0x0B);  // bInterfaceClass: Smart Card (CCID 4.3)
    out.push_back(0);     // bInterfaceSubClass
    out.push_back(0);     // bInterfaceProtocol: bulk transfers (CCID 4.3)
    out.push_back(layout.interface_name.empty() ? 0 : 1);
    out.insert(out.end(), layout.class_descriptor.begin(), layout.class_descriptor.end());

    // Bulk: 64 bytes at full speed, 512 at high speed (USB 2.0 5.8.3). Interrupt polling
    // every 4 ms: bInterval in frames at full speed, 2^(n-1) microframes at high speed.
    const std::uint16_t bulk = high_speed ? 512 : 64;
    put_endpoint(out, USB_DIR_OUT | 1, USB_ENDPOINT_XFER_BULK, bulk, 0);
    put_endpoint(out, USB_DIR_IN | 2, USB_ENDPOINT_XFER_BULK, bulk, 0);
    if (layout.interrupt_in) {
        put_endpoint(out, USB_DIR_IN | 3, USB_ENDPOINT_XFER_INT, layout.interrupt_max_packet, high_speed ? 6 : 4);
    }
    return 2u + endpoints;
}

}  // namespace

std::uint16_t interrupt_packet_size(unsigned slots) {
    const unsigned notify = 1 + (2 * slots + 7) / 8;
    return static_cast<std::uint16_t>(std::max(8u, notify));
}

Bytes ffs_descriptors(const InterfaceLayout& layout) {
    Bytes out;
    put_le32(out, FUNCTIONFS_DESCRIPTORS_MAGIC_V2);
    put_le32(out, 0);  // length, set below
    put_le32(out, FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC);
    const std::size_t counts = out.size();
    put_le32(out, 0);  // fs_count
    put_le32(out, 0);  // hs_count
    set_le32(out, counts, put_speed_set(out, layout, false));
    set_le32(out, counts + 4, put_speed_set(out, layout, true));
    set_le32(out, 4, static_cast<std::uint32_t>(out.size()));
    return out;
}

Bytes ffs_strings(const InterfaceLayout& layout) {
    Bytes out;
    put_le32(out, FUNCTIONFS_STRINGS_MAGIC);
    put_le32(out, 0);  // length, set below
    const bool has = !layout.interface_name.empty();
    put_le32(out, has ? 1 : 0);  // str_count
    put_le32(out, has ? 1 : 0);  // lang_count
    if (has) {
        put_le16(out, 0x0409);  // en-US
        out.insert(out.end(), layout.interface_name.begin(), layout.interface_name.end());
        out.push_back(0);
    }
    set_le32(out, 4, static_cast<std::uint32_t>(out.size()));
    return out;
}

}  // namespace ccidkit::gadget

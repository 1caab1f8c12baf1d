#include "ccid/pcapng_usbmon.h"

#include <cerrno>
#include <cstring>

namespace ccidkit::ccid::pcapng {
namespace {

void store_le64(std::uint8_t* p, std::uint64_t v) {
    store_le32(p, static_cast<std::uint32_t>(v));
    store_le32(p + 4, static_cast<std::uint32_t>(v >> 32));
}

// Offsets in struct usbmon_packet.
namespace off {
inline constexpr std::size_t id = 0;
inline constexpr std::size_t type = 8;
inline constexpr std::size_t xfer_type = 9;
inline constexpr std::size_t epnum = 10;
inline constexpr std::size_t devnum = 11;
inline constexpr std::size_t busnum = 12;
inline constexpr std::size_t flag_setup = 14;
inline constexpr std::size_t flag_data = 15;
inline constexpr std::size_t ts_sec = 16;
inline constexpr std::size_t ts_usec = 24;
inline constexpr std::size_t status = 28;
inline constexpr std::size_t length = 32;
inline constexpr std::size_t len_cap = 36;
inline constexpr std::size_t setup = 40;
inline constexpr std::size_t interval = 48;
inline constexpr std::size_t start_frame = 52;
inline constexpr std::size_t xfer_flags = 56;
inline constexpr std::size_t ndesc = 60;
}  // namespace off

}  // namespace

Bytes encode_usbmon(const UsbmonPacket& p) {
    // Sized once: header then data (GCC 12 misreads an insert after a fixed-size header).
    Bytes out(kUsbmonHeaderLength + p.data.size(), 0);
    std::uint8_t* h = out.data();
    const bool in = (p.endpoint & 0x80) != 0;

    store_le64(h + off::id, p.urb_id);
    h[off::type] = static_cast<std::uint8_t>(p.event);
    h[off::xfer_type] = static_cast<std::uint8_t>(p.transfer);
    h[off::epnum] = p.endpoint;
    h[off::devnum] = p.device;
    store_le16(h + off::busnum, p.bus);
    // Flags are 0 when the item is present, otherwise a character saying why not.
    h[off::flag_setup] = p.setup ? 0 : '-';
    if (!p.data.empty()) {
        h[off::flag_data] = 0;
    } else if (in && p.event == UrbEvent::Submit) {
        h[off::flag_data] = '<';
    } else if (!in && p.event == UrbEvent::Complete) {
        h[off::flag_data] = '>';
    } else {
        h[off::flag_data] = 0;
    }
    const auto us = p.timestamp.count();
    const std::int64_t sec = us >= 0 ? us / 1'000'000 : 0;
    const std::int32_t usec = us >= 0 ? static_cast<std::int32_t>(us % 1'000'000) : 0;
    store_le64(h + off::ts_sec, static_cast<std::uint64_t>(sec));
    store_le32(h + off::ts_usec, static_cast<std::uint32_t>(usec));
    store_le32(h + off::status, static_cast<std::uint32_t>(p.status));
    store_le32(h + off::length, p.urb_length);
    store_le32(h + off::len_cap, static_cast<std::uint32_t>(p.data.size()));
    if (p.setup) {
        for (std::size_t i = 0; i < 8; ++i) h[off::setup + i] = (*p.setup)[i];
    }
    store_le32(h + off::interval, static_cast<std::uint32_t>(p.interval));
    store_le32(h + off::start_frame, 0);
    store_le32(h + off::xfer_flags, in ? kUrbDirIn : 0);
    store_le32(h + off::ndesc, 0);

    if (!p.data.empty()) std::memcpy(out.data() + kUsbmonHeaderLength, p.data.data(), p.data.size());
    return out;
}

std::array<std::uint8_t, 8> setup_packet(const ControlSetup& setup, std::uint16_t length) {
    std::array<std::uint8_t, 8> s{};
    s[0] = setup.request_type;
    s[1] = setup.request;
    store_le16(s.data() + 2, setup.value);
    store_le16(s.data() + 4, setup.index);
    store_le16(s.data() + 6, length);
    return s;
}

std::int32_t urb_status(TransportError e) {
    // What the Linux host controller drivers report (Documentation/driver-api/usb/error-codes.rst).
    switch (e) {
        case TransportError::Timeout:  // libusb cancels the URB at its timeout: killed
        case TransportError::Cancelled: return -ENOENT;
        case TransportError::NoDevice: return -ENODEV;
        case TransportError::Stall: return -EPIPE;
        case TransportError::Overflow: return -EOVERFLOW;
        case TransportError::Busy: return -EBUSY;
        case TransportError::Access: return -EACCES;
        case TransportError::NotSupported: return -EOPNOTSUPP;
        case TransportError::Io: return -EPROTO;
    }
    return -EIO;
}

}  // namespace ccidkit::ccid::pcapng

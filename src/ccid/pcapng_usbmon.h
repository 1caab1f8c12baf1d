// USB packets in the Linux usbmon binary format (Documentation/usb/usbmon.rst, "struct
// usbmon_packet", 64 bytes, pcap LINKTYPE_USB_LINUX_MMAPPED = 220): one packet when a URB is
// submitted ('S') and one when it completes ('C'), so captures written by ccidkit look like
// a `usbmon` capture of the same traffic and Wireshark's USB and USB CCID dissectors decode
// them. Multi-byte header fields are little-endian (the byte order of the pcapng section).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "ccid/transport.h"
#include "common/bytes.h"

namespace ccidkit::ccid::pcapng {

inline constexpr std::size_t kUsbmonHeaderLength = 64;

enum class UrbEvent : std::uint8_t { Submit = 'S', Complete = 'C', Error = 'E' };

// usbmon transfer types (not the USB bmAttributes numbering).
enum class UrbTransfer : std::uint8_t { Isochronous = 0, Interrupt = 1, Control = 2, Bulk = 3 };

// URB status of a submission: the kernel reports -EINPROGRESS until completion.
inline constexpr std::int32_t kUrbInProgress = -115;
// URB transfer flag set on every IN URB by the kernel (URB_DIR_IN).
inline constexpr std::uint32_t kUrbDirIn = 0x0200;

struct UsbmonPacket {
    std::uint64_t urb_id = 0;  // pairs a submission with its completion
    UrbEvent event = UrbEvent::Submit;
    UrbTransfer transfer = UrbTransfer::Bulk;
    std::uint8_t endpoint = 0;  // bEndpointAddress: number | 0x80 for IN
    std::uint8_t device = 1;    // device address on the bus
    std::uint16_t bus = 1;
    std::optional<std::array<std::uint8_t, 8>> setup;  // control submissions only
    std::chrono::microseconds timestamp{0};            // since the Unix epoch
    std::int32_t status = 0;                           // 0 or a negative errno
    std::uint32_t urb_length = 0;                      // requested length (submit) or actual length (complete)
    ByteView data;                                     // the bytes captured with this event
    std::int32_t interval = 0;                         // polling interval of interrupt endpoints
};

// The 64-byte header followed by the data. The "data present" flag and the direction
// character ('<' for an IN submission, '>' for an OUT completion) follow usbmon.
Bytes encode_usbmon(const UsbmonPacket& packet);

// The 8 bytes of a USB SETUP packet (USB 2.0 clause 9.3).
std::array<std::uint8_t, 8> setup_packet(const ControlSetup& setup, std::uint16_t length);

// The URB completion status the kernel would report for a transfer that failed this way.
std::int32_t urb_status(TransportError e);

}  // namespace ccidkit::ccid::pcapng

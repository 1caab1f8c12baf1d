// The two blobs a FunctionFS function writes to ep0 before it can be bound
// (linux/usb/functionfs.h): the descriptors (v2 format, full-speed and high-speed sets) and the
// strings. The device and configuration descriptors belong to the configfs gadget; these are
// the interface, the CCID class descriptor and the endpoints (CCID Rev 1.1 sections 4 and 5).
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"

namespace ccidkit::gadget {

struct InterfaceLayout {
    Bytes class_descriptor;  // exactly 54 bytes, type 0x21 (the kernel refuses anything else)
    bool interrupt_in = true;
    std::uint16_t interrupt_max_packet = 8;
    std::string interface_name;  // iInterface; empty: none
};

// Endpoint files appear in the FunctionFS mount in this order: ep1 = bulk OUT, ep2 = bulk IN,
// ep3 = interrupt IN. The addresses written here are only requests: the UDC's autoconfig
// renumbers them, so the host must read them from the configuration descriptor.
inline constexpr int kEpBulkOut = 1;
inline constexpr int kEpBulkIn = 2;
inline constexpr int kEpInterruptIn = 3;

Bytes ffs_descriptors(const InterfaceLayout& layout);
Bytes ffs_strings(const InterfaceLayout& layout);

// wMaxPacketSize that holds both RDR_to_PC_NotifySlotChange for `slots` slots (1 + 2 bits per
// slot, CCID 6.3.1) and RDR_to_PC_HardwareError (4 bytes, 6.3.2); at least 8.
std::uint16_t interrupt_packet_size(unsigned slots);

}  // namespace ccidkit::gadget

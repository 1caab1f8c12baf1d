// Interrupt-IN messages (CCID Rev 1.1 section 6.3): slot change notification and hardware error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <variant>
#include <vector>

#include "ccid/message_decode_error.h"
#include "common/bytes.h"

namespace ccidkit::ccid {

namespace rdr_to_pc {

// Two bits per slot in bmSlotICCState, slot 0 in the low bits of the first byte (6.3.1).
struct SlotChange {
    bool present = false;  // current state: card present
    bool changed = false;  // state changed since the last notification
    bool operator==(const SlotChange&) const = default;
};

struct NotifySlotChange {  // 50h
    std::vector<SlotChange> slots;  // index = slot number
    bool operator==(const NotifySlotChange&) const = default;
};

struct HardwareError {  // 51h, 6.3.2
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;  // sequence number of the command running when the error occurred
    std::uint8_t bHardwareErrorCode = 0x01;  // see HardwareErrorCode (01h overcurrent)
    bool operator==(const HardwareError&) const = default;
};

}  // namespace rdr_to_pc

using InterruptMessage = std::variant<rdr_to_pc::NotifySlotChange, rdr_to_pc::HardwareError>;

inline constexpr std::size_t kHardwareErrorSize = 4;

// Bitmap padded to whole bytes (unused pairs are 0). At most kMaxSlots slots are encoded.
Bytes encode(const rdr_to_pc::NotifySlotChange& m);
Bytes encode(const rdr_to_pc::HardwareError& m);
Bytes encode(const InterruptMessage& m);

// `slot_count` (bMaxSlotIndex + 1) asks for exactly that many slots and fails if the bitmap is
// shorter; 0 decodes every slot the bitmap holds (4 per byte). Either way at most kMaxSlots
// slots are decoded and further bytes are ignored.
std::expected<InterruptMessage, DecodeError> decode_interrupt(ByteView message, std::size_t slot_count = 0);

}  // namespace ccidkit::ccid

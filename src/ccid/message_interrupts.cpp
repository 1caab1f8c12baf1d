#include "ccid/message_interrupts.h"

#include <algorithm>

#include "ccid/message_types.h"

namespace ccidkit::ccid {

namespace {
constexpr std::size_t kSlotsPerByte = 4;
constexpr std::size_t kMaxBitmapBytes = kMaxSlots / kSlotsPerByte;
}  // namespace

Bytes encode(const rdr_to_pc::NotifySlotChange& m) {
    const std::size_t slots = std::min(m.slots.size(), kMaxSlots);
    Bytes out(1 + (slots + kSlotsPerByte - 1) / kSlotsPerByte, 0);
    out[0] = static_cast<std::uint8_t>(MessageType::RdrToPcNotifySlotChange);
    for (std::size_t i = 0; i < slots; ++i) {
        const unsigned bits = (m.slots[i].present ? 1u : 0u) | (m.slots[i].changed ? 2u : 0u);
        out[1 + i / kSlotsPerByte] |= static_cast<std::uint8_t>(bits << (2 * (i % kSlotsPerByte)));
    }
    return out;
}

Bytes encode(const rdr_to_pc::HardwareError& m) {
    return {static_cast<std::uint8_t>(MessageType::RdrToPcHardwareError), m.bSlot, m.bSeq, m.bHardwareErrorCode};
}

Bytes encode(const InterruptMessage& m) {
    return std::visit([](const auto& msg) { return encode(msg); }, m);
}

std::expected<InterruptMessage, DecodeError> decode_interrupt(ByteView message, std::size_t slot_count) {
    if (message.empty()) return std::unexpected(DecodeError::TooShort);
    const auto type = to_message_type(message[0]);
    if (!type) return std::unexpected(DecodeError::UnknownMessageType);

    if (*type == MessageType::RdrToPcNotifySlotChange) {
        const ByteView bitmap = message.subspan(1, std::min(message.size() - 1, kMaxBitmapBytes));
        if (bitmap.empty()) return std::unexpected(DecodeError::MissingSlotBitmap);
        const std::size_t available = bitmap.size() * kSlotsPerByte;
        std::size_t wanted = available;
        if (slot_count != 0) {
            wanted = std::min(slot_count, kMaxSlots);
            if (wanted > available) return std::unexpected(DecodeError::SlotBitmapTooShort);
        }
        rdr_to_pc::NotifySlotChange notify;
        notify.slots.reserve(wanted);
        for (std::size_t i = 0; i < wanted; ++i) {
            const unsigned bits = bitmap[i / kSlotsPerByte] >> (2 * (i % kSlotsPerByte));
            notify.slots.push_back({(bits & 1u) != 0, (bits & 2u) != 0});
        }
        return notify;
    }
    if (*type == MessageType::RdrToPcHardwareError) {
        if (message.size() < kHardwareErrorSize) return std::unexpected(DecodeError::TooShort);
        if (message.size() > kHardwareErrorSize) return std::unexpected(DecodeError::BadInterruptLength);
        return rdr_to_pc::HardwareError{message[1], message[2], message[3]};
    }
    return std::unexpected(DecodeError::UnexpectedMessageType);
}

}  // namespace ccidkit::ccid

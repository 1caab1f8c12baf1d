// Interrupt-IN messages (CCID Rev 1.1 section 6.3).
#include <gtest/gtest.h>

#include <random>

#include "ccid/message_interrupts.h"
#include "ccid/message_types.h"

namespace ccidkit::ccid {
namespace {

using rdr_to_pc::HardwareError;
using rdr_to_pc::NotifySlotChange;
using rdr_to_pc::SlotChange;

Bytes hex(std::string_view text) {
    auto bytes = from_hex(text);
    EXPECT_TRUE(bytes.has_value()) << text;
    return bytes.value_or(Bytes{});
}

NotifySlotChange notify_of(const Bytes& wire, std::size_t slot_count = 0) {
    auto decoded = decode_interrupt(wire, slot_count);
    EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : to_string(decoded.error()));
    if (!decoded || !std::holds_alternative<NotifySlotChange>(*decoded)) return {};
    return std::get<NotifySlotChange>(*decoded);
}

TEST(MessageInterrupt, NotifySlotChangeSingleSlot) {
    // 50h, bmSlotICCState 03h: slot 0 bit 0 (card present) and bit 1 (changed).
    const auto n = notify_of(hex("50 03"), 1);
    ASSERT_EQ(n.slots.size(), 1u);
    EXPECT_EQ(n.slots[0], (SlotChange{true, true}));
    EXPECT_EQ(encode(n), hex("50 03"));
}

TEST(MessageInterrupt, NotifySlotChangeRemovalAndPairs) {
    // 0Dh = 00 00 11 01b: slot 0 present unchanged, slot 1 present changed, slots 2-3 absent.
    const auto n = notify_of(hex("50 0D"));
    ASSERT_EQ(n.slots.size(), 4u);
    EXPECT_EQ(n.slots[0], (SlotChange{true, false}));
    EXPECT_EQ(n.slots[1], (SlotChange{true, true}));
    EXPECT_EQ(n.slots[2], (SlotChange{false, false}));
    EXPECT_EQ(n.slots[3], (SlotChange{false, false}));
    // 02h: slot 0 removed (absent, changed).
    EXPECT_EQ(notify_of(hex("50 02"), 1).slots[0], (SlotChange{false, true}));
}

TEST(MessageInterrupt, NotifySlotChangeAcrossBytes) {
    // Slot 8 is bits 0-1 of the third bitmap byte.
    const auto n = notify_of(hex("50 02 00 01"), 9);
    ASSERT_EQ(n.slots.size(), 9u);
    EXPECT_EQ(n.slots[0], (SlotChange{false, true}));
    for (int i = 1; i < 8; ++i) EXPECT_EQ(n.slots[i], (SlotChange{})) << i;
    EXPECT_EQ(n.slots[8], (SlotChange{true, false}));
    EXPECT_EQ(notify_of(hex("50 80"), 4).slots[3], (SlotChange{false, true}));
    EXPECT_EQ(notify_of(hex("50 C0"), 4).slots[3], (SlotChange{true, true}));
}

TEST(MessageInterrupt, NotifySlotChangeHostileSizes) {
    EXPECT_EQ(decode_interrupt(hex("50")).error(), DecodeError::MissingSlotBitmap);
    EXPECT_EQ(decode_interrupt(hex("50 FF"), 5).error(), DecodeError::SlotBitmapTooShort);
    // Far more bitmap than any reader can have slots: bounded at 256 slots.
    Bytes huge(5000, 0xFF);
    huge[0] = 0x50;
    EXPECT_EQ(notify_of(huge).slots.size(), kMaxSlots);
    EXPECT_EQ(notify_of(huge, 100000).slots.size(), kMaxSlots);
    EXPECT_EQ(notify_of(huge, 3).slots.size(), 3u);
    for (const auto& s : notify_of(huge).slots) EXPECT_EQ(s, (SlotChange{true, true}));
    // Extra bytes beyond the slots asked for are ignored.
    EXPECT_EQ(notify_of(hex("50 01 FF FF"), 1).slots.size(), 1u);
}

TEST(MessageInterrupt, NotifySlotChangeRoundTripsForEverySlotCount) {
    std::mt19937 rng(7);
    for (std::size_t count = 1; count <= 17; ++count) {
        NotifySlotChange n;
        for (std::size_t i = 0; i < count; ++i) n.slots.push_back({(rng() & 1) != 0, (rng() & 1) != 0});
        const Bytes wire = encode(n);
        EXPECT_EQ(wire.size(), 1 + (count + 3) / 4);
        EXPECT_EQ(notify_of(wire, count), n) << count;
        // Without a slot count the padding slots come back empty.
        const auto padded = notify_of(wire);
        EXPECT_EQ(padded.slots.size(), 4 * (wire.size() - 1));
        for (std::size_t i = count; i < padded.slots.size(); ++i) EXPECT_EQ(padded.slots[i], (SlotChange{}));
    }
}

TEST(MessageInterrupt, NotifySlotChangeEncodeIsBounded) {
    NotifySlotChange n;
    n.slots.assign(300, SlotChange{true, false});
    EXPECT_EQ(encode(n).size(), 1 + kMaxSlots / 4);
}

TEST(MessageInterrupt, HardwareErrorLayout) {
    // 51h, bSlot, bSeq, bHardwareErrorCode 01h (overcurrent), 6.3.2.
    const Bytes wire = hex("51 00 07 01");
    auto decoded = decode_interrupt(wire);
    ASSERT_TRUE(decoded.has_value());
    ASSERT_TRUE(std::holds_alternative<HardwareError>(*decoded));
    const auto& h = std::get<HardwareError>(*decoded);
    EXPECT_EQ(h.bSlot, 0);
    EXPECT_EQ(h.bSeq, 7);
    EXPECT_EQ(static_cast<HardwareErrorCode>(h.bHardwareErrorCode), HardwareErrorCode::Overcurrent);
    EXPECT_EQ(encode(InterruptMessage{h}), wire);
    EXPECT_EQ(encode(HardwareError{3, 0xFE, 0x01}), hex("51 03 FE 01"));
}

TEST(MessageInterrupt, HardwareErrorHostileSizes) {
    EXPECT_EQ(decode_interrupt(hex("51")).error(), DecodeError::TooShort);
    EXPECT_EQ(decode_interrupt(hex("51 00 07")).error(), DecodeError::TooShort);
    EXPECT_EQ(decode_interrupt(hex("51 00 07 01 00")).error(), DecodeError::BadInterruptLength);
}

TEST(MessageInterrupt, OtherMessagesAreRejected) {
    EXPECT_EQ(decode_interrupt({}).error(), DecodeError::TooShort);
    EXPECT_EQ(decode_interrupt(hex("52 00")).error(), DecodeError::UnknownMessageType);
    EXPECT_EQ(decode_interrupt(hex("80 00000000 00 00 000000")).error(), DecodeError::UnexpectedMessageType);
    EXPECT_EQ(decode_interrupt(hex("65 00000000 00 00 000000")).error(), DecodeError::UnexpectedMessageType);
}

}  // namespace
}  // namespace ccidkit::ccid

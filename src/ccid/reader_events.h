// Card events of a reader as poll_events() reports them (CCID Rev 1.1 section 6.3: the
// interrupt pipe's RDR_to_PC_NotifySlotChange and RDR_to_PC_HardwareError, or the same
// information gathered with PC_to_RDR_GetSlotStatus when there is no usable interrupt pipe).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace ccidkit::ccid {

struct SlotEvent {
    std::uint8_t slot = 0;
    bool present = false;  // card present now
    bool changed = false;  // presence changed since the previous report (or the reader says so)
    bool operator==(const SlotEvent&) const = default;
};

struct HardwareFault {
    std::uint8_t slot = 0;
    std::uint8_t seq = 0;   // bSeq of the command running when it happened
    std::uint8_t code = 0;  // bHardwareErrorCode (01h overcurrent)
    // bSeq names a command sent before the slot's last power-on: the error was read late (the
    // new session is not affected, the driver leaves it alone). Reported for the record.
    bool stale = false;
    bool operator==(const HardwareFault&) const = default;
};

enum class EventSource : std::uint8_t { Interrupt, Polling };

struct ReaderEvents {
    std::vector<SlotEvent> slots;
    std::vector<HardwareFault> hardware_faults;
    EventSource source = EventSource::Polling;
    bool empty() const { return slots.empty() && hardware_faults.empty(); }
};

}  // namespace ccidkit::ccid

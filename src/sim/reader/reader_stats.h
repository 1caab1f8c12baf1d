// What ReaderSim saw and did, for tests: message counts per type, the last command and reply,
// and counters of the notable events. A snapshot is returned by value (ReaderSim::stats()).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "ccid/message_commands.h"
#include "ccid/message_types.h"
#include "common/bytes.h"

namespace ccidkit::sim {

struct ReaderStats {
    // Indexed by the bMessageType byte: bulk-OUT messages received (malformed ones included),
    // bulk-IN messages queued (time extensions and injected stale copies included) and
    // interrupt messages delivered.
    std::array<std::size_t, 256> received{};
    std::array<std::size_t, 256> replied{};
    std::array<std::size_t, 256> interrupts{};

    std::size_t time_extensions = 0;   // bmCommandStatus = 2 replies
    std::size_t malformed = 0;         // bulk-OUT messages that failed to decode
    std::size_t ignored = 0;           // shorter than a header: no reply possible
    std::size_t busy = 0;              // CMD_SLOT_BUSY replies
    std::size_t aborted = 0;           // commands ended with CMD_ABORTED
    std::size_t control_requests = 0;  // class requests received (answered or stalled)
    std::size_t faults_applied = 0;    // replies altered or dropped by ReaderFaults
    std::size_t stalls = 0;            // bulk_in calls answered with Stall

    Bytes last_command;                        // the last bulk-OUT message, raw
    std::optional<ccid::Command> last_decoded;  // and its decode when it had one
    Bytes last_reply;                          // the last bulk-IN message delivered

    std::size_t count(ccid::MessageType type) const {
        const auto i = static_cast<std::uint8_t>(type);
        switch (ccid::pipe_of(type)) {
            case ccid::Pipe::BulkOut: return received[i];
            case ccid::Pipe::BulkIn: return replied[i];
            case ccid::Pipe::InterruptIn: return interrupts[i];
        }
        return 0;
    }
};

enum class TraceEvent : std::uint8_t { BulkOut, BulkIn, InterruptIn, ControlIn, ControlOut };

// Called for every message crossing the simulated USB interface, under ReaderSim's lock: the
// hook must not call back into the simulator.
using TraceHook = std::function<void(TraceEvent, ByteView)>;

}  // namespace ccidkit::sim

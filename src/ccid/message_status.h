// bStatus and bError, the two status bytes every RDR_to_PC bulk message carries
// (CCID Rev 1.1 section 6.2.6).
#pragma once

#include <cstdint>
#include <optional>

#include "ccid/message_types.h"
#include "ccid/slot_error.h"

namespace ccidkit::ccid {

struct Status {
    std::uint8_t bStatus = 0;  // bits 0-1 bmICCStatus, 2-5 RFU, 6-7 bmCommandStatus
    std::uint8_t bError = 0;

    static constexpr Status make(IccStatus icc, CommandStatus command, std::uint8_t error = 0) {
        return Status{static_cast<std::uint8_t>(static_cast<unsigned>(icc) | (static_cast<unsigned>(command) << 6)),
                      error};
    }

    IccStatus icc() const { return static_cast<IccStatus>(bStatus & 0x03); }
    CommandStatus command() const { return static_cast<CommandStatus>(bStatus >> 6); }
    bool ok() const { return command() == CommandStatus::Ok; }

    // The decoded bError when the command failed (bmCommandStatus = 1), otherwise nullopt.
    std::optional<SlotError> error() const {
        if (command() != CommandStatus::Failed) return std::nullopt;
        return classify_slot_error(bError);
    }

    // When the reader asks for more time (bmCommandStatus = 2) bError is not an error but the
    // multiplier of the waiting time it needs; nullopt otherwise.
    std::optional<std::uint8_t> time_extension_multiplier() const {
        if (command() != CommandStatus::TimeExtension) return std::nullopt;
        return bError;
    }

    bool operator==(const Status&) const = default;
};

}  // namespace ccidkit::ccid

// Building RDR_to_PC replies in the simulator: which reply type answers which command
// (CCID Rev 1.1 6.2, table 6.2-1), failures and time extensions of the right type echoing
// bSlot / bSeq, and the bError a card-side failure becomes.
#pragma once

#include <cstdint>

#include "ccid/message_responses.h"
#include "ccid/message_types.h"
#include "common/bytes.h"
#include "sim/card/sim_card.h"

namespace ccidkit::sim {

// The RDR_to_PC type answering a PC_to_RDR type byte; SlotStatus for unknown bytes, as CCID 6.2
// asks for a command the reader does not support.
ccid::MessageType reply_type_for(std::uint8_t command_type);

// A reply of the type answering `command_type`, with the given status and no payload.
ccid::Response status_reply(std::uint8_t command_type, std::uint8_t slot, std::uint8_t seq, ccid::Status status);

inline ccid::Response failure_reply(std::uint8_t command_type, std::uint8_t slot, std::uint8_t seq,
                                    ccid::IccStatus icc, std::uint8_t error) {
    return status_reply(command_type, slot, seq, ccid::Status::make(icc, ccid::CommandStatus::Failed, error));
}

// bmCommandStatus = 2, bError = multiplier (6.2.6).
inline ccid::Response time_extension_reply(std::uint8_t command_type, std::uint8_t slot, std::uint8_t seq,
                                           ccid::IccStatus icc, std::uint8_t multiplier) {
    return status_reply(command_type, slot, seq,
                        ccid::Status::make(icc, ccid::CommandStatus::TimeExtension, multiplier));
}

// bError for a card-side failure.
std::uint8_t slot_error_for(CardError e);

}  // namespace ccidkit::sim

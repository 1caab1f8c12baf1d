// One CCID command and its reply on the bulk pipes (CCID Rev 1.1 sections 5.2 and 6): bSeq
// allocation, reply matching, time extensions, and the ABORT sequence after a timeout.
//
// Matching (6.1, 6.2): a reply belongs to the command when bSlot and bSeq both match. Anything
// else is a stale reply (to an earlier, timed-out command, or left from before open) and is
// dropped, at most ExchangeLimits::max_stale_replies times per command.
// Time extension (6.2.6, bmCommandStatus = 2): the reader needs more time; bError is the
// multiplier of the waiting time. Each such reply restarts the wait at timeout * multiplier,
// and the whole command never waits longer than max_total_wait nor accepts more than
// max_time_extensions of them.
// Timeout: the reader is sent the ABORT class request and PC_to_RDR_Abort (5.3.1, 6.1.13) so
// that the slot is usable again, and the caller gets ReaderErrc::Timeout.
// Recoveries: a stalled bulk-IN endpoint is cleared (clear_halt) and read again, at most twice
// per command; a CMD_SLOT_BUSY reply (another command still running, e.g. one left from
// before open) is followed by draining bulk-IN and one more attempt with a fresh bSeq.
//
// Not thread-safe: the Reader serialises calls with its wire mutex (see reader.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>

#include "ccid/message_commands.h"
#include "ccid/message_responses.h"
#include "ccid/reader_error.h"
#include "ccid/transport.h"
#include "common/bytes.h"

namespace ccidkit::ccid {

struct ExchangeLimits {
    std::size_t max_stale_replies = 16;        // per command (libccid drops up to 10)
    unsigned max_time_extensions = 1000;       // per command
    Millis max_total_wait{5 * 60 * 1000};      // per command, time extensions included
    Millis abort_timeout{1000};                // wait for the PC_to_RDR_Abort reply
    bool abort_on_timeout = true;
    // Tell the transport before each command that its reply will be read next
    // (Transport::prepare_bulk_in). Off with the no_bulk_in_read_ahead quirk.
    bool read_ahead = true;
};

struct ExchangeStats {
    std::size_t commands = 0;
    std::size_t stale_replies = 0;      // dropped: wrong bSeq/bSlot, or not even a header
    std::size_t time_extensions = 0;
    std::size_t aborts = 0;             // ABORT sequences started
    std::size_t malformed_replies = 0;
    std::size_t busy_retries = 0;       // commands sent again after CMD_SLOT_BUSY
};

// The RDR_to_PC type that answers a command (6.1: each command names its response).
MessageType reply_type_for(MessageType command);

class Exchange {
public:
    Exchange(Transport& transport, std::size_t max_message_length, ExchangeLimits limits = {});

    // Sends `command` (its bSeq is replaced by a fresh one) and waits up to `timeout` for the
    // reply, which is returned whatever its bmCommandStatus (callers judge failures).
    std::expected<Response, ReaderError> transact(Command command, Millis timeout);

    // The ABORT sequence for `slot`: class request ABORT then PC_to_RDR_Abort with the same
    // bSlot/bSeq, and the reader's SlotStatus to it.
    std::expected<void, ReaderError> abort(std::uint8_t slot, Millis timeout);

    // Reads and drops whatever the reader still has queued on bulk-IN (stale replies), until a
    // read times out or `max_messages` were dropped. Returns how many were dropped.
    std::size_t drain_bulk_in(Millis per_read, std::size_t max_messages);

    const ExchangeStats& stats() const { return stats_; }
    const ExchangeLimits& limits() const { return limits_; }
    std::size_t max_message_length() const { return max_message_length_; }
    // The bSeq the next command will carry.
    std::uint8_t next_seq() const { return seq_; }

private:
    std::expected<Response, ReaderError> receive(std::uint8_t slot, std::uint8_t seq, MessageType command,
                                                 Millis timeout);
    std::expected<void, ReaderError> send(ByteView message, Millis timeout, std::string_view what);
    void after_timeout(std::uint8_t slot);

    Transport& transport_;
    std::size_t max_message_length_;
    ExchangeLimits limits_;
    ExchangeStats stats_;
    std::uint8_t seq_ = 0;
    Bytes buffer_;
};

}  // namespace ccidkit::ccid

// A deliberately naive synchronous host for poking a CCID Transport (ReaderSim or a real
// reader) one message at a time: encode, bulk_out, bulk_in, decode. No retries, no bSeq
// filtering, no recovery: tests and diagnostics use it to see exactly what the device sends.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "ccid/message_commands.h"
#include "ccid/message_decode_error.h"
#include "ccid/message_responses.h"
#include "ccid/transport.h"
#include "common/bytes.h"

namespace ccidkit::sim {

struct ProbeError {
    std::optional<ccid::TransportError> transport;
    std::optional<ccid::DecodeError> decode;
    std::string describe() const;
};

struct ProbeReply {
    std::vector<ccid::Response> time_extensions;  // bmCommandStatus = 2 replies seen first
    ccid::Response reply;                         // the first other reply
    Bytes raw;                                    // its bytes
};

class ReaderProbe {
public:
    // `max_message`: the dwMaxCCIDMessageLength used to decode replies; `buffer`: bytes
    // asked for per bulk_in.
    explicit ReaderProbe(ccid::Transport& transport, std::size_t max_message = 65536 + 20,
                         ccid::Millis timeout = std::chrono::milliseconds(2000), std::size_t buffer = 70000);

    std::expected<void, ProbeError> send(const ccid::Command& command);
    std::expected<void, ProbeError> send_raw(ByteView message);
    std::expected<Bytes, ProbeError> receive_raw();
    std::expected<ccid::Response, ProbeError> receive();
    // send() then receive() until a reply that is not a time extension (at most 10000 of them).
    std::expected<ProbeReply, ProbeError> transact(const ccid::Command& command);

    // 0, 1, 2, ... wrapping at 255.
    std::uint8_t next_seq() { return seq_++; }
    void set_timeout(ccid::Millis timeout) { timeout_ = timeout; }

private:
    ccid::Transport& transport_;
    std::size_t max_message_;
    ccid::Millis timeout_;
    std::size_t buffer_;
    std::uint8_t seq_ = 0;
};

}  // namespace ccidkit::sim

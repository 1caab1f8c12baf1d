// The 10-byte header shared by every CCID bulk message and the length checks around it
// (CCID Rev 1.1 sections 6.1 and 6.2).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>

#include "ccid/message_decode_error.h"
#include "ccid/message_types.h"
#include "common/bytes.h"

namespace ccidkit::ccid {

struct Header {
    std::uint8_t bMessageType = 0;
    std::uint32_t dwLength = 0;  // bytes after the header
    std::uint8_t bSlot = 0;
    std::uint8_t bSeq = 0;
    std::array<std::uint8_t, 3> specific{};  // bytes 7..9, meaning depends on the message

    bool operator==(const Header&) const = default;
};

// Reads the header fields; the only failure is fewer than 10 bytes. The simulator uses this to
// answer a malformed command with the right bSlot/bSeq.
std::expected<Header, DecodeError> decode_header(ByteView message);

// Validates dwLength of a decoded header against the received size and the caller's
// dwMaxCCIDMessageLength (which counts the header, 5.1), and returns the payload bytes.
std::expected<ByteView, DecodeError> checked_payload(const Header& header, ByteView message,
                                                     std::size_t max_message_length);

// Header + payload, with dwLength set from the payload size.
Bytes encode_message(MessageType type, std::uint8_t slot, std::uint8_t seq,
                     const std::array<std::uint8_t, 3>& specific, ByteView payload = {});

}  // namespace ccidkit::ccid

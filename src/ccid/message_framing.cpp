#include "ccid/message_framing.h"

#include <algorithm>

namespace ccidkit::ccid {

std::expected<Header, DecodeError> decode_header(ByteView message) {
    if (message.size() < kHeaderSize) return std::unexpected(DecodeError::TooShort);
    Header h;
    h.bMessageType = message[0];
    h.dwLength = load_le32(&message[1]);
    h.bSlot = message[5];
    h.bSeq = message[6];
    h.specific = {message[7], message[8], message[9]};
    return h;
}

std::expected<ByteView, DecodeError> checked_payload(const Header& header, ByteView message,
                                                     std::size_t max_message_length) {
    // 64-bit sums: dwLength comes from the wire and may be anything up to 2^32-1.
    const std::uint64_t announced = std::uint64_t{kHeaderSize} + header.dwLength;
    if (announced > max_message_length) return std::unexpected(DecodeError::ExceedsMaxLength);
    if (announced > message.size()) return std::unexpected(DecodeError::Truncated);
    if (announced < message.size()) return std::unexpected(DecodeError::TrailingBytes);
    return message.subspan(kHeaderSize, header.dwLength);
}

Bytes encode_message(MessageType type, std::uint8_t slot, std::uint8_t seq,
                     const std::array<std::uint8_t, 3>& specific, ByteView payload) {
    // Built by appending (not by indexing a sized vector): GCC 12 at -O1 mis-reports a null
    // dereference on the indexed form.
    const auto length = static_cast<std::uint32_t>(payload.size());
    Bytes out;
    out.reserve(kHeaderSize + payload.size());
    out.push_back(static_cast<std::uint8_t>(type));
    // A payload beyond 4 GiB cannot be expressed; callers bound messages by
    // dwMaxCCIDMessageLength (at most 64 KiB + header in practice) long before that.
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
    out.insert(out.end(), {slot, seq, specific[0], specific[1], specific[2]});
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

}  // namespace ccidkit::ccid

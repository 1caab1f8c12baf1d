// The wire protocol between a reader simulator process (tools/ccid-simd) and the host side
// (SocketTransport, `ccid-simd ctl`): length-prefixed frames on a Unix stream socket.
//
//   frame   = u32 LE length of what follows, then: u8 op, u32 LE id, body
//   request = any op below Reply, sent by the client; id chosen by the client
//   reply   = op Reply, the id of the request it answers, body: u8 status (0 = done,
//             1 + TransportError otherwise), then the op's result bytes
//
// Transport requests mirror ccid::Transport one to one (timeouts travel as u32 milliseconds and
// the server applies them); Cancel has no reply. Control requests (Insert ... SetFaults) act on
// the simulated reader itself and need no claim. Every length is bounded by kMaxFrameBody, so a
// hostile peer can make neither side allocate without limit. Pure codec: no I/O here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "ccid/transport.h"
#include "common/bytes.h"

namespace ccidkit::ccid::socket {

inline constexpr std::uint16_t kWireVersion = 1;
inline constexpr std::size_t kFrameLengthBytes = 4;
inline constexpr std::size_t kFrameHeadBytes = 5;  // op + id
// A CCID message is at most 65546 + 10 bytes (extended APDU readers); leave room.
inline constexpr std::size_t kMaxFrameBody = 128 * 1024;
// Largest data a request may carry or ask for (bulk, control), below the frame bound.
inline constexpr std::size_t kMaxTransferBytes = kMaxFrameBody - 64;

enum class Op : std::uint8_t {
    // Transport (one handle per connection on the server).
    Hello = 0x01,        // body: u16 version -> HelloInfo
    BulkOut = 0x02,      // u32 timeout, data
    BulkIn = 0x03,       // u32 timeout, u32 max -> data
    InterruptIn = 0x04,  // u32 timeout, u32 max -> data
    ControlIn = 0x05,    // u32 timeout, setup (6), u32 max -> data
    ControlOut = 0x06,   // u32 timeout, setup (6), data
    ClearHalt = 0x07,
    Claim = 0x08,
    Release = 0x09,
    Cancel = 0x0A,       // no reply: wakes this connection's calls in progress
    // Control of the simulated reader (any connection, no claim).
    Insert = 0x40,           // card name (t1, t0, t1-1v8) -> nothing
    Remove = 0x41,
    Status = 0x42,           // -> text
    Unplug = 0x43,           // the server closes every connection and stops
    HardwareError = 0x44,    // u8 code
    SlotChangeStorm = 0x45,  // u32 count
    SetFaults = 0x46,        // text "key=value,..." (see sim/socket/fault_text.h)
    Reply = 0x80,
};

std::string_view to_string(Op op);
bool is_request(std::uint8_t op);

struct Frame {
    Op op = Op::Reply;
    std::uint32_t id = 0;
    Bytes body;
};

enum class WireError {
    Closed,     // the peer closed the connection between two frames
    Truncated,  // the peer closed (or the stream ended) inside a frame
    Oversized,  // a length field beyond kMaxFrameBody
    Malformed,  // a frame or body that does not decode
    Timeout,    // nothing (or not a whole frame) arrived in time
    Io,         // the socket failed
};
std::string_view to_string(WireError e);

// length prefix + head + body. The body must fit kMaxFrameBody - kFrameHeadBytes.
Bytes encode_frame(const Frame& frame);
// The frame length announced by the first kFrameLengthBytes: Oversized or Malformed (shorter
// than a head) when unusable.
std::expected<std::size_t, WireError> frame_length(ByteView prefix);
// Decodes the `length` bytes that followed a length prefix.
std::expected<Frame, WireError> decode_frame(ByteView content);

// ---- Bodies ----

// A bounds-checked cursor over a body; every getter fails once past the end.
class BodyReader {
public:
    explicit BodyReader(ByteView body) : body_(body) {}
    std::optional<std::uint8_t> u8();
    std::optional<std::uint16_t> u16();
    std::optional<std::uint32_t> u32();
    std::optional<ByteView> bytes(std::size_t n);
    // A u8 or u16 length followed by that many bytes.
    std::optional<std::string> short_string();
    std::optional<ByteView> u16_bytes();
    ByteView rest();
    bool at_end() const { return pos_ == body_.size(); }

private:
    ByteView body_;
    std::size_t pos_ = 0;
};

class BodyWriter {
public:
    BodyWriter& u8(std::uint8_t v);
    BodyWriter& u16(std::uint16_t v);
    BodyWriter& u32(std::uint32_t v);
    BodyWriter& bytes(ByteView v);
    BodyWriter& short_string(std::string_view s);  // cut to 255 bytes
    BodyWriter& u16_bytes(ByteView v);             // cut to 65535 bytes
    Bytes take() { return std::move(out_); }

private:
    Bytes out_;
};

// What a client needs to build a reader on the served interface.
struct HelloInfo {
    std::uint16_t version = kWireVersion;
    Bytes class_descriptor;  // the CCID class descriptor as a device would send it
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;
    std::string manufacturer;
    std::string product;
    std::string serial;
    bool has_interrupt_in = false;
    std::uint16_t bulk_in_max_packet = 64;
    std::uint8_t interface_number = 0;

    bool operator==(const HelloInfo&) const = default;
};
Bytes encode_hello(const HelloInfo& info);
std::expected<HelloInfo, WireError> decode_hello(ByteView body);

// Milliseconds as they travel: clamped to [0, 2^32 - 1].
std::uint32_t wire_millis(Millis timeout);

Bytes encode_setup(const ControlSetup& setup);
std::optional<ControlSetup> read_setup(BodyReader& r);

// Reply body: status then result.
Bytes encode_reply(std::optional<TransportError> error, ByteView result = {});
struct DecodedReply {
    std::optional<TransportError> error;
    Bytes result;
};
std::expected<DecodedReply, WireError> decode_reply(ByteView body);

}  // namespace ccidkit::ccid::socket

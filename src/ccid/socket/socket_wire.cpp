#include "ccid/socket/socket_wire.h"

#include <algorithm>

namespace ccidkit::ccid::socket {
namespace {

constexpr std::uint8_t kLastTransportError = static_cast<std::uint8_t>(TransportError::Io);

}  // namespace

std::string_view to_string(Op op) {
    switch (op) {
        case Op::Hello: return "HELLO";
        case Op::BulkOut: return "BULK_OUT";
        case Op::BulkIn: return "BULK_IN";
        case Op::InterruptIn: return "INTERRUPT_IN";
        case Op::ControlIn: return "CONTROL_IN";
        case Op::ControlOut: return "CONTROL_OUT";
        case Op::ClearHalt: return "CLEAR_HALT";
        case Op::Claim: return "CLAIM";
        case Op::Release: return "RELEASE";
        case Op::Cancel: return "CANCEL";
        case Op::Insert: return "INSERT";
        case Op::Remove: return "REMOVE";
        case Op::Status: return "STATUS";
        case Op::Unplug: return "UNPLUG";
        case Op::HardwareError: return "HARDWARE_ERROR";
        case Op::SlotChangeStorm: return "SLOT_CHANGE_STORM";
        case Op::SetFaults: return "SET_FAULTS";
        case Op::Reply: return "REPLY";
    }
    return "unknown";
}

bool is_request(std::uint8_t op) {
    return (op >= static_cast<std::uint8_t>(Op::Hello) && op <= static_cast<std::uint8_t>(Op::Cancel)) ||
           (op >= static_cast<std::uint8_t>(Op::Insert) && op <= static_cast<std::uint8_t>(Op::SetFaults));
}

std::string_view to_string(WireError e) {
    switch (e) {
        case WireError::Closed: return "the peer closed the connection";
        case WireError::Truncated: return "the connection ended inside a frame (truncated frame)";
        case WireError::Oversized: return "frame length beyond the protocol's bound";
        case WireError::Malformed: return "malformed frame";
        case WireError::Timeout: return "no reply in time";
        case WireError::Io: return "socket error";
    }
    return "unknown wire error";
}

Bytes encode_frame(const Frame& frame) {
    // One allocation of the final size (and no insert() into a short vector, which GCC 12
    // misreads as an out-of-bounds copy).
    Bytes out(kFrameLengthBytes + kFrameHeadBytes + frame.body.size());
    store_le32(out.data(), static_cast<std::uint32_t>(kFrameHeadBytes + frame.body.size()));
    out[4] = static_cast<std::uint8_t>(frame.op);
    store_le32(out.data() + 5, frame.id);
    std::copy(frame.body.begin(), frame.body.end(), out.begin() + kFrameLengthBytes + kFrameHeadBytes);
    return out;
}

std::expected<std::size_t, WireError> frame_length(ByteView prefix) {
    if (prefix.size() < kFrameLengthBytes) return std::unexpected(WireError::Truncated);
    const std::size_t n = load_le32(prefix.data());
    if (n > kMaxFrameBody) return std::unexpected(WireError::Oversized);
    if (n < kFrameHeadBytes) return std::unexpected(WireError::Malformed);
    return n;
}

std::expected<Frame, WireError> decode_frame(ByteView content) {
    if (content.size() < kFrameHeadBytes) return std::unexpected(WireError::Malformed);
    const std::uint8_t op = content[0];
    if (op != static_cast<std::uint8_t>(Op::Reply) && !is_request(op)) return std::unexpected(WireError::Malformed);
    Frame f;
    f.op = static_cast<Op>(op);
    f.id = load_le32(content.data() + 1);
    f.body.assign(content.begin() + kFrameHeadBytes, content.end());
    return f;
}

std::optional<std::uint8_t> BodyReader::u8() {
    if (body_.size() - pos_ < 1) return std::nullopt;
    return body_[pos_++];
}

std::optional<std::uint16_t> BodyReader::u16() {
    if (body_.size() - pos_ < 2) return std::nullopt;
    const auto v = load_le16(body_.data() + pos_);
    pos_ += 2;
    return v;
}

std::optional<std::uint32_t> BodyReader::u32() {
    if (body_.size() - pos_ < 4) return std::nullopt;
    const auto v = load_le32(body_.data() + pos_);
    pos_ += 4;
    return v;
}

std::optional<ByteView> BodyReader::bytes(std::size_t n) {
    if (body_.size() - pos_ < n) return std::nullopt;
    const ByteView v = body_.subspan(pos_, n);
    pos_ += n;
    return v;
}

std::optional<std::string> BodyReader::short_string() {
    const auto n = u8();
    if (!n) return std::nullopt;
    const auto b = bytes(*n);
    if (!b) return std::nullopt;
    return std::string(b->begin(), b->end());
}

std::optional<ByteView> BodyReader::u16_bytes() {
    const auto n = u16();
    if (!n) return std::nullopt;
    return bytes(*n);
}

ByteView BodyReader::rest() {
    const ByteView v = body_.subspan(pos_);
    pos_ = body_.size();
    return v;
}

BodyWriter& BodyWriter::u8(std::uint8_t v) {
    out_.push_back(v);
    return *this;
}

BodyWriter& BodyWriter::u16(std::uint16_t v) {
    std::uint8_t b[2];
    store_le16(b, v);
    out_.insert(out_.end(), b, b + 2);
    return *this;
}

BodyWriter& BodyWriter::u32(std::uint32_t v) {
    std::uint8_t b[4];
    store_le32(b, v);
    out_.insert(out_.end(), b, b + 4);
    return *this;
}

BodyWriter& BodyWriter::bytes(ByteView v) {
    out_.insert(out_.end(), v.begin(), v.end());
    return *this;
}

BodyWriter& BodyWriter::short_string(std::string_view s) {
    const std::size_t n = std::min<std::size_t>(s.size(), 255);
    u8(static_cast<std::uint8_t>(n));
    out_.insert(out_.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
    return *this;
}

BodyWriter& BodyWriter::u16_bytes(ByteView v) {
    const std::size_t n = std::min<std::size_t>(v.size(), 0xFFFF);
    u16(static_cast<std::uint16_t>(n));
    return bytes(v.first(n));
}

Bytes encode_hello(const HelloInfo& info) {
    BodyWriter w;
    w.u16(info.version).u16_bytes(info.class_descriptor).u16(info.vendor_id).u16(info.product_id).u16(info.bcd_device);
    w.short_string(info.manufacturer).short_string(info.product).short_string(info.serial);
    w.u8(info.has_interrupt_in ? 1 : 0).u16(info.bulk_in_max_packet).u8(info.interface_number);
    return w.take();
}

std::expected<HelloInfo, WireError> decode_hello(ByteView body) {
    BodyReader r(body);
    HelloInfo h;
    const auto version = r.u16();
    const auto descriptor = r.u16_bytes();
    const auto vid = r.u16();
    const auto pid = r.u16();
    const auto bcd = r.u16();
    auto manufacturer = r.short_string();
    auto product = r.short_string();
    auto serial = r.short_string();
    const auto interrupt = r.u8();
    const auto packet = r.u16();
    const auto interface = r.u8();
    if (!interface || !r.at_end() || !version || !descriptor || !vid || !pid || !bcd || !manufacturer || !product ||
        !serial || !interrupt || !packet || *interrupt > 1 || *packet == 0)
        return std::unexpected(WireError::Malformed);
    h.version = *version;
    h.class_descriptor.assign(descriptor->begin(), descriptor->end());
    h.vendor_id = *vid;
    h.product_id = *pid;
    h.bcd_device = *bcd;
    h.manufacturer = std::move(*manufacturer);
    h.product = std::move(*product);
    h.serial = std::move(*serial);
    h.has_interrupt_in = *interrupt == 1;
    h.bulk_in_max_packet = *packet;
    h.interface_number = *interface;
    return h;
}

std::uint32_t wire_millis(Millis timeout) {
    const auto ms = timeout.count();
    if (ms <= 0) return 0;
    return ms > 0xFFFFFFFFLL ? 0xFFFFFFFFu : static_cast<std::uint32_t>(ms);
}

Bytes encode_setup(const ControlSetup& setup) {
    return BodyWriter().u8(setup.request_type).u8(setup.request).u16(setup.value).u16(setup.index).take();
}

std::optional<ControlSetup> read_setup(BodyReader& r) {
    const auto type = r.u8();
    const auto request = r.u8();
    const auto value = r.u16();
    const auto index = r.u16();
    if (!type || !request || !value || !index) return std::nullopt;
    return ControlSetup{*type, *request, *value, *index};
}

Bytes encode_reply(std::optional<TransportError> error, ByteView result) {
    BodyWriter w;
    w.u8(error ? static_cast<std::uint8_t>(static_cast<std::uint8_t>(*error) + 1) : 0);
    return w.bytes(result).take();
}

std::expected<DecodedReply, WireError> decode_reply(ByteView body) {
    BodyReader r(body);
    const auto status = r.u8();
    if (!status || *status > kLastTransportError + 1) return std::unexpected(WireError::Malformed);
    DecodedReply d;
    if (*status != 0) d.error = static_cast<TransportError>(*status - 1);
    const ByteView rest = r.rest();
    d.result.assign(rest.begin(), rest.end());
    return d;
}

}  // namespace ccidkit::ccid::socket

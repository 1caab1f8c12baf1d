#include "sim/reader/reader_probe.h"

namespace ccidkit::sim {

std::string ProbeError::describe() const {
    std::string s;
    if (transport) s += std::string("transport: ") + std::string(ccid::to_string(*transport));
    if (decode) {
        if (!s.empty()) s += "; ";
        s += std::string("decode: ") + std::string(ccid::to_string(*decode));
    }
    return s.empty() ? "no error" : s;
}

ReaderProbe::ReaderProbe(ccid::Transport& transport, std::size_t max_message, ccid::Millis timeout,
                         std::size_t buffer)
    : transport_(transport), max_message_(max_message), timeout_(timeout), buffer_(buffer == 0 ? 1 : buffer) {}

std::expected<void, ProbeError> ReaderProbe::send_raw(ByteView message) {
    auto sent = transport_.bulk_out(message, timeout_);
    if (!sent) return std::unexpected(ProbeError{sent.error(), std::nullopt});
    return {};
}

std::expected<void, ProbeError> ReaderProbe::send(const ccid::Command& command) {
    return send_raw(ccid::encode(command));
}

std::expected<Bytes, ProbeError> ReaderProbe::receive_raw() {
    Bytes buffer(buffer_);
    auto n = transport_.bulk_in(buffer, timeout_);
    if (!n) return std::unexpected(ProbeError{n.error(), std::nullopt});
    buffer.resize(*n);
    return buffer;
}

std::expected<ccid::Response, ProbeError> ReaderProbe::receive() {
    auto raw = receive_raw();
    if (!raw) return std::unexpected(raw.error());
    auto decoded = ccid::decode_response(*raw, max_message_);
    if (!decoded) return std::unexpected(ProbeError{std::nullopt, decoded.error()});
    return std::move(*decoded);
}

std::expected<ProbeReply, ProbeError> ReaderProbe::transact(const ccid::Command& command) {
    if (auto sent = send(command); !sent) return std::unexpected(sent.error());
    ProbeReply out;
    for (int i = 0; i < 10000; ++i) {
        auto raw = receive_raw();
        if (!raw) return std::unexpected(raw.error());
        auto decoded = ccid::decode_response(*raw, max_message_);
        if (!decoded) return std::unexpected(ProbeError{std::nullopt, decoded.error()});
        if (ccid::status_of(*decoded).command() == ccid::CommandStatus::TimeExtension) {
            out.time_extensions.push_back(std::move(*decoded));
            continue;
        }
        out.reply = std::move(*decoded);
        out.raw = std::move(*raw);
        return out;
    }
    return std::unexpected(ProbeError{ccid::TransportError::Timeout, std::nullopt});
}

}  // namespace ccidkit::sim

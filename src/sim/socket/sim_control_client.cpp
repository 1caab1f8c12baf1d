#include "sim/socket/sim_control_client.h"

#include <fmt/format.h>
#include <unistd.h>

#include "ccid/socket/socket_io.h"

namespace ccidkit::sim {

std::expected<std::string, std::string> send_sim_control(const std::string& path, ccid::socket::Op op, ByteView body,
                                                         std::chrono::milliseconds timeout) {
    using namespace ccid::socket;
    auto fd = connect_unix(path);
    if (!fd) return std::unexpected(fd.error().message);
    set_socket_timeouts(*fd, timeout, timeout);
    constexpr std::uint32_t kId = 1;
    std::expected<std::string, std::string> out = std::unexpected(std::string());
    if (auto sent = write_frame(*fd, Frame{op, kId, Bytes(body.begin(), body.end())}); !sent) {
        out = std::unexpected(fmt::format("{}: sending {}: {}", path, to_string(op), to_string(sent.error())));
    } else if (auto frame = read_frame(*fd); !frame) {
        out = std::unexpected(fmt::format("{}: waiting for the answer to {}: {}", path, to_string(op),
                                          to_string(frame.error())));
    } else if (auto reply = decode_reply(frame->body); frame->op != Op::Reply || frame->id != kId || !reply) {
        out = std::unexpected(fmt::format("{}: malformed answer to {}", path, to_string(op)));
    } else if (reply->error) {
        const std::string why(reply->result.begin(), reply->result.end());
        out = std::unexpected(why.empty() ? std::string(ccid::to_string(*reply->error)) : why);
    } else {
        out = std::string(reply->result.begin(), reply->result.end());
    }
    ::close(*fd);
    return out;
}

}  // namespace ccidkit::sim

#include "sim/socket/sim_server.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ccid/descriptor.h"
#include "ccid/logging.h"
#include "ccid/socket/socket_io.h"
#include "sim/socket/fault_text.h"

namespace ccidkit::sim {
namespace {

using ccid::socket::Op;

ccid::socket::HelloInfo hello_for(const ReaderSimConfig& c) {
    ccid::socket::HelloInfo h;
    h.class_descriptor = ccid::encode_ccid_descriptor(c.descriptor);
    h.vendor_id = c.vendor_id;
    h.product_id = c.product_id;
    h.bcd_device = c.bcd_device;
    h.manufacturer = c.manufacturer;
    h.product = c.product;
    h.serial = c.serial;
    h.has_interrupt_in = c.has_interrupt;
    h.bulk_in_max_packet = c.max_packet_size;
    h.interface_number = c.interface_number;
    return h;
}

std::string text_of(ByteView body) { return std::string(body.begin(), body.end()); }

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

}  // namespace

std::expected<std::unique_ptr<SimServer>, std::string> SimServer::listen(SimServerOptions options) {
    if (!options.reader.socket_path.empty())
        return std::unexpected(fmt::format("'{}': a served reader cannot itself be a socket reader", options.reader.spec));
    const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0) return std::unexpected(fmt::format("eventfd: {}", std::strerror(errno)));
    auto fd = ccid::socket::listen_unix(options.socket_path);
    if (!fd) {
        ::close(wake);
        return std::unexpected(fd.error());
    }
    return std::unique_ptr<SimServer>(new SimServer(std::move(options), *fd, wake));
}

SimServer::SimServer(SimServerOptions options, int listen_fd, int wake_fd)
    : options_(std::move(options)),
      listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      reader_(std::make_unique<SharedReaderSim>(make_virtual_reader(options_.reader))),
      hello_(hello_for(options_.reader.config)),
      card_name_(virtual_card_name(options_.reader.card)) {}

SimServer::~SimServer() {
    stop();
    close_all();
    if (!closed_.exchange(true)) {
        ::unlink(options_.socket_path.c_str());
        ::close(listen_fd_);
    }
    ::close(wake_fd_);
}

void SimServer::wake() noexcept {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
}

void SimServer::stop() noexcept {
    stop_requested_.store(true);
    wake();
}

void SimServer::run() {
    while (!stop_requested_.load() && !unplugged_.load()) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            ccid::logger()->error("ccid-simd: poll: {}", std::strerror(errno));
            break;
        }
        if (fds[1].revents & POLLIN) {
            std::uint64_t n = 0;
            (void)!::read(wake_fd_, &n, sizeof(n));
        }
        reap_finished();
        if (fds[0].revents & POLLIN) accept_one();
    }
    // The path goes first, so that nobody connects to a server that is leaving.
    if (!closed_.exchange(true)) {
        ::unlink(options_.socket_path.c_str());
        ::close(listen_fd_);
    }
    close_all();
}

void SimServer::accept_one() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::lock_guard lock(mutex_);
    if (connections_.size() >= options_.max_connections) {
        ccid::logger()->warn("ccid-simd: refusing a client: {} connections already", connections_.size());
        ::close(fd);
        return;
    }
    connections_.push_back(std::make_unique<SimConnection>(
        fd, reader_->open_handle(), hello_, [this](Op op, ByteView body) { return control(op, body); },
        [this] { wake(); }));
}

void SimServer::reap_finished() {
    std::vector<std::unique_ptr<SimConnection>> done;
    {
        std::lock_guard lock(mutex_);
        for (auto it = connections_.begin(); it != connections_.end();) {
            if ((*it)->finished()) {
                done.push_back(std::move(*it));
                it = connections_.erase(it);
            } else {
                ++it;
            }
        }
    }
    done.clear();  // joins their threads, outside the lock (they may call control())
}

void SimServer::close_all() {
    std::vector<std::unique_ptr<SimConnection>> all;
    {
        std::lock_guard lock(mutex_);
        all.swap(connections_);
    }
    for (auto& c : all) c->close();
    all.clear();
}

std::size_t SimServer::connections() const {
    std::lock_guard lock(mutex_);
    std::size_t open = 0;
    for (const auto& c : connections_) open += c->finished() ? 0 : 1;
    return open;
}

std::string SimServer::status_text() const {
    std::string card;
    {
        std::lock_guard lock(mutex_);
        card = card_name_;
    }
    auto& sim = reader_->sim();
    return fmt::format(
        "reader: {}\ncard: {}\npresent: {}\nclaimed: {}\nconnections: {}\nxfr_blocks: {}\nunplugged: {}\n",
        options_.reader.spec, sim.card_present(0) ? card : "none", sim.card_present(0) ? "yes" : "no",
        reader_->claimed() ? "yes" : "no", connections(), sim.stats().count(ccid::MessageType::PcToRdrXfrBlock),
        unplugged_.load() ? "yes" : "no");
}

std::expected<Bytes, std::string> SimServer::control(Op op, ByteView body) {
    auto& sim = reader_->sim();
    ccid::socket::BodyReader r(body);
    switch (op) {
        case Op::Insert: {
            const std::string name = text_of(body);
            const auto card = virtual_card_named(name.empty() ? "t1" : name);
            if (!card) return std::unexpected(fmt::format("unknown card '{}' (t1, t0, t1-1v8 or none)", name));
            auto made = make_virtual_card(*card);
            if (made) sim.insert_card(0, std::move(*made));
            else sim.remove_card(0);
            std::lock_guard lock(mutex_);
            card_name_ = virtual_card_name(*card);
            return Bytes{};
        }
        case Op::Remove: sim.remove_card(0); return Bytes{};
        case Op::Status: return bytes_of(status_text());
        case Op::Unplug:
            unplugged_ = true;
            sim.disconnect();
            wake();
            return Bytes{};
        case Op::HardwareError: {
            const auto code = r.u8();
            sim.inject_hardware_error(0, code.value_or(0x01));
            return Bytes{};
        }
        case Op::SlotChangeStorm: {
            const auto count = r.u32();
            if (!count || *count > 100000) return std::unexpected(std::string("storm count must be 0..100000"));
            sim.inject_slot_change_storm(*count);
            return Bytes{};
        }
        case Op::SetFaults: {
            auto faults = apply_fault_text(sim.faults(), text_of(body));
            if (!faults) return std::unexpected(faults.error());
            sim.set_faults(*faults);
            return Bytes{};
        }
        default: break;
    }
    return std::unexpected(fmt::format("{} is not a control request", to_string(op)));
}

}  // namespace ccidkit::sim

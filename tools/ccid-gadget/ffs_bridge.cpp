#include "ffs_bridge.h"

#include <endian.h>
#include <fcntl.h>
#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <vector>

#include "common/bytes.h"
#include "ffs_descriptors.h"

namespace ccidkit::gadget {

namespace {

using namespace std::chrono_literals;

// Endpoint I/O on FunctionFS blocks in the kernel (waiting for the host, or for the function
// to be enabled again). A signal without SA_RESTART makes it return EINTR: that is how stop()
// gets the threads out.
constexpr int kWakeSignal = SIGUSR2;
void on_wake_signal(int) {}

void install_wake_handler() {
    struct sigaction sa {};
    sa.sa_handler = on_wake_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART
    sigaction(kWakeSignal, &sa, nullptr);
}

// CCID messages are at most a few kilobytes in practice; dwMaxCCIDMessageLength can announce
// up to 64 KiB + header. Anything claiming more is cut here (the simulator then answers it as
// malformed), and a single read() never asks for more than this.
constexpr std::size_t kMaxMessage = (1u << 20) + 10;
constexpr std::size_t kHeaderSize = 10;
constexpr std::size_t kBulkInBuffer = (1u << 20) + 4096;  // multiple of 512

std::size_t round_up(std::size_t n, std::size_t unit) { return (n + unit - 1) / unit * unit; }

}  // namespace

FfsBridge::FfsBridge(std::string ffs_dir, DeviceProvider provider, bool interrupt_in, bool verbose)
    : dir_(std::move(ffs_dir)), provider_(std::move(provider)), interrupt_in_(interrupt_in), verbose_(verbose) {
    install_wake_handler();
}

FfsBridge::~FfsBridge() {
    stop();
    for (int* fd : {&int_in_, &bulk_in_, &bulk_out_, &ep0_}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
    }
}

void FfsBridge::log(const std::string& text) const {
    if (!verbose_) return;
    const auto now = std::chrono::steady_clock::now().time_since_epoch();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
    std::fprintf(stderr, "[ccid-gadget %lld.%03lld] %s\n", static_cast<long long>(ms / 1000),
                 static_cast<long long>(ms % 1000), text.c_str());
}

std::expected<void, std::string> FfsBridge::open(ByteView descriptors, ByteView strings) {
    const std::string ep0 = dir_ + "/ep0";
    ep0_ = ::open(ep0.c_str(), O_RDWR | O_CLOEXEC);
    if (ep0_ < 0) return std::unexpected(fmt::format("open {}: {}", ep0, std::strerror(errno)));
    if (::write(ep0_, descriptors.data(), descriptors.size()) != static_cast<ssize_t>(descriptors.size())) {
        return std::unexpected(fmt::format("FunctionFS refused the descriptors: {}", std::strerror(errno)));
    }
    if (::write(ep0_, strings.data(), strings.size()) != static_cast<ssize_t>(strings.size())) {
        return std::unexpected(fmt::format("FunctionFS refused the strings: {}", std::strerror(errno)));
    }
    auto open_ep = [&](int index, int flags) -> std::expected<int, std::string> {
        const std::string path = fmt::format("{}/ep{}", dir_, index);
        const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
        if (fd < 0) return std::unexpected(fmt::format("open {}: {}", path, std::strerror(errno)));
        return fd;
    };
    auto out = open_ep(kEpBulkOut, O_RDWR);
    if (!out) return std::unexpected(out.error());
    bulk_out_ = *out;
    auto in = open_ep(kEpBulkIn, O_RDWR);
    if (!in) return std::unexpected(in.error());
    bulk_in_ = *in;
    if (interrupt_in_) {
        auto irq = open_ep(kEpInterruptIn, O_RDWR);
        if (!irq) return std::unexpected(irq.error());
        int_in_ = *irq;
    }
    return {};
}

void FfsBridge::spawn(Worker& w, void (FfsBridge::*body)()) {
    w.done = false;
    w.thread = std::thread([this, &w, body] {
        (this->*body)();
        w.done = true;
    });
}

void FfsBridge::start() {
    stopping_ = false;
    spawn(ep0_worker_, &FfsBridge::run_ep0);
    spawn(out_worker_, &FfsBridge::run_bulk_out);
    spawn(in_worker_, &FfsBridge::run_bulk_in);
    if (interrupt_in_) spawn(int_worker_, &FfsBridge::run_interrupt);
}

void FfsBridge::stop() {
    stopping_ = true;
    for (Worker* w : {&ep0_worker_, &out_worker_, &in_worker_, &int_worker_}) {
        if (!w->thread.joinable()) continue;
        // Keep knocking: the signal may land just before the thread enters the blocking call.
        for (int i = 0; i < 2000 && !w->done; ++i) {
            if (auto dev = provider_()) dev->cancel();
            pthread_kill(w->thread.native_handle(), kWakeSignal);
            std::this_thread::sleep_for(5ms);
        }
        if (w->done) {
            w->thread.join();
        } else {
            // A thread stuck beyond 10 s of signals: leave it (the process is about to exit).
            w->thread.detach();
        }
    }
}

std::expected<std::uint16_t, int> FfsBridge::max_packet(int fd) const {
    struct usb_endpoint_descriptor desc {};
    if (::ioctl(fd, FUNCTIONFS_ENDPOINT_DESC, &desc) < 0) return std::unexpected(errno);
    const std::uint16_t mps = static_cast<std::uint16_t>(desc.wMaxPacketSize & 0x7FF);
    return mps == 0 ? std::uint16_t{64} : mps;
}

std::expected<std::uint16_t, int> FfsBridge::max_packet(int fd, PacketSizeCache& cache) const {
    // Read the count before asking: an enable that lands in between makes the next call ask again.
    const std::uint64_t enables = counters_.enables.load() + counters_.disables.load();
    if (cache.enables == enables && cache.value != 0) return cache.value;
    auto mps = max_packet(fd);
    if (!mps) return mps;
    cache = PacketSizeCache{enables, *mps};
    return *mps;
}

void FfsBridge::run_ep0() {
    std::array<usb_functionfs_event, 4> events{};
    while (!stopping_) {
        const ssize_t n = ::read(ep0_, events.data(), sizeof events);
        if (n < 0) {
            if (errno != EINTR) {
                log(fmt::format("ep0 read: {}", std::strerror(errno)));
                std::this_thread::sleep_for(10ms);
            }
            continue;
        }
        const std::size_t count = static_cast<std::size_t>(n) / sizeof(usb_functionfs_event);
        for (std::size_t i = 0; i < count; ++i) {
            switch (events[i].type) {
                case FUNCTIONFS_BIND: log("event BIND"); break;
                case FUNCTIONFS_UNBIND: log("event UNBIND"); break;
                case FUNCTIONFS_ENABLE:
                    ++counters_.enables;
                    enabled_ = true;
                    log("event ENABLE");
                    break;
                case FUNCTIONFS_DISABLE:
                    ++counters_.disables;
                    enabled_ = false;
                    log("event DISABLE");
                    break;
                case FUNCTIONFS_SUSPEND: log("event SUSPEND"); break;
                case FUNCTIONFS_RESUME: log("event RESUME"); break;
                case FUNCTIONFS_SETUP: handle_setup(&events[i].u.setup); break;
                default: log(fmt::format("event {}", events[i].type)); break;
            }
        }
    }
}

void FfsBridge::handle_setup(const void* raw) {
    const auto& s = *static_cast<const usb_ctrlrequest*>(raw);
    ++counters_.setups;
    const std::uint16_t length = le16toh(s.wLength);
    const ccid::ControlSetup setup{s.bRequestType, s.bRequest, le16toh(s.wValue), le16toh(s.wIndex)};
    log(fmt::format("SETUP {:02x} {:02x} {:04x} {:04x} {}", setup.request_type, setup.request, setup.value,
                    setup.index, length));
    auto dev = provider_();
    // FunctionFS: on a pending SETUP, the transfer in the wrong direction stalls it.
    auto stall = [&](bool in) {
        ++counters_.stalls;
        if (in) {
            (void)!::read(ep0_, nullptr, 0);
        } else {
            (void)!::write(ep0_, nullptr, 0);
        }
    };
    if ((s.bRequestType & USB_DIR_IN) != 0) {
        std::vector<std::uint8_t> buffer(length);
        auto r = dev ? dev->control_in(setup, buffer, 1000ms) : std::unexpected(ccid::TransportError::NoDevice);
        if (!r) {
            stall(true);
            return;
        }
        (void)!::write(ep0_, buffer.data(), *r);
        return;
    }
    if (length > 0) {
        // No CCID request carries OUT data; take it (the status stage follows) and pass it on.
        std::vector<std::uint8_t> data(length);
        const ssize_t n = ::read(ep0_, data.data(), data.size());
        if (n >= 0 && dev) (void)dev->control_out(setup, ByteView(data).first(static_cast<std::size_t>(n)), 1000ms);
        return;
    }
    auto r = dev ? dev->control_out(setup, {}, 1000ms) : std::unexpected(ccid::TransportError::NoDevice);
    if (!r) {
        stall(false);
        return;
    }
    (void)!::read(ep0_, nullptr, 0);  // status stage: acknowledge
}

std::expected<Bytes, int> FfsBridge::read_message(PacketSizeCache& cache) {
    auto mps = max_packet(bulk_out_, cache);
    if (!mps) return std::unexpected(mps.error());
    Bytes message(*mps);
    ssize_t n = ::read(bulk_out_, message.data(), message.size());
    if (n < 0) return std::unexpected(errno);
    message.resize(static_cast<std::size_t>(n));
    if (message.size() < *mps || message.size() < kHeaderSize) return message;  // short packet: transfer over
    // CCID 6.1: the message is 10 header bytes plus dwLength bytes; the rest of it arrives in
    // one read of whole packets (a short packet ends it early, a ZLP after it is read as an
    // empty message and ignored by the caller).
    const std::size_t total = std::min(kHeaderSize + load_le32(message.data() + 1), kMaxMessage);
    while (message.size() < total) {
        const std::size_t have = message.size();
        const std::size_t want = std::min(round_up(total - have, *mps), std::size_t{1} << 16);
        message.resize(have + want);
        n = ::read(bulk_out_, message.data() + have, want);
        if (n < 0) return std::unexpected(errno);
        message.resize(have + static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < want) break;  // the transfer ended (short packet)
    }
    return message;
}

void FfsBridge::run_bulk_out() {
    PacketSizeCache packet_size;
    while (!stopping_) {
        auto message = read_message(packet_size);
        if (!message) {
            if (message.error() != EINTR) {
                log(fmt::format("bulk OUT: {}", std::strerror(message.error())));
                std::this_thread::sleep_for(5ms);
            }
            continue;
        }
        if (message->empty()) {
            ++counters_.zero_length_packets;
            continue;
        }
        ++counters_.bulk_out_messages;
        // A full reply queue makes bulk_out wait (the device NAKs); retry until it is taken.
        while (!stopping_) {
            auto dev = provider_();
            if (!dev) break;
            auto r = dev->bulk_out(*message, 1000ms);
            if (r || r.error() != ccid::TransportError::Timeout) break;
        }
    }
}

bool FfsBridge::write_transfer(int fd, ByteView data, std::uint16_t max_packet, bool zlp) {
    std::size_t done = 0;
    while (done < data.size() && !stopping_) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            log(fmt::format("write ep: {}", std::strerror(errno)));
            return false;  // unbound, disabled or interrupted: the message is lost, as on a wire
        }
        done += static_cast<std::size_t>(n);
    }
    if (zlp && !data.empty() && data.size() % max_packet == 0) {
        // USB 2.0 5.8.3: a transfer that is a whole number of packets ends with a ZLP.
        if (::write(fd, data.data(), 0) < 0) return false;
        ++counters_.zero_length_packets;
    }
    return true;
}

void FfsBridge::run_bulk_in() {
    std::vector<std::uint8_t> buffer(kBulkInBuffer);
    PacketSizeCache packet_size;
    while (!stopping_) {
        auto dev = provider_();
        if (!dev) {
            std::this_thread::sleep_for(10ms);
            continue;
        }
        auto n = dev->bulk_in(buffer, 250ms);
        if (!n) {
            switch (n.error()) {
                case ccid::TransportError::Stall:
                    // Halt the endpoint (a read on an IN endpoint file does that); the host
                    // clears it with CLEAR_FEATURE, which the UDC handles without telling us,
                    // so the device side is cleared now and the next reply waits for the host.
                    ++counters_.stalls;
                    if (const ssize_t h = ::read(bulk_in_, buffer.data(), 1); h < 0 && errno == EBADMSG) {
                        log("bulk IN halted");
                    } else {
                        log(fmt::format("bulk IN halt failed: {} {}", h, std::strerror(errno)));
                    }
                    (void)dev->clear_halt();
                    break;
                case ccid::TransportError::NoDevice: std::this_thread::sleep_for(10ms); break;
                default: break;
            }
            continue;
        }
        auto mps = max_packet(bulk_in_, packet_size);
        if (!mps) continue;  // interrupted while waiting for the host: the reply is dropped
        if (write_transfer(bulk_in_, ByteView(buffer).first(*n), *mps, true)) ++counters_.bulk_in_messages;
    }
}

void FfsBridge::run_interrupt() {
    std::array<std::uint8_t, 64> buffer{};
    PacketSizeCache packet_size;
    while (!stopping_) {
        auto dev = provider_();
        if (!dev) {
            std::this_thread::sleep_for(10ms);
            continue;
        }
        auto n = dev->interrupt_in(buffer, 250ms);
        if (!n) {
            if (n.error() == ccid::TransportError::NoDevice) std::this_thread::sleep_for(10ms);
            continue;
        }
        auto mps = max_packet(int_in_, packet_size);
        if (!mps) continue;
        if (write_transfer(int_in_, ByteView(buffer).first(*n), *mps, false)) ++counters_.interrupt_messages;
    }
}

}  // namespace ccidkit::gadget

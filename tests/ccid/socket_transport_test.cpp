// SocketTransport against a real simulator server running in a thread (HELLO, bulk I/O, the
// claim rule, cancel, server death) and against scripted hostile servers on a socketpair
// (oversized, truncated, malformed frames, replies larger than asked, silence).
#include "ccid/socket/socket_transport.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "ccid/descriptor.h"
#include "ccid/message_commands.h"
#include "ccid/message_responses.h"
#include "sim/socket/sim_server.h"

namespace ccidkit::ccid::socket {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A SimServer serving a short-APDU reader with a T=1 card, run() on its own thread.
class ServedReader {
public:
    ServedReader() {
        char tmpl[] = "/tmp/ccidkit-socktest-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        path_ = dir_ + "/reader.sock";
        auto specs = sim::parse_virtual_spec("short:t1");
        auto server = sim::SimServer::listen(sim::SimServerOptions{path_, specs->front()});
        if (!server) throw std::runtime_error(server.error());
        server_ = std::move(*server);
        thread_ = std::thread([this] { server_->run(); });
    }
    ~ServedReader() {
        stop();
        std::filesystem::remove_all(dir_);
    }
    void stop() {
        if (!server_) return;
        server_->stop();
        thread_.join();
        server_.reset();
    }
    sim::SimServer& server() { return *server_; }
    const std::string& path() const { return path_; }

private:
    std::string dir_;
    std::string path_;
    std::unique_ptr<sim::SimServer> server_;
    std::thread thread_;
};

std::unique_ptr<SocketTransport> connect_to(const ServedReader& r) {
    auto t = SocketTransport::connect(r.path());
    if (!t) {
        ADD_FAILURE() << t.error().message;
        return nullptr;
    }
    return std::move(*t);
}

// Powers the card: the reply must be a DataBlock carrying an ATR.
void expect_power_on(Transport& t, std::uint8_t seq) {
    ASSERT_TRUE(t.bulk_out(encode(pc_to_rdr::IccPowerOn{0, seq}), 1s));
    std::array<std::uint8_t, 512> buf{};
    auto n = t.bulk_in(buf, 2s);
    ASSERT_TRUE(n) << to_string(n.error());
    auto reply = decode_response(ByteView(buf).first(*n), 271);
    ASSERT_TRUE(reply);
    const auto* block = std::get_if<rdr_to_pc::DataBlock>(&*reply);
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(block->bSeq, seq);
    EXPECT_GT(block->abData.size(), 2u);
    EXPECT_EQ(block->abData[0], 0x3B);
}

// Reads interrupt messages until none is pending (the insertion notification at start).
void drain_interrupts(Transport& t) {
    std::array<std::uint8_t, 64> buf{};
    while (t.interrupt_in(buf, 50ms)) {
    }
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds bound = 3s) {
    const auto end = Clock::now() + bound;
    while (!pred()) {
        if (Clock::now() > end) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

TEST(SocketTransport, HelloDescribesTheServedReader) {
    ServedReader served;
    auto t = connect_to(served);
    ASSERT_TRUE(t);
    const auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    EXPECT_EQ(t->hello().vendor_id, config.vendor_id);
    EXPECT_EQ(t->hello().product_id, config.product_id);
    EXPECT_EQ(t->hello().bcd_device, config.bcd_device);
    EXPECT_EQ(t->hello().manufacturer, config.manufacturer);
    EXPECT_EQ(t->hello().product, config.product);
    EXPECT_EQ(t->hello().serial, config.serial);
    EXPECT_EQ(t->has_interrupt_in(), config.has_interrupt);
    EXPECT_EQ(t->bulk_in_max_packet(), config.max_packet_size);
    EXPECT_EQ(t->interface_number(), config.interface_number);
    auto descriptor = decode_ccid_descriptor(t->hello().class_descriptor);
    ASSERT_TRUE(descriptor);
    EXPECT_EQ(*descriptor, config.descriptor);
    EXPECT_FALSE(t->claimed());
}

TEST(SocketTransport, BulkRoundTripNeedsTheClaim) {
    ServedReader served;
    auto t = connect_to(served);
    ASSERT_TRUE(t);
    auto refused = t->bulk_out(encode(pc_to_rdr::IccPowerOn{0, 1}), 1s);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), TransportError::Busy);
    ASSERT_TRUE(t->claim());
    EXPECT_TRUE(t->claimed());
    expect_power_on(*t, 2);
    // Extreme timeouts travel clamped, they neither overflow nor fail.
    ASSERT_TRUE(t->bulk_out(encode(pc_to_rdr::GetSlotStatus{0, 3}), Millis::max()));
    std::array<std::uint8_t, 64> status{};
    EXPECT_TRUE(t->bulk_in(status, Millis::max()));
    // Class requests go through too (GET_DATA_RATES stalls on a reader without a list).
    std::array<std::uint8_t, 64> buf{};
    auto rates = t->control_in(ControlSetup{0xA1, 0x03, 0, 0}, buf, 1s);
    ASSERT_FALSE(rates);
    EXPECT_EQ(rates.error(), TransportError::Stall);
}

TEST(SocketTransport, OneClaimerAtATimeAndAClosedConnectionGivesItBack) {
    ServedReader served;
    auto a = connect_to(served);
    auto b = connect_to(served);
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->claim());
    auto busy = b->claim();
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error(), TransportError::Busy);
    std::array<std::uint8_t, 64> buf{};
    auto in = b->interrupt_in(buf, 10ms);
    ASSERT_FALSE(in);
    EXPECT_EQ(in.error(), TransportError::Busy);

    a->release();
    EXPECT_FALSE(a->claimed());
    ASSERT_TRUE(b->claim());  // release() waits for the server: no retry needed
    expect_power_on(*b, 1);
    EXPECT_FALSE(a->claim());

    b.reset();  // the connection closes while holding the claim
    EXPECT_TRUE(eventually([&] { return bool(a->claim()); }));
    expect_power_on(*a, 7);
}

TEST(SocketTransport, CancelWakesABlockedInterruptReadWhileBulkGoesOn) {
    ServedReader served;
    auto t = connect_to(served);
    ASSERT_TRUE(t && t->claim());
    drain_interrupts(*t);
    auto blocked = std::async(std::launch::async, [&] {
        std::array<std::uint8_t, 64> buf{};
        const auto start = Clock::now();
        auto r = t->interrupt_in(buf, 30s);
        return std::make_pair(r, Clock::now() - start);
    });
    // Bulk I/O is not queued behind the interrupt read.
    expect_power_on(*t, 3);
    EXPECT_EQ(blocked.wait_for(0ms), std::future_status::timeout);
    // cancel() only affects calls already waiting: repeat until the reader thread has started.
    const auto start = Clock::now();
    while (blocked.wait_for(10ms) != std::future_status::ready && Clock::now() - start < 5s) t->cancel();
    ASSERT_EQ(blocked.wait_for(0ms), std::future_status::ready);
    const auto [result, took] = blocked.get();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), TransportError::Cancelled);
    EXPECT_LT(took, 5s);
    // A later call works normally.
    expect_power_on(*t, 4);
}

TEST(SocketTransport, CardEventsArriveOnTheInterruptPipe) {
    ServedReader served;
    auto t = connect_to(served);
    ASSERT_TRUE(t && t->claim());
    drain_interrupts(*t);
    served.server().reader().sim().remove_card(0);
    std::array<std::uint8_t, 64> buf{};
    auto n = t->interrupt_in(buf, 2s);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 2u);
    EXPECT_EQ(buf[0], 0x50);          // RDR_to_PC_NotifySlotChange
    EXPECT_EQ(buf[1] & 0x03, 0x02);   // slot 0: absent, changed
}

TEST(SocketTransport, ServerDeathIsNoDevice) {
    ServedReader served;
    auto t = connect_to(served);
    ASSERT_TRUE(t && t->claim());
    drain_interrupts(*t);
    auto blocked = std::async(std::launch::async, [&] {
        std::array<std::uint8_t, 64> buf{};
        return t->interrupt_in(buf, 30s);
    });
    served.stop();
    ASSERT_EQ(blocked.wait_for(5s), std::future_status::ready);
    auto r = blocked.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), TransportError::NoDevice);
    auto later = t->bulk_out(encode(pc_to_rdr::IccPowerOn{0, 1}), 1s);
    ASSERT_FALSE(later);
    EXPECT_EQ(later.error(), TransportError::NoDevice);
    EXPECT_FALSE(t->failure().empty());
}

TEST(SocketTransport, NoServerIsNoDevice) {
    auto t = SocketTransport::connect("/nonexistent/ccidkit.sock");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, TransportError::NoDevice);
    EXPECT_NE(t.error().message.find("/nonexistent/ccidkit.sock"), std::string::npos);
    auto too_long = SocketTransport::connect(std::string(200, 'x'));
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().code, TransportError::Io);
}

// ---- Hostile servers: a script runs on the server end of a socketpair ----

class ScriptedServer {
public:
    explicit ScriptedServer(std::function<void(int fd)> script) {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
        client_fd_ = fds[0];
        server_fd_ = fds[1];
        thread_ = std::thread([this, script = std::move(script)] {
            script(server_fd_);
            ::close(server_fd_);
        });
    }
    ~ScriptedServer() {
        if (thread_.joinable()) thread_.join();
    }
    std::expected<std::unique_ptr<SocketTransport>, SocketError> connect() {
        return SocketTransport::adopt(client_fd_, "scripted");
    }

private:
    int client_fd_ = -1;
    int server_fd_ = -1;
    std::thread thread_;
};

// Answers the HELLO with a plain reader; returns its request id.
void answer_hello(int fd) {
    auto hello = read_frame(fd);
    if (!hello || hello->op != Op::Hello) return;
    HelloInfo info;
    info.class_descriptor = encode_ccid_descriptor(CcidDescriptor{});
    info.manufacturer = "scripted";
    (void)write_frame(fd, Frame{Op::Reply, hello->id, encode_reply(std::nullopt, encode_hello(info))});
}

void send_raw(int fd, ByteView bytes) { (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL); }

// Waits for the client to end the connection (or 10 s), so the script's end is not a death.
void wait_for_close(int fd) {
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::uint8_t b;
    while (::recv(fd, &b, 1, 0) > 0) {
    }
}

std::expected<std::size_t, TransportError> bulk_in_of(SocketTransport& t, std::size_t size = 64) {
    Bytes buf(size);
    return t.bulk_in(buf, 200ms);
}

TEST(SocketTransportHostile, OversizedFrameDropsTheConnection) {
    ScriptedServer server([](int fd) {
        answer_hello(fd);
        auto request = read_frame(fd);
        std::uint8_t huge[4];
        store_le32(huge, 0x7FFFFFFF);
        send_raw(fd, huge);
        wait_for_close(fd);
    });
    auto t = server.connect();
    ASSERT_TRUE(t) << t.error().message;
    auto r = bulk_in_of(**t);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), TransportError::Io);
    EXPECT_NE((*t)->failure().find("bound"), std::string::npos) << (*t)->failure();
    auto later = bulk_in_of(**t);
    ASSERT_FALSE(later);
    EXPECT_EQ(later.error(), TransportError::NoDevice);
}

TEST(SocketTransportHostile, TruncatedFrameIsAnError) {
    ScriptedServer server([](int fd) {
        answer_hello(fd);
        auto request = read_frame(fd);
        Bytes frame = encode_frame(Frame{Op::Reply, request ? request->id : 0, encode_reply(std::nullopt, Bytes(40, 0xAA))});
        frame.resize(frame.size() - 10);
        send_raw(fd, frame);
        ::shutdown(fd, SHUT_WR);  // the server goes away in the middle of the frame
        wait_for_close(fd);
    });
    auto t = server.connect();
    ASSERT_TRUE(t) << t.error().message;
    auto r = bulk_in_of(**t);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), TransportError::Io);
    EXPECT_NE((*t)->failure().find("truncated"), std::string::npos) << (*t)->failure();
}

TEST(SocketTransportHostile, MalformedRepliesDropTheConnection) {
    // A status byte beyond every TransportError; a frame shorter than its head; a request
    // coming from the server.
    const std::vector<Bytes> hostile = {
        encode_frame(Frame{Op::Reply, 2, Bytes{0xEE}}),
        Bytes{0x02, 0x00, 0x00, 0x00, 0x80, 0x02},
        encode_frame(Frame{Op::BulkOut, 2, Bytes{0, 0, 0, 0}}),
        encode_frame(Frame{Op::Reply, 2, Bytes{}}),
    };
    for (const auto& bytes : hostile) {
        ScriptedServer server([&bytes](int fd) {
            answer_hello(fd);
            (void)read_frame(fd);
            send_raw(fd, bytes);
            wait_for_close(fd);
        });
        auto t = server.connect();
        ASSERT_TRUE(t) << t.error().message;
        auto r = bulk_in_of(**t);
        ASSERT_FALSE(r) << to_hex(bytes);
        EXPECT_EQ(r.error(), TransportError::Io) << to_hex(bytes);
        EXPECT_FALSE((*t)->failure().empty());
    }
}

TEST(SocketTransportHostile, MoreDataThanAskedIsOverflow) {
    ScriptedServer server([](int fd) {
        answer_hello(fd);
        auto request = read_frame(fd);
        (void)write_frame(fd, Frame{Op::Reply, request ? request->id : 0, encode_reply(std::nullopt, Bytes(65, 0x11))});
        wait_for_close(fd);
    });
    auto t = server.connect();
    ASSERT_TRUE(t) << t.error().message;
    auto r = bulk_in_of(**t, 64);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), TransportError::Overflow);
}

TEST(SocketTransportHostile, ASilentServerIsATimeoutNotAHang) {
    ScriptedServer server([](int fd) {
        answer_hello(fd);
        wait_for_close(fd);  // reads requests, never answers
    });
    auto t = server.connect();
    ASSERT_TRUE(t) << t.error().message;
    const auto start = Clock::now();
    auto r = bulk_in_of(**t);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), TransportError::Timeout);
    EXPECT_LT(Clock::now() - start, 200ms + SocketTransport::kReplyGrace + 1s);
}

TEST(SocketTransportHostile, BadHelloRefusesTheConnection) {
    ScriptedServer garbage([](int fd) {
        auto hello = read_frame(fd);
        (void)write_frame(fd, Frame{Op::Reply, hello ? hello->id : 0, encode_reply(std::nullopt, Bytes{1, 0, 9})});
        wait_for_close(fd);
    });
    auto t = garbage.connect();
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, TransportError::Io);

    ScriptedServer future_version([](int fd) {
        auto hello = read_frame(fd);
        HelloInfo info;
        info.version = kWireVersion + 1;
        (void)write_frame(fd, Frame{Op::Reply, hello ? hello->id : 0, encode_reply(std::nullopt, encode_hello(info))});
        wait_for_close(fd);
    });
    auto v = future_version.connect();
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code, TransportError::NotSupported);

    ScriptedServer dies([](int fd) { (void)read_frame(fd); });
    auto d = dies.connect();
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, TransportError::NoDevice);
}

TEST(SocketWire, FramesAndHelloRoundTrip) {
    const Frame f{Op::BulkOut, 0x01020304, Bytes{1, 2, 3}};
    const Bytes wire = encode_frame(f);
    ASSERT_EQ(wire.size(), kFrameLengthBytes + kFrameHeadBytes + 3);
    auto length = frame_length(wire);
    ASSERT_TRUE(length);
    auto back = decode_frame(ByteView(wire).subspan(kFrameLengthBytes, *length));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->op, Op::BulkOut);
    EXPECT_EQ(back->id, 0x01020304u);
    EXPECT_EQ(back->body, f.body);

    HelloInfo h;
    h.class_descriptor = Bytes(54, 7);
    h.vendor_id = 0x1234;
    h.serial = "S1";
    h.has_interrupt_in = true;
    h.bulk_in_max_packet = 512;
    h.interface_number = 2;
    auto decoded = decode_hello(encode_hello(h));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, h);
    Bytes cut = encode_hello(h);
    cut.pop_back();
    EXPECT_FALSE(decode_hello(cut));

    EXPECT_EQ(wire_millis(Millis(-5)), 0u);
    EXPECT_EQ(wire_millis(Millis(1LL << 40)), 0xFFFFFFFFu);
    std::uint8_t too_big[4];
    store_le32(too_big, static_cast<std::uint32_t>(kMaxFrameBody + 1));
    EXPECT_EQ(frame_length(too_big).error(), WireError::Oversized);
}

}  // namespace
}  // namespace ccidkit::ccid::socket

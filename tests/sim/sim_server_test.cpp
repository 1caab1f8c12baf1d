// The simulator server in-process: control requests (insert, remove, status, faults, errors),
// unplug, the connection limit, socket file handling, and the fault text syntax.
#include "sim/socket/sim_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "ccid/socket/socket_io.h"
#include "ccid/socket/socket_transport.h"
#include "sim/socket/fault_text.h"
#include "sim/socket/sim_control_client.h"

namespace ccidkit::sim {
namespace {

using namespace std::chrono_literals;
using ccid::socket::Op;

class SimServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/ccidkit-simserver-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir + "/reader.sock";
    }
    void TearDown() override {
        stop();
        std::filesystem::remove_all(dir);
    }
    void serve(std::string_view spec = "tpdu:t1", std::size_t max_connections = 64) {
        auto specs = parse_virtual_spec(spec);
        ASSERT_TRUE(specs) << specs.error();
        auto s = SimServer::listen(SimServerOptions{path, specs->front(), max_connections});
        ASSERT_TRUE(s) << s.error();
        server = std::move(*s);
        thread = std::thread([this] { server->run(); });
    }
    void stop() {
        if (!server) return;
        server->stop();
        thread.join();
        server.reset();
    }
    std::expected<std::string, std::string> ctl(Op op, std::string_view body = {}) {
        return send_sim_control(path, op, ByteView(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
    }

    std::string dir;
    std::string path;
    std::unique_ptr<SimServer> server;
    std::thread thread;
};

TEST_F(SimServerTest, InsertRemoveAndStatus) {
    serve("short:t0");
    auto status = ctl(Op::Status);
    ASSERT_TRUE(status) << status.error();
    EXPECT_NE(status->find("reader: short:t0\n"), std::string::npos) << *status;
    EXPECT_NE(status->find("card: t0\n"), std::string::npos) << *status;
    EXPECT_NE(status->find("claimed: no\n"), std::string::npos) << *status;

    ASSERT_TRUE(ctl(Op::Remove));
    EXPECT_FALSE(server->reader().sim().card_present(0));
    EXPECT_NE(ctl(Op::Status)->find("present: no\n"), std::string::npos);

    ASSERT_TRUE(ctl(Op::Insert, "t1"));
    EXPECT_TRUE(server->reader().sim().card_present(0));
    EXPECT_NE(ctl(Op::Status)->find("card: t1\n"), std::string::npos);

    auto bad = ctl(Op::Insert, "t2");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("unknown card 't2'"), std::string::npos) << bad.error();
    EXPECT_TRUE(server->reader().sim().card_present(0));  // unchanged

    auto not_control = ctl(Op::Reply);
    EXPECT_FALSE(not_control);
}

TEST_F(SimServerTest, StatusCountsClaimAndConnections) {
    serve();
    auto a = ccid::socket::SocketTransport::connect(path);
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE((*a)->claim());
    auto status = ctl(Op::Status);
    ASSERT_TRUE(status);
    EXPECT_NE(status->find("claimed: yes\n"), std::string::npos) << *status;
    EXPECT_NE(status->find("connections: 2\n"), std::string::npos) << *status;  // a + this one
}

TEST_F(SimServerTest, FaultsAndErrorsReachTheSimulator) {
    serve();
    ASSERT_TRUE(ctl(Op::SetFaults, "silent=2,truncated=1"));
    EXPECT_EQ(server->reader().sim().faults().silent, 2u);
    EXPECT_EQ(server->reader().sim().faults().truncated, 1u);
    ASSERT_TRUE(ctl(Op::SetFaults, "clear,stale_seq=3"));
    EXPECT_EQ(server->reader().sim().faults().silent, 0u);
    EXPECT_EQ(server->reader().sim().faults().stale_seq, 3u);
    auto bad = ctl(Op::SetFaults, "silent=-1");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("silent=-1"), std::string::npos);

    const auto storm = ccid::socket::BodyWriter().u32(5).take();
    ASSERT_TRUE(send_sim_control(path, Op::SlotChangeStorm, storm));
    const auto too_big = ccid::socket::BodyWriter().u32(100001).take();
    EXPECT_FALSE(send_sim_control(path, Op::SlotChangeStorm, too_big));
    ASSERT_TRUE(send_sim_control(path, Op::HardwareError, Bytes{0x02}));
}

TEST_F(SimServerTest, UnplugEndsEveryConnectionAndTheServer) {
    serve();
    auto a = ccid::socket::SocketTransport::connect(path);
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE((*a)->claim());
    ASSERT_TRUE(ctl(Op::Unplug));  // answered before the server goes
    thread.join();                 // run() returns by itself
    EXPECT_TRUE(server->unplugged());
    EXPECT_FALSE(std::filesystem::exists(path));
    std::array<std::uint8_t, 64> buf{};
    auto r = (*a)->interrupt_in(buf, 2s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ccid::TransportError::NoDevice);
    auto again = ccid::socket::SocketTransport::connect(path);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ccid::TransportError::NoDevice);
    server.reset();
}

TEST_F(SimServerTest, ConnectionsBeyondTheLimitAreClosed) {
    serve("tpdu:t1", 1);
    auto a = ccid::socket::SocketTransport::connect(path);
    ASSERT_TRUE(a) << a.error().message;
    auto b = ccid::socket::SocketTransport::connect(path);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, ccid::TransportError::NoDevice);
    a->reset();  // frees the place (asynchronously: the server reaps it)
    const auto end = std::chrono::steady_clock::now() + 3s;
    bool connected = false;
    while (!connected && std::chrono::steady_clock::now() < end) {
        connected = bool(ccid::socket::SocketTransport::connect(path));
        if (!connected) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(connected);
}

TEST_F(SimServerTest, SocketPathRules) {
    // A stale socket file (nobody listening) is replaced.
    {
        auto fd = ccid::socket::listen_unix(path);
        ASSERT_TRUE(fd) << fd.error();
        ::close(*fd);  // the file stays, nobody listens
    }
    serve();
    EXPECT_TRUE(ctl(Op::Status));
    // A live one is refused.
    auto specs = parse_virtual_spec("tpdu:t1");
    auto second = SimServer::listen(SimServerOptions{path, specs->front()});
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().find("another server"), std::string::npos) << second.error();
    stop();
    EXPECT_FALSE(std::filesystem::exists(path));  // removed on the way out
    // A regular file is never replaced.
    std::ofstream(path) << "data";
    auto over_file = SimServer::listen(SimServerOptions{path, specs->front()});
    ASSERT_FALSE(over_file);
    EXPECT_TRUE(std::filesystem::exists(path));
    // A socket reader cannot be served.
    auto served = parse_virtual_spec("socket=/x");
    auto loop = SimServer::listen(SimServerOptions{dir + "/other.sock", served->front()});
    EXPECT_FALSE(loop);
}

TEST_F(SimServerTest, HostileClientsAreDroppedNotFatal) {
    serve();
    auto fd = ccid::socket::connect_unix(path);
    ASSERT_TRUE(fd);
    std::uint8_t huge[4];
    store_le32(huge, 0x7FFFFFFF);
    ASSERT_EQ(::write(*fd, huge, 4), 4);
    std::uint8_t b;
    EXPECT_EQ(::read(*fd, &b, 1), 0);  // dropped
    ::close(*fd);
    // Malformed bodies get an error reply, the connection stays.
    auto t = ccid::socket::connect_unix(path);
    ASSERT_TRUE(t);
    ASSERT_TRUE(ccid::socket::write_frame(*t, ccid::socket::Frame{Op::BulkIn, 9, Bytes{1}}));
    auto reply = ccid::socket::read_frame(*t);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->id, 9u);
    auto decoded = ccid::socket::decode_reply(reply->body);
    ASSERT_TRUE(decoded && decoded->error);
    EXPECT_EQ(*decoded->error, ccid::TransportError::Io);
    ::close(*t);
    EXPECT_TRUE(ctl(Op::Status));  // still serving
}

TEST(FaultText, Syntax) {
    auto f = apply_fault_text(ReaderFaults{}, "stale_seq=1,oversize=2,truncated=3,silent=4,bulk_in_stalls=5");
    ASSERT_TRUE(f) << f.error();
    EXPECT_EQ(f->stale_seq, 1u);
    EXPECT_EQ(f->oversize, 2u);
    EXPECT_EQ(f->truncated, 3u);
    EXPECT_EQ(f->silent, 4u);
    EXPECT_EQ(f->bulk_in_stalls, 5u);
    auto endless = apply_fault_text(*f, "clear,endless_time_extension=1");
    ASSERT_TRUE(endless);
    EXPECT_TRUE(endless->endless_time_extension);
    EXPECT_EQ(endless->silent, 0u);
    for (const char* bad : {"", "silent", "silent=", "silent=x", "silent=1000001", "nope=1", "endless_time_extension=2",
                            "silent=1,", ",silent=1"})
        EXPECT_FALSE(apply_fault_text(ReaderFaults{}, bad)) << bad;
}

}  // namespace
}  // namespace ccidkit::sim

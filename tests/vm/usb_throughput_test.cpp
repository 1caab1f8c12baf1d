// Round trips through the real kernel USB path (libusb -> usbfs -> dummy_hcd -> f_fs ->
// ccid-gadget), measured inside the test VM. The figures are printed as "[ MEASURE ]" lines
// and appended to $CCIDKIT_VM_RESULTS/measurements.txt; the assertions only check that every
// round trip came back intact and that the rate is not absurdly low (a sign of a per-transfer
// timeout, e.g. a missing zero-length packet).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "vm_apdu.h"
#include "vm_reader.h"

namespace ccidkit::vmtest {
namespace {

using ccid::Millis;

void report(const std::string& what, double per_second, const std::string& unit = "round trips/s") {
    const std::string line = what + ": " + std::to_string(static_cast<long>(per_second)) + " " + unit;
    std::printf("[ MEASURE  ] %s\n", line.c_str());
    if (const char* dir = std::getenv("CCIDKIT_VM_RESULTS")) {
        std::ofstream(std::string(dir) + "/measurements.txt", std::ios::app) << line << '\n';
    }
    ::testing::Test::RecordProperty(what, std::to_string(per_second));
}

// Runs `once` for about `budget` (at least `min_rounds` times); returns rounds per second.
template <typename F>
double rate(F&& once, std::chrono::milliseconds budget, int min_rounds = 20) {
    const auto start = Clock::now();
    int rounds = 0;
    while (rounds < min_rounds || Clock::now() - start < budget) {
        if (!once()) return -1;
        ++rounds;
        if (rounds >= 100000) break;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return rounds / seconds;
}

TEST(GadgetThroughput, RawBulkPingPongThroughTheEchoGadget) {
    CCIDKIT_VM_ONLY();
    auto g = plug_gadget({"--echo"});
    ASSERT_TRUE(g);
    auto t = open_candidate(g.candidate);
    ASSERT_TRUE(t);
    const std::size_t mps = t->bulk_in_max_packet();
    for (const std::size_t size : {std::size_t{10}, std::size_t{271}, std::size_t{4096}, std::size_t{65546}}) {
        const Bytes m = ccid::encode(ccid::pc_to_rdr::XfrBlock{0, 0, 0, 0, test_data(size - 10)});
        // The IN buffer as a driver sizes it (whole packets, larger than the message, so that
        // the zero-length packet ending a message of whole packets ends this transfer and is
        // not left for the next one), and one sized for the largest CCID message.
        for (const std::size_t buffer_size : {(size + mps) / mps * mps, std::size_t{70 * 1024}}) {
            if (buffer_size < size) continue;
            std::vector<std::uint8_t> buffer(buffer_size);
            bool intact = true;
            const double r = rate(
                [&] {
                    if (!t->bulk_out(m, Millis{5000})) return false;
                    auto n = t->bulk_in(buffer, Millis{5000});
                    intact = intact && n && *n == m.size() && std::equal(m.begin(), m.end(), buffer.begin());
                    return n.has_value();
                },
                std::chrono::milliseconds{1000});
            ASSERT_GT(r, 0) << size;
            EXPECT_TRUE(intact) << size;
            const std::string what = "echo gadget, " + std::to_string(size) + "-byte messages, " +
                                     std::to_string(buffer_size) + "-byte IN buffer";
            report(what, r);
            if (size >= 4096) report(what, r * 2.0 * static_cast<double>(size) / 1024, "KiB/s (both ways)");
            EXPECT_GT(r, 5.0) << size;
        }
    }
}

TEST(GadgetThroughput, GetSlotStatusThroughTheReaderSimulator) {
    CCIDKIT_VM_ONLY();
    auto g = plug_gadget({"--level", "short"});
    ASSERT_TRUE(g);
    auto t = open_candidate(g.candidate);
    ASSERT_TRUE(t);
    std::uint8_t seq = 0;
    const double r = rate(
        [&] {
            auto reply = transact(*t, ccid::pc_to_rdr::GetSlotStatus{0, ++seq}, 271, Millis{5000});
            return reply && ccid::seq_of(*reply) == seq;
        },
        std::chrono::milliseconds{1500});
    ASSERT_GT(r, 0);
    report("reader simulator, GetSlotStatus", r);
    EXPECT_GT(r, 5.0);
}

TEST(GadgetThroughput, ApdusThroughTheDriver) {
    CCIDKIT_VM_ONLY();
    for (const char* level : {"short", "tpdu"}) {
        auto g = plug_gadget({"--level", level, "--card", "t1"});
        ASSERT_TRUE(g);
        auto reader = open_driver(g.candidate);
        ASSERT_TRUE(reader);
        ASSERT_TRUE(reader->slot(0)->power_on());
        const Bytes data = test_data(16);
        const Bytes command = echo_apdu(data, 16);
        const double r = rate(
            [&] {
                auto response = reader->slot(0)->transmit(command);
                return response && *response == plus_9000(data);
            },
            std::chrono::milliseconds{1500});
        ASSERT_GT(r, 0) << level;
        report(std::string("driver, ") + level + " level T=1, 16-byte echo APDU", r, "APDU/s");
        EXPECT_GT(r, 2.0);
    }
}

}  // namespace
}  // namespace ccidkit::vmtest

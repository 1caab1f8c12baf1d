// Moves bytes between a FunctionFS function's endpoint files and a device-side
// ccid::Transport (the reader simulator, or the echo device): one thread per pipe.
//  - ep0: FunctionFS events; class requests (SETUP) go to control_in/control_out, whose
//    failure stalls the request (USB 2.0 9.2.7).
//  - bulk OUT: reassembles one CCID message per transfer (header dwLength, CCID 6.1, or the
//    end of the transfer: a short or zero-length packet) and hands it to bulk_out.
//  - bulk IN: each bulk_in message is written as one transfer, followed by a zero-length
//    packet when its length is a multiple of wMaxPacketSize (the kernel's f_fs in Linux 6.1
//    never adds one). A Stall from the device halts the endpoint.
//  - interrupt IN: each interrupt_in message is one transfer.
// The device is fetched from a provider before every call, so it can be replaced (a re-plug
// powers the reader up fresh) while the threads run. On unbind/disable the endpoint calls fail
// and block until the host enables the function again; the threads just retry.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "ccid/transport.h"
#include "common/bytes.h"

namespace ccidkit::gadget {

using DeviceProvider = std::function<std::shared_ptr<ccid::Transport>()>;

struct BridgeCounters {
    std::atomic<std::uint64_t> bulk_out_messages{0};
    std::atomic<std::uint64_t> bulk_in_messages{0};
    std::atomic<std::uint64_t> interrupt_messages{0};
    std::atomic<std::uint64_t> zero_length_packets{0};
    std::atomic<std::uint64_t> setups{0};
    std::atomic<std::uint64_t> stalls{0};
    std::atomic<std::uint64_t> enables{0};
    std::atomic<std::uint64_t> disables{0};
};

class FfsBridge {
public:
    FfsBridge(std::string ffs_dir, DeviceProvider provider, bool interrupt_in, bool verbose);
    ~FfsBridge();
    FfsBridge(const FfsBridge&) = delete;
    FfsBridge& operator=(const FfsBridge&) = delete;

    // Opens ep0, writes the descriptor and string blobs, opens the endpoint files.
    std::expected<void, std::string> open(ByteView descriptors, ByteView strings);
    void start();
    // Stops and joins every thread (interrupting blocked endpoint I/O with a signal).
    void stop();

    bool enabled() const { return enabled_.load(); }
    const BridgeCounters& counters() const { return counters_; }

private:
    struct Worker {
        std::thread thread;
        std::atomic<bool> done{false};
    };

    void run_ep0();
    void run_bulk_out();
    void run_bulk_in();
    void run_interrupt();
    void handle_setup(const void* setup);
    // wMaxPacketSize of an endpoint at the current speed; waits until it is enabled.
    std::expected<std::uint16_t, int> max_packet(int fd) const;
    // The same, asked once per enable: the answer changes only when the host enables the
    // function again (maybe at another speed), and the ioctl was two system calls per APDU.
    // Each endpoint thread keeps its own cache.
    struct PacketSizeCache {
        std::uint64_t enables = ~std::uint64_t{0};
        std::uint16_t value = 0;
    };
    std::expected<std::uint16_t, int> max_packet(int fd, PacketSizeCache& cache) const;
    std::expected<Bytes, int> read_message(PacketSizeCache& cache);
    bool write_transfer(int fd, ByteView data, std::uint16_t max_packet, bool zlp);
    void log(const std::string& text) const;
    void spawn(Worker& w, void (FfsBridge::*body)());

    std::string dir_;
    DeviceProvider provider_;
    bool interrupt_in_;
    bool verbose_;
    int ep0_ = -1;
    int bulk_out_ = -1;
    int bulk_in_ = -1;
    int int_in_ = -1;

    std::atomic<bool> stopping_{false};
    std::atomic<bool> enabled_{false};
    Worker ep0_worker_, out_worker_, in_worker_, int_worker_;
    BridgeCounters counters_;
};

}  // namespace ccidkit::gadget

// The other processes of bench/cross_process_bench.cpp: each is a separate program using the
// SCard C ABI, as applications sharing a reader would be. The benchmark drives it through
// stdin (one command byte per step) and reads CLOCK_MONOTONIC timestamps (8 bytes, native
// order) from stdout; that clock is the same in every process.
//
//   xproc_worker holder         per 'b': BeginTransaction, reply 'T'; per 'e': send the time,
//                               then EndTransaction
//   xproc_worker waiter         per 'g': reply 'w', BeginTransaction, send the time it returned,
//                               EndTransaction
//   xproc_worker events         SCardGetStatusChange in a loop: the time of each return with a
//                               changed presence
//   xproc_worker idle           connects and waits for end of input (a second process on the
//                               reader)
//   xproc_worker inproc-events N   an in-process virtual reader: N card toggles made here,
//                               each sample the time from the toggle to GetStatusChange's return
// The reader comes from CCID_VIRTUAL_READERS (socket=PATH) except for inproc-events.
#include <PCSC/winscard.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "api/ccid_backend_provider.h"
#include "api/service_registry.h"
#include "sim/reader/reader_sim.h"
#include "sim/virtual_spec.h"

namespace {

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool read_byte(char& c) { return ::read(STDIN_FILENO, &c, 1) == 1; }
void write_byte(char c) { (void)!::write(STDOUT_FILENO, &c, 1); }
void write_time(std::int64_t t) { (void)!::write(STDOUT_FILENO, &t, sizeof(t)); }

struct Session {
    SCARDCONTEXT ctx = 0;
    SCARDHANDLE h = 0;
    std::string reader;

    bool open(bool connect) {
        if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx) != SCARD_S_SUCCESS) return false;
        char names[512];
        DWORD len = sizeof(names);
        if (SCardListReaders(ctx, nullptr, names, &len) != SCARD_S_SUCCESS) return false;
        reader = names;
        if (!connect) return true;
        DWORD protocol = 0;
        return SCardConnect(ctx, reader.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                            &protocol) == SCARD_S_SUCCESS;
    }
};

int holder() {
    Session s;
    if (!s.open(true)) return 1;
    write_byte('r');
    for (char c; read_byte(c);) {
        if (c == 'b') {
            if (SCardBeginTransaction(s.h) != SCARD_S_SUCCESS) return 2;
            write_byte('T');
        } else if (c == 'e') {
            write_time(now_ns());
            if (SCardEndTransaction(s.h, SCARD_LEAVE_CARD) != SCARD_S_SUCCESS) return 3;
        }
    }
    return 0;
}

int waiter() {
    Session s;
    if (!s.open(true)) return 1;
    write_byte('r');
    for (char c; read_byte(c);) {
        if (c != 'g') continue;
        write_byte('w');
        if (SCardBeginTransaction(s.h) != SCARD_S_SUCCESS) return 2;
        write_time(now_ns());
        if (SCardEndTransaction(s.h, SCARD_LEAVE_CARD) != SCARD_S_SUCCESS) return 3;
    }
    return 0;
}

// Returns at every presence change, stamping the moment.
int watch_events(SCARDCONTEXT ctx, const std::string& reader, int count, const std::function<void()>& before_wait,
                 const std::function<void(std::int64_t)>& changed) {
    SCARD_READERSTATE rs{};
    rs.szReader = reader.c_str();
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    if (SCardGetStatusChange(ctx, 0, &rs, 1) != SCARD_S_SUCCESS) return 2;
    for (int i = 0; count < 0 || i < count; ++i) {
        rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
        const DWORD presence = rs.dwCurrentState & (SCARD_STATE_PRESENT | SCARD_STATE_EMPTY);
        if (before_wait) before_wait();
        do {
            const LONG rv = SCardGetStatusChange(ctx, INFINITE, &rs, 1);
            if (rv != SCARD_S_SUCCESS) return 3;
            rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
        } while ((rs.dwEventState & (SCARD_STATE_PRESENT | SCARD_STATE_EMPTY)) == presence);
        changed(now_ns());
    }
    return 0;
}

int events() {
    Session s;
    if (!s.open(false)) return 1;
    write_byte('r');
    return watch_events(s.ctx, s.reader, -1, {}, write_time);
}

int idle() {
    Session s;
    if (!s.open(true)) return 1;
    write_byte('r');
    for (char c; read_byte(c);) {
    }
    return 0;
}

// Toggles the card of an in-process simulator from another thread once the watcher waits, and
// reports toggle -> return for each change.
int inproc_events(int count) {
    using namespace ccidkit;
    auto specs = sim::parse_virtual_spec("tpdu:t1");
    if (!specs) return 1;
    api::CcidProviderOptions o;
    o.virtual_readers = std::move(*specs);
    o.usb = false;
    auto provider = std::make_shared<api::CcidProvider>(std::move(o));
    api::install_provider(provider);
    Session s;
    if (!s.open(false)) return 1;
    sim::ReaderSim& reader = *provider->simulator(0);
    std::thread toggler;
    std::atomic<std::int64_t> toggled{0};
    const auto before_wait = [&] {
        if (toggler.joinable()) toggler.join();
        toggler = std::thread([&] {
            // The watcher is about to block: let it get there, then change the card.
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            toggled = now_ns();
            if (reader.card_present(0)) reader.remove_card(0);
            else reader.insert_card(0, sim::SimCard::t1_default());
        });
    };
    // The sample sent is the latency itself (both ends are in this process).
    const int rc = watch_events(s.ctx, s.reader, count, before_wait, [&](std::int64_t t) { write_time(t - toggled.load()); });
    if (toggler.joinable()) toggler.join();
    SCardReleaseContext(s.ctx);
    api::install_provider(nullptr);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string role = argc > 1 ? argv[1] : "";
    if (role == "holder") return holder();
    if (role == "waiter") return waiter();
    if (role == "events") return events();
    if (role == "idle") return idle();
    if (role == "inproc-events" && argc > 2) return inproc_events(std::atoi(argv[2]));
    std::fprintf(stderr, "usage: xproc_worker holder|waiter|events|idle|inproc-events N\n");
    return 2;
}

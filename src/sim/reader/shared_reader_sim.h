// SharedReaderSim: one simulated reader seen through any number of transport handles, with the
// rule of a USB interface claim, as several processes see one real reader: at most one handle
// holds the claim; bulk, interrupt, class control and clear_halt calls of a handle that does
// not hold it fail with Busy. The handles are what src/api/shared_device.h coordinates in tests
// (and what the socket simulator server hands to its clients).
//
//     sim::SharedReaderSim shared(sim::make_reader_config(ccid::ExchangeLevel::ShortApdu));
//     auto a = shared.open_handle();   // unclaimed
//     auto b = shared.open_handle();
//     a->claim();                      // ok; b->claim() is now Busy until a->release()
//     shared.sim().insert_card(0, sim::SimCard::t1_default());
//
// Per handle:
//  - claim(): Busy while another handle holds the claim, NoDevice once the reader is
//    disconnected; idempotent for the holder.
//  - release(): ends this handle's calls in flight (they return Cancelled), waits for them,
//    then gives the claim back. Destroying a handle releases it.
//  - cancel(): wakes only this handle's blocked calls. (ReaderSim::cancel() wakes every caller:
//    the other handles' calls that it wakes go on waiting for what is left of their timeout.)
// Blocking calls wait in slices of at most kWaitSlice, so a cancel() racing with the start of a
// call is seen within one slice. Each slice is one ReaderSim call, so ReaderFaults::
// disappear_after_calls counts slices: use ReaderSim::disconnect() with shared readers.
//
// Thread-safe. Handles may outlive the SharedReaderSim (they share its state).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "ccid/transport.h"
#include "sim/reader/reader_config.h"
#include "sim/reader/reader_sim.h"

namespace ccidkit::sim {

class SharedReaderSim {
public:
    static constexpr std::chrono::milliseconds kWaitSlice{20};

    explicit SharedReaderSim(ReaderSimConfig config = {});
    explicit SharedReaderSim(std::unique_ptr<ReaderSim> sim);
    ~SharedReaderSim();
    SharedReaderSim(const SharedReaderSim&) = delete;
    SharedReaderSim& operator=(const SharedReaderSim&) = delete;

    // A new handle on the reader, not holding the claim.
    std::unique_ptr<ccid::Transport> open_handle();

    // The simulator itself: cards, faults, observation. Its Transport methods bypass the claim.
    ReaderSim& sim();

    // Observation for tests: whether some handle holds the claim, how many handles are open.
    bool claimed() const;
    std::size_t handles() const;
    // Calls of all handles that are inside the simulator now (blocked ones included).
    std::size_t calls_in_flight() const;

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace ccidkit::sim

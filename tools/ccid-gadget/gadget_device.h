// The device behind the gadget and its life cycle: the reader simulator (or the echo device),
// the cards in its slots, and plugging: unplug disconnects the simulator and unbinds the UDC
// (the host sees the device vanish); plug powers up a fresh simulator with the same cards and
// binds again, as a reader re-inserted into a USB port.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ccid/transport.h"
#include "configfs_gadget.h"
#include "gadget_options.h"
#include "sim/reader/reader_sim.h"

namespace ccidkit::gadget {

class GadgetDevice {
public:
    // `config` is ignored in echo mode.
    GadgetDevice(sim::ReaderSimConfig config, bool echo, ConfigfsGadget& gadget, std::string udc);

    // The current device (what the bridge talks to). Never null.
    std::shared_ptr<ccid::Transport> device() const;
    // The current simulator; null in echo mode.
    std::shared_ptr<sim::ReaderSim> reader() const;

    // Handles one command line (see usage_text()). Returns "ok", "ok <details>" or
    // "error: <why>".
    std::string command(std::string_view line);

    // Toggles the card in slot 0 (SIGUSR1).
    void toggle_card();
    // Called periodically: a simulator that disconnected itself (fault disappear_after) is
    // unplugged for real, so that the host sees the device go.
    void tick();

    std::string bind();
    std::string unplug();
    std::string plug();

private:
    std::string insert(unsigned slot, CardKind kind);
    std::string remove(unsigned slot);
    std::string fault(const std::vector<std::string>& words);
    std::string stats() const;
    void make_device();

    const sim::ReaderSimConfig config_;
    const bool echo_;
    ConfigfsGadget& gadget_;
    const std::string udc_;

    mutable std::mutex mutex_;
    std::shared_ptr<ccid::Transport> device_;
    std::shared_ptr<sim::ReaderSim> reader_;
    std::vector<CardKind> cards_;  // what is in each slot, re-inserted after a re-plug
    bool plugged_ = false;
};

}  // namespace ccidkit::gadget

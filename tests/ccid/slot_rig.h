// Shared by the slot_* tests: a host Reader opened on a ReaderSim, with short timeouts so that
// failure paths finish quickly.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "ccid/reader.h"
#include "sim/reader/reader_sim.h"

namespace ccidkit::ccid::testing {

inline ReaderOptions fast_options() {
    ReaderOptions o;
    o.control_timeout = Millis{300};
    o.power_on_timeout = Millis{1000};
    o.exchange.abort_timeout = Millis{300};
    o.drain_read_timeout = Millis{2};
    return o;
}

struct Rig {
    sim::ReaderSim* sim = nullptr;  // owned by `reader`
    std::unique_ptr<Reader> reader;
    Slot& slot() { return *reader->slot(0); }
    std::size_t sent(MessageType t) const { return sim->stats().count(t); }
};

// Opens the reader (card in slot 0 when given); with `power`, also powers the card on.
inline Rig open_rig(const sim::ReaderSimConfig& config, std::optional<sim::SimCard> card,
                    ReaderOptions options = fast_options(), bool power = false) {
    auto owned = std::make_unique<sim::ReaderSim>(config);
    Rig rig;
    rig.sim = owned.get();
    if (card) rig.sim->insert_card(0, std::move(*card));
    auto reader = Reader::open(std::move(owned), config.descriptor, options);
    EXPECT_TRUE(reader) << (reader ? "" : describe(reader.error()));
    if (!reader) return rig;
    rig.reader = std::move(*reader);
    if (power) {
        auto on = rig.slot().power_on();
        EXPECT_TRUE(on) << (on ? "" : describe(on.error()));
    }
    return rig;
}

}  // namespace ccidkit::ccid::testing

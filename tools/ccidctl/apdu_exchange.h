// Sending command APDUs for `apdu` and `script`, and showing them the way pcsc-tools'
// scriptor does ("> command", "< response : meaning of SW1 SW2"), or as JSON.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

#include "ccid/slot.h"
#include "common/bytes.h"
#include "json.h"

namespace ccidkit::ccidctl {

struct ApduExchange {
    Bytes command;
    std::optional<Bytes> response;  // data + SW1 SW2 (at least 2 bytes) when it worked
    std::optional<ccid::ReaderError> error;
    std::chrono::microseconds elapsed{0};
    std::optional<Bytes> expected;  // script expectation: SW only (2 bytes) or the whole response
    std::size_t line = 0;           // script line, 0 for the command line

    bool matches_expectation() const;
};

ApduExchange transmit(ccid::Slot& slot, ByteView command);

void print_exchange(std::ostream& out, const ApduExchange& e);
void write_exchange_json(JsonWriter& j, const ApduExchange& e);

}  // namespace ccidkit::ccidctl

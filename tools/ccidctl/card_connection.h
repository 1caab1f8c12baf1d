// The selected reader opened and the card in the selected slot powered on, for the commands
// that talk to a card (atr, apdu, script).
#pragma once

#include <expected>

#include "ccid/slot.h"
#include "command.h"
#include "readers.h"

namespace ccidkit::ccidctl {

struct CardConnection {
    OpenedReader opened;
    ccid::Slot* slot = nullptr;
    ccid::CardSession session;
};

std::expected<CardConnection, ReaderFailure> connect_card(const Context& ctx, const ccid::PowerOnOptions& options = {});

// The session's protocol as "T=0" / "T=1".
std::string protocol_name(const ccid::CardSession& s);

}  // namespace ccidkit::ccidctl

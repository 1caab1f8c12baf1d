// SCardGetAttrib() values that the core answers itself, from the reader description and the
// card state it tracks. Encodings follow libccid and the PC/SC part 3 attribute table: strings
// are NUL terminated, DWORD values are 4 bytes in host (little-endian) order.
#pragma once

#include <optional>
#include <string>

#include "PCSC/winscard.h"
#include "api/backend.h"

namespace ccidkit::api {

struct AttributeContext {
    const ReaderDescription& description;
    const std::string& reader_name;
    bool card_present = false;
    bool card_powered = false;
    ByteView atr;
    DWORD protocol = SCARD_PROTOCOL_UNDEFINED;
};

// nullopt: not a core attribute (or no value known), ask the backend.
std::optional<Bytes> core_attribute(DWORD id, const AttributeContext& ctx);

}  // namespace ccidkit::api

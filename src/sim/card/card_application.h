// The application running on a simulated card: sees whole command APDUs (short or
// extended, ISO/IEC 7816-4 clause 5) and answers with response data followed by SW1 SW2.
// Transport details (T=0 procedure bytes, GET RESPONSE, T=1 blocks) live in the
// protocol-side card simulators, not here.
#pragma once

#include "common/bytes.h"

namespace ccidkit::sim {

class CardApplication {
public:
    virtual ~CardApplication() = default;
    // `command` is a complete command APDU. The result is response data + SW1 SW2
    // (at least 2 bytes).
    virtual Bytes process(ByteView command) = 0;
    // Called on cold/warm reset: forget selections and transient state.
    virtual void reset() {}
};

}  // namespace ccidkit::sim

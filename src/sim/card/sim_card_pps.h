// The card side of protocol and parameters selection (ISO/IEC 7816-3:2006 clause 9): what a
// card answers to a PPS request, given its ATR and a configurable policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/bytes.h"
#include "protocol/atr.h"

namespace ccidkit::sim {

enum class PpsPolicy : std::uint8_t {
    // 9.3 successful exchange: a protocol the ATR offers is echoed; PPS1 is echoed when the
    // card supports those Fi/Di, otherwise it is left out (the card stays at Fd/Dd). PPS2 and
    // PPS3 are never echoed (no SPU, nothing reserved supported). Unsupported protocol:
    // no answer (there is no valid answer that refuses a protocol).
    Negotiate,
    // As Negotiate, but unsupported Fi/Di also gets no answer at all.
    NegotiateStrict,
    // The card never accepts PPS1: every supported protocol is answered at Fd/Dd.
    DefaultsOnly,
    // The card never answers a PPS request (e.g. a card that only knows its ATR defaults).
    Silent,
};

std::string_view to_string(PpsPolicy policy);

// Fi/Di the card supports: Fd/Dd (code 11) always; with TA1 present and valid, Fi of TA1
// combined with any Di whose value D does not exceed the D of TA1 (so that a reader may
// choose a lower rate, as protocol/pps_choice.h does).
bool card_supports_fi_di(const proto::Atr& atr, std::uint8_t pps1);

// Number of bytes of a PPS request whose PPS0 is `pps0`: PPSS, PPS0, one byte per bit 5-7,
// PCK (9.2).
constexpr std::size_t pps_request_size(std::uint8_t pps0) {
    return 3 + ((pps0 >> 4) & 1u) + ((pps0 >> 5) & 1u) + ((pps0 >> 6) & 1u);
}

struct PpsAnswer {
    std::optional<Bytes> response;  // nullopt: the card stays silent
    // What the card uses from now on when it answered: protocol and Fi/Di codes.
    std::uint8_t protocol = 0;
    std::uint8_t fi_code = 1;
    std::uint8_t di_code = 1;
};

// Answers one complete PPS request. A malformed request (wrong PPSS, bit 8 of PPS0 set, size
// not matching PPS0, PCK wrong, T = 15) gets no answer, as in 9.3 the reader then treats the
// card as not answering.
PpsAnswer answer_pps(const proto::Atr& atr, PpsPolicy policy, ByteView request);

}  // namespace ccidkit::sim

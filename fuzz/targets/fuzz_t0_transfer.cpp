// The reader side of one T=0 TPDU at character level (ISO/IEC 7816-3:2006 clause 10.3):
// procedure bytes (NULL, ACK, ~ACK, SW1) and data characters from an adversarial card.
// Input: u16 max NULL bytes, u8 max idle ACKs, u8 TPDU length + TPDU bytes, then card
// character chunks (u8 length + bytes each); the card goes silent at the end of the input.
// Invariants: no more characters consumed than offered, none after the end; output to the
// card bounded by the TPDU; bounded NULLs; the result is [data] SW1 SW2 with at most P3 data.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "protocol/t0_tpdu_transfer.h"

using namespace ccidkit;
using namespace ccidkit::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    T0TransferLimits limits;
    limits.max_null_bytes = in.u16();
    limits.max_idle_acks = in.u8();
    const ByteView tpdu = in.chunk8();

    T0TpduTransfer t(limits);
    if (!t.start(tpdu)) {
        FUZZ_CHECK(t.error().has_value() || t.state() == T0TpduTransfer::State::Idle);
        return 0;
    }
    const bool outgoing = tpdu.size() == 5;
    const std::size_t p3 = tpdu[4] == 0 && outgoing ? 256 : tpdu[4];
    std::size_t sent_to_card = 0;
    const auto take = [&] {
        sent_to_card += t.take_output().size();
        // The header, then each data byte at most once per ACK: bounded by the TPDU itself
        // (a card's ~ACK or ACK never makes the reader repeat bytes).
        FUZZ_CHECK(sent_to_card <= tpdu.size());
    };
    take();
    while (!in.empty()) {
        const ByteView chunk = in.chunk8();
        const bool was_finished = t.finished();
        const std::size_t used = t.on_card_bytes(chunk);
        FUZZ_CHECK(used <= chunk.size());
        if (was_finished) FUZZ_CHECK(used == 0);
        if (!t.finished()) FUZZ_CHECK(used == chunk.size());
        take();
        FUZZ_CHECK(t.null_bytes_seen() <= limits.max_null_bytes + 1);
    }
    if (!t.finished()) t.on_card_silent();
    FUZZ_CHECK(t.finished());
    if (t.state() == T0TpduTransfer::State::Done) {
        const Bytes& r = t.result();
        FUZZ_CHECK(r.size() >= 2);
        FUZZ_CHECK(r.size() <= (outgoing ? p3 : 0) + 2);
        const std::uint8_t sw1 = r[r.size() - 2];
        FUZZ_CHECK(((sw1 & 0xF0) == 0x60 && sw1 != 0x60) || (sw1 & 0xF0) == 0x90);
    } else {
        FUZZ_CHECK(t.error().has_value());
    }
    return 0;
}

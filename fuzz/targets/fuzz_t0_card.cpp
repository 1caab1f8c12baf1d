// The simulated T=0 card (src/sim/card/t0_card.h) in front of the demo application, fed by a
// hostile reader: characters at character level and whole TPDUs. Input:
//   u8 options: bit 0 6700 for wrong length, bit 1 announce with 61XX, bit 2 single-byte ACKs,
//               bit 3 ENVELOPE, bit 4 no implicit Ne, bit 5 endless 6CXX, bit 6 wrong
//               procedure byte, bit 7 endless 61XX (with data)
//   u8 NULL bytes before every procedure byte (0..3),
//   then events: tag % 4 = 0/1 reader characters (u8 length + bytes), 2 TPDU (u16 length +
//   bytes), 3 reset.
// Invariants: the card's output per call stays proportional to the input (a header can
// trigger at most one 256-byte data transfer plus procedure bytes and NULLs); a TPDU result is
// [data] SW1 SW2 with at most 256 data bytes; nothing throws.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "sim/card/apdu_app.h"
#include "sim/card/t0_card.h"

using namespace ccidkit;
using namespace ccidkit::sim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const std::uint8_t flags = in.u8();
    T0CardOptions options;
    options.wrong_length_as_6700 = (flags & 1) != 0;
    options.announce_with_61 = (flags & 2) != 0;
    options.single_byte_acks = (flags & 4) != 0;
    options.envelope = (flags & 8) != 0;
    if (flags & 16) options.implicit_ne = 0;
    options.faults.endless_6c = (flags & 32) != 0;
    options.faults.wrong_procedure_byte = (flags & 64) != 0;
    if (flags & 128) options.faults.endless_61 = Endless61::WithData;
    options.faults.null_bytes = in.u8() % 4;

    // A fresh card per input, copied from one built once: building the file system (a 64 KiB
    // EF filled byte by byte) took most of each execution; a copy is a memcpy.
    static const DemoCardApp pristine;
    DemoCardApp app = pristine;
    T0Card card(app, options);
    for (int events = 0; !in.empty() && events < 1024; ++events) {
        switch (in.u8() % 4) {
            case 0:
            case 1: {
                const ByteView chars = in.chunk8();
                const Bytes out = card.on_reader_chars(chars);
                // Per header at most 256 data bytes, each possibly after its own procedure byte
                // (~INS) and that byte's NULLs, then ACK and SW1 SW2 with their NULLs; per
                // received data character at most one procedure byte with its NULLs.
                const std::size_t nulls = options.faults.null_bytes;
                const std::size_t per_header = 256 * (2 + nulls) + 3 * (nulls + 1);
                FUZZ_CHECK(out.size() <= (chars.size() / 5 + 1) * per_header + (chars.size() + 1) * (nulls + 1));
                break;
            }
            case 2: {
                const auto result = card.exchange_tpdu(in.chunk16());
                if (result) {
                    FUZZ_CHECK(result->size() >= 2 && result->size() <= 258);
                }
                break;
            }
            default: card.reset(); break;
        }
    }
    return 0;
}

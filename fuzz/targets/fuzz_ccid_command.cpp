// What the simulated reader receives from a host: PC_to_RDR bulk-OUT commands (CCID Rev 1.1
// section 6.1) through decode_command, the header decoder used to answer malformed ones, the
// PIN structures of Secure (6.1.11) and of PC/SC part 10 (which applications hand to the
// driver), and the trace line. Input: u8 selector of dwMaxCCIDMessageLength, u8 trace data
// limit, then the message bytes (also read as a PC/SC PIN structure).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <variant>

#include "ccid/message_commands.h"
#include "ccid/message_framing.h"
#include "ccid/message_pin.h"
#include "ccid/message_trace.h"
#include "fuzz_support.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

constexpr std::size_t kMaxLengths[] = {271, 64, 65544 + kHeaderSize, kHeaderSize, 1024,
                                       std::numeric_limits<std::size_t>::max()};

void check_secure(const pc_to_rdr::Secure& s) {
    const auto op = s.pin_operation();
    if (!op) return;
    if (*op == PinOperation::Verify) {
        if (const auto v = decode_secure_pin_verify(s.abData)) {
            FUZZ_CHECK(v->abPINApdu.size() >= 4);
            // The CCID form drops nothing the decoder keeps: re-encoding reproduces the bytes.
            FUZZ_CHECK(secure_pin_verify_data(*v) == s.abData);
        }
    } else if (*op == PinOperation::Modify) {
        if (const auto m = decode_secure_pin_modify(s.abData)) {
            FUZZ_CHECK(m->abPINApdu.size() >= 4);
            FUZZ_CHECK(secure_pin_modify_data(*m) == s.abData);
        }
    }
}

void check_pcsc_pin(ByteView raw) {
    if (const auto v = decode_pcsc_pin_verify(raw)) {
        FUZZ_CHECK(v->abPINApdu.size() >= 4);
        FUZZ_CHECK(encode_pcsc_pin_verify(*v) == Bytes(raw.begin(), raw.end()));
        const auto via_secure = decode_secure_pin_verify(secure_pin_verify_data(*v));
        FUZZ_CHECK(via_secure.has_value());
        FUZZ_CHECK(via_secure->abPINApdu == v->abPINApdu);
    }
    if (const auto m = decode_pcsc_pin_modify(raw)) {
        FUZZ_CHECK(m->abPINApdu.size() >= 4);
        FUZZ_CHECK(encode_pcsc_pin_modify(*m) == Bytes(raw.begin(), raw.end()));
        const auto via_secure = decode_secure_pin_modify(secure_pin_modify_data(*m));
        FUZZ_CHECK(via_secure.has_value());
        FUZZ_CHECK(via_secure->abPINApdu == m->abPINApdu);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const std::size_t max_length = kMaxLengths[in.u8() % std::size(kMaxLengths)];
    const std::size_t trace_limit = in.u8();
    const ByteView message = in.rest();

    const auto header = decode_header(message);
    FUZZ_CHECK(header.has_value() == (message.size() >= kHeaderSize));
    const auto command = decode_command(message, max_length);
    if (command) {
        FUZZ_CHECK(header.has_value());
        FUZZ_CHECK(message.size() <= max_length);
        FUZZ_CHECK(static_cast<std::uint8_t>(message_type(*command)) == message[0]);
        FUZZ_CHECK(slot_of(*command) == header->bSlot && seq_of(*command) == header->bSeq);
        const Bytes encoded = encode(*command);
        FUZZ_CHECK(encoded.size() == message.size());
        const auto again = decode_command(encoded, max_length);
        FUZZ_CHECK(again.has_value() && *again == *command);
        if (const auto* s = std::get_if<pc_to_rdr::Secure>(&*command)) check_secure(*s);
    } else {
        // The simulator answers a rejected command with this bError (Table 6.2-2).
        (void)bad_parameter_offset(command.error());
        FUZZ_CHECK(!to_string(command.error()).empty());
    }
    check_pcsc_pin(message);

    const std::string line = trace_message(message, trace_limit);
    FUZZ_CHECK(!line.empty());
    FUZZ_CHECK(line.size() <= 3 * trace_limit + 8192);
    return 0;
}

// What a reader sends the host: every RDR_to_PC bulk-IN reply (CCID Rev 1.1 section 6.2), the
// interrupt-IN messages (6.3), the protocol data structure of Parameters replies, the slot
// error mapping, and the trace line the driver logs for each message.
// Input: u8 selector of dwMaxCCIDMessageLength, u8 slot count for the interrupt decoder,
// u8 trace data limit, then the message bytes.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <variant>

#include "ccid/message_interrupts.h"
#include "ccid/message_responses.h"
#include "ccid/message_trace.h"
#include "ccid/reader_error.h"
#include "fuzz_support.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

constexpr std::size_t kMaxLengths[] = {271, 64, 65544 + kHeaderSize, kHeaderSize, 1024,
                                       std::numeric_limits<std::size_t>::max()};

void check_response(const Response& r, ByteView message, std::size_t max_length) {
    FUZZ_CHECK(message.size() >= kHeaderSize && message.size() <= max_length);
    FUZZ_CHECK(static_cast<std::uint8_t>(message_type(r)) == message[0]);
    FUZZ_CHECK(slot_of(r) == message[5]);
    FUZZ_CHECK(seq_of(r) == message[6]);
    // Encoding what was decoded gives a message that decodes the same, and of the same size
    // except for a failed DataRateAndClockFrequency, whose missing 8 bytes decode as zeros.
    const Bytes encoded = encode(r);
    const auto* rate = std::get_if<rdr_to_pc::DataRateAndClockFrequency>(&r);
    if (!rate || message.size() != kHeaderSize) FUZZ_CHECK(encoded.size() == message.size());
    const auto again = decode_response(encoded, std::numeric_limits<std::size_t>::max());
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == r);

    const Status status = status_of(r);
    if (status.command() == CommandStatus::Failed) {
        FUZZ_CHECK(status.error().has_value());
        const ReaderError e = from_failed_status(status, MessageType::PcToRdrXfrBlock);
        FUZZ_CHECK(!describe(e).empty());
    }
    if (const auto* p = std::get_if<rdr_to_pc::Parameters>(&r)) {
        const auto params = p->parameters();
        if (params) {
            FUZZ_CHECK(protocol_num(*params) == p->bProtocolNum);
            FUZZ_CHECK(encode_protocol_data(*params) == p->abProtocolDataStructure);
            FUZZ_CHECK(rdr_to_pc::make_parameters(p->bSlot, p->bSeq, p->status, *params) == *p);
        }
    }
    if (const auto* d = std::get_if<rdr_to_pc::DataBlock>(&r)) {
        FUZZ_CHECK(d->abData.size() == message.size() - kHeaderSize);
    }
}

void check_interrupt(ByteView message, std::size_t slot_count) {
    const auto decoded = decode_interrupt(message, slot_count);
    if (!decoded) return;
    if (const auto* n = std::get_if<rdr_to_pc::NotifySlotChange>(&*decoded)) {
        FUZZ_CHECK(n->slots.size() <= kMaxSlots);
        FUZZ_CHECK(n->slots.size() <= 4 * (message.size() - 1));
        if (slot_count != 0) {
            FUZZ_CHECK(n->slots.size() == std::min(slot_count, kMaxSlots));
            const auto again = decode_interrupt(encode(*n), slot_count);
            FUZZ_CHECK(again.has_value() && *again == *decoded);
        }
    } else {
        const auto& h = std::get<rdr_to_pc::HardwareError>(*decoded);
        FUZZ_CHECK(message.size() == kHardwareErrorSize);
        FUZZ_CHECK(encode(h) == Bytes(message.begin(), message.end()));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const std::size_t max_length = kMaxLengths[in.u8() % std::size(kMaxLengths)];
    const std::size_t slot_count = in.u8();
    const std::size_t trace_limit = in.u8();
    const ByteView message = in.rest();

    const auto response = decode_response(message, max_length);
    if (response) {
        check_response(*response, message, max_length);
    } else {
        FUZZ_CHECK(!to_string(response.error()).empty());
    }
    check_interrupt(message, slot_count);

    const std::string line = trace_message(message, trace_limit);
    FUZZ_CHECK(!line.empty());
    // Data is cut at trace_limit bytes and a slot bitmap at 256 slots (~24 characters each):
    // the line stays short whatever the message length.
    FUZZ_CHECK(line.size() <= 3 * trace_limit + 8192);
    return 0;
}

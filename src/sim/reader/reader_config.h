// Configuration of the simulated CCID reader (ReaderSim): the class descriptor its behaviour
// follows, the USB identity it presents, the answers to the class requests, the simulated PIN
// pad, and reader-side behaviour such as time extensions. Every field has a usable default:
// ReaderSimConfig{} is a one-slot TPDU-level reader (the CcidDescriptor defaults).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>

#include "ccid/descriptor.h"
#include "ccid/descriptor_meaning.h"
#include "common/bytes.h"
#include "sim/reader_corpus.h"

namespace ccidkit::sim {

// What the simulated user does on the PIN pad when PC_to_RDR_Secure asks for a PIN.
enum class PinPadAction : std::uint8_t {
    Enter,    // types the configured digits and presses OK
    Cancel,   // presses Cancel: bError PIN_CANCELLED (EFh)
    Timeout,  // does nothing: bError PIN_TIMEOUT (F0h)
};

struct PinPadConfig {
    PinPadAction action = PinPadAction::Enter;
    std::string pin = "1234";      // digits typed for VERIFY, and as the current PIN for MODIFY
    std::string new_pin = "5678";  // digits typed (twice when confirmation is asked) for MODIFY
};

// Answer to PC_to_RDR_Escape: abData of RDR_to_PC_Escape, or nullopt for "command not
// supported" (bError 00).
using EscapeHandler = std::function<std::optional<Bytes>(ByteView)>;

struct ReaderSimConfig {
    ccid::CcidDescriptor descriptor;

    // USB identity (informational: what enumeration would show).
    std::uint16_t vendor_id = 0x1209;
    std::uint16_t product_id = 0xCC1D;
    std::uint16_t bcd_device = 0x0100;
    std::string manufacturer = "ccidkit";
    std::string product = "ccidkit simulated reader";
    std::string serial = "SIM0001";
    std::uint8_t interface_number = 0;
    std::uint16_t max_packet_size = 64;  // wMaxPacketSize of the bulk endpoints
    bool has_interrupt = true;           // interrupt-IN endpoint present (CCID 5.2.3)

    // GET_CLOCK_FREQUENCIES / GET_DATA_RATES answers (CCID 5.3.2, 5.3.3). An empty list makes the
    // request stall, as readers do when bNumClockSupported / bNumDataRatesSupported is 0.
    std::vector<std::uint32_t> clocks_khz;
    std::vector<std::uint32_t> data_rates_bps;

    // bmCommandStatus = 2 replies sent before the final reply of every IccPowerOn, XfrBlock,
    // Secure and Escape (CCID 6.2.6), each with this bError multiplier. The reader adds one
    // more per S(WTX request) the card makes at APDU level, with the card's multiplier.
    unsigned time_extensions = 0;
    std::uint8_t time_extension_multiplier = 1;

    PinPadConfig pinpad;
    EscapeHandler escape;  // null: echo abData back

    // Replies waiting to be read are bounded; beyond it bulk_out waits (the device NAKs).
    std::size_t max_queued_replies = 1024;
};

// The exchange level the simulator acts at. A contradictory dwFeatures level field (several
// bits) is treated as character level, as libccid does (none of its level comparisons match).
ccid::ExchangeLevel simulated_level(const ccid::CcidDescriptor& d);

// A one-slot reader at `level` with otherwise default fields: TPDU (the CcidDescriptor
// default), short APDU or extended APDU (dwMaxCCIDMessageLength 271, so extended APDUs are
// chained), or character level.
ReaderSimConfig make_reader_config(ccid::ExchangeLevel level, unsigned slots = 1);

// From the 54 (or more) bytes of a CCID class descriptor.
std::expected<ReaderSimConfig, ccid::DescriptorError> reader_config_from_descriptor(ByteView descriptor);

// Impersonates one interface of a real reader of the corpus: descriptor, VID/PID/bcdDevice,
// strings, clock and data-rate lists, interrupt endpoint when bNumEndpoints >= 3.
ReaderSimConfig reader_config_from_corpus(const CorpusInterface& record);

}  // namespace ccidkit::sim

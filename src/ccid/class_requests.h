// CCID class-specific control requests (CCID Rev 1.1 section 5.3): ABORT,
// GET_CLOCK_FREQUENCIES and GET_DATA_RATES, for both the host and the reader simulator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>
#include <vector>

#include "ccid/transport.h"
#include "common/bytes.h"

namespace ccidkit::ccid {

enum class ClassRequest : std::uint8_t {
    Abort = 0x01,                // host-to-device, no data
    GetClockFrequencies = 0x02,  // device-to-host, bNumClockSupported DWORDs (kHz)
    GetDataRates = 0x03,         // device-to-host, bNumDataRatesSupported DWORDs (bps)
};

// bmRequestType: class request addressed to an interface (USB 2.0 9.3.1).
inline constexpr std::uint8_t kClassInterfaceOut = 0x21;
inline constexpr std::uint8_t kClassInterfaceIn = 0xA1;

enum class ClassRequestError {
    EmptyReply,       // the reader returned no bytes
    ShortReply,       // fewer DWORDs than the descriptor's count
    RaggedReply,      // fewer bytes than the count needs, and not a whole number of DWORDs
    NotClassRequest,  // bmRequestType is not a class request to an interface
    WrongInterface,   // wIndex names another interface
    WrongDirection,   // bmRequestType direction does not match the request
    UnknownRequest,   // bRequest is not 01h..03h
};

std::string_view to_string(ClassRequestError e);

// ABORT: wValue = bSeq << 8 | bSlot (5.3.1). It must be followed by PC_to_RDR_Abort with the
// same bSlot/bSeq (6.1.13).
ControlSetup abort_request(std::uint8_t interface_number, std::uint8_t slot, std::uint8_t seq);
ControlSetup get_clock_frequencies_request(std::uint8_t interface_number);
ControlSetup get_data_rates_request(std::uint8_t interface_number);

// wLength (the buffer to pass to control_in) for `count` DWORDs taken from the class
// descriptor's bNumClockSupported / bNumDataRatesSupported.
inline constexpr std::size_t dword_array_reply_size(std::uint8_t count) { return std::size_t{count} * 4; }

// Strict: exactly `count` little-endian DWORDs are expected; bytes beyond them are ignored.
std::expected<std::vector<std::uint32_t>, ClassRequestError> decode_dword_array(ByteView reply, std::uint8_t count);

// Lenient fallback for readers that return fewer values than they announce: every whole
// DWORD present, at most `count` of them.
std::vector<std::uint32_t> whole_dwords(ByteView reply, std::uint8_t count);

Bytes encode_dword_array(std::span<const std::uint32_t> values);

// Device side: what the host asked for.
struct ClassRequestCall {
    ClassRequest request = ClassRequest::Abort;
    std::uint8_t slot = 0;  // ABORT only
    std::uint8_t seq = 0;   // ABORT only
    bool operator==(const ClassRequestCall&) const = default;
};

std::expected<ClassRequestCall, ClassRequestError> parse_class_request(const ControlSetup& setup,
                                                                       std::uint8_t interface_number);

}  // namespace ccidkit::ccid

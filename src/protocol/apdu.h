// Command and response APDUs (ISO/IEC 7816-4 clause 5.1, ISO/IEC 7816-3:2006 clause 12.1):
// decoding with the exact case rules of 7816-3 clause 12.1.3, builders for every case, and
// small helpers for response APDUs (data followed by SW1 SW2).
#pragma once

#include <cstdint>
#include <expected>
#include <string_view>

#include "common/bytes.h"

namespace ccidkit::proto {

// The seven encodings of clause 12.1.3 (S = short length fields, E = extended).
enum class ApduCase : std::uint8_t {
    Case1,   // header only
    Case2S,  // header + Le (1 byte)
    Case3S,  // header + Lc (1 byte) + data
    Case4S,  // header + Lc + data + Le (1 byte)
    Case2E,  // header + 00 + Le (2 bytes)
    Case3E,  // header + 00 + Lc (2 bytes) + data
    Case4E,  // header + 00 + Lc (2 bytes) + data + Le (2 bytes)
};

std::string_view to_string(ApduCase c);
bool is_extended(ApduCase c);
bool has_data(ApduCase c);  // Lc field present (cases 3 and 4)
bool has_le(ApduCase c);    // Le field present (cases 2 and 4)

enum class ApduError {
    TooShort,                 // fewer than the 4 header bytes
    ShortLcMismatch,          // short Lc present, body length is neither 1+Lc nor 2+Lc
    ExtendedLengthTruncated,  // body starts with 00 (extended) but has only 2 bytes
    ExtendedLcZero,           // extended Lc 0000 does not encode any Nc
    ExtendedLcMismatch,       // extended Lc present, body length is neither 3+Lc nor 5+Lc
    DataTooLong,              // builder: Nc > 65535
    NeTooLarge,               // builder: Ne > 65536
    NeedsExtendedLength,      // builder: short encoding requested but Nc > 255 or Ne > 256
    CaseMismatch,             // encode: apdu_case disagrees with data size / Ne
    ResponseTooShort,         // response APDU with fewer than 2 bytes (no SW1 SW2)
};

std::string_view to_string(ApduError e);

inline constexpr std::size_t kMaxShortNc = 255;
inline constexpr std::size_t kMaxExtendedNc = 65535;
inline constexpr std::uint32_t kMaxShortNe = 256;
inline constexpr std::uint32_t kMaxExtendedNe = 65536;
// 4 header + 3 (00 + Lc) + 65535 data + 2 (Le).
inline constexpr std::size_t kMaxCommandApduSize = 4 + 3 + kMaxExtendedNc + 2;

struct CommandApdu {
    std::uint8_t cla = 0;
    std::uint8_t ins = 0;
    std::uint8_t p1 = 0;
    std::uint8_t p2 = 0;
    Bytes data;              // Nc = data.size()
    std::uint32_t ne = 0;    // 0 (no Le field) .. 65536
    ApduCase apdu_case = ApduCase::Case1;

    std::size_t nc() const { return data.size(); }
    // True when the Le field is all zeros (short 00 or extended 0000): ISO/IEC 7816-4 gives
    // this encoding the meaning "as many bytes as available, up to the maximum".
    bool le_is_maximum() const;
};

// Decodes per clause 12.1.3. The returned APDU owns a copy of the data field.
std::expected<CommandApdu, ApduError> parse_command_apdu(ByteView apdu);

enum class LengthEncoding {
    Auto,      // short when Nc <= 255 and Ne <= 256, otherwise extended
    Short,
    Extended,
};

// Builds a consistent CommandApdu (apdu_case chosen from data, Ne and the encoding).
// Ne = 0 means no Le field.
std::expected<CommandApdu, ApduError> make_command_apdu(std::uint8_t cla, std::uint8_t ins,
                                                        std::uint8_t p1, std::uint8_t p2,
                                                        ByteView data = {}, std::uint32_t ne = 0,
                                                        LengthEncoding enc = LengthEncoding::Auto);

// Serialises; fails with CaseMismatch (or a length error) if the fields disagree with apdu_case.
std::expected<Bytes, ApduError> encode_command_apdu(const CommandApdu& apdu);

// One builder per case family; each returns the wire bytes.
Bytes build_case1(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2);
std::expected<Bytes, ApduError> build_case2(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1,
                                            std::uint8_t p2, std::uint32_t ne,
                                            LengthEncoding enc = LengthEncoding::Auto);
std::expected<Bytes, ApduError> build_case3(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1,
                                            std::uint8_t p2, ByteView data,
                                            LengthEncoding enc = LengthEncoding::Auto);
std::expected<Bytes, ApduError> build_case4(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1,
                                            std::uint8_t p2, ByteView data, std::uint32_t ne,
                                            LengthEncoding enc = LengthEncoding::Auto);

// ---- Response APDUs: [data] SW1 SW2 ----

struct ResponseApdu {
    Bytes data;
    std::uint8_t sw1 = 0;
    std::uint8_t sw2 = 0;

    std::uint16_t sw() const { return static_cast<std::uint16_t>((sw1 << 8) | sw2); }
    bool ok() const { return sw1 == 0x90 && sw2 == 0x00; }
};

std::expected<ResponseApdu, ApduError> parse_response_apdu(ByteView response);
Bytes make_response(ByteView data, std::uint16_t sw);
inline Bytes make_response(std::uint16_t sw) { return make_response({}, sw); }
Bytes encode_response_apdu(const ResponseApdu& r);

// Accessors on raw responses; they require response.size() >= 2 (callers check first).
inline std::uint8_t sw1_of(ByteView response) { return response[response.size() - 2]; }
inline std::uint8_t sw2_of(ByteView response) { return response[response.size() - 1]; }
inline std::uint16_t sw_of(ByteView response) {
    return static_cast<std::uint16_t>((sw1_of(response) << 8) | sw2_of(response));
}
inline ByteView response_data(ByteView response) { return response.first(response.size() - 2); }

// Common status words (ISO/IEC 7816-4 clause 5.1.3, tables 5 and 6).
namespace sw {
inline constexpr std::uint16_t kOk = 0x9000;
inline constexpr std::uint16_t kEndOfFileReached = 0x6282;
inline constexpr std::uint16_t kWrongLength = 0x6700;
inline constexpr std::uint16_t kLogicalChannelNotSupported = 0x6881;
inline constexpr std::uint16_t kSecureMessagingNotSupported = 0x6882;
inline constexpr std::uint16_t kChainingNotSupported = 0x6884;
inline constexpr std::uint16_t kIncompatibleFileStructure = 0x6981;
inline constexpr std::uint16_t kConditionsNotSatisfied = 0x6985;
inline constexpr std::uint16_t kNoCurrentEf = 0x6986;
inline constexpr std::uint16_t kWrongData = 0x6A80;
inline constexpr std::uint16_t kFileNotFound = 0x6A82;
inline constexpr std::uint16_t kNotEnoughMemory = 0x6A84;
inline constexpr std::uint16_t kIncorrectP1P2 = 0x6A86;
inline constexpr std::uint16_t kWrongP1P2 = 0x6B00;
inline constexpr std::uint16_t kInsNotSupported = 0x6D00;
inline constexpr std::uint16_t kClaNotSupported = 0x6E00;
inline constexpr std::uint16_t kNoPreciseDiagnosis = 0x6F00;
}  // namespace sw

}  // namespace ccidkit::proto

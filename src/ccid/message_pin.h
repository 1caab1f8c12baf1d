// PIN verification and modification data structures: the PC/SC part 10 forms an application
// passes to FEATURE_VERIFY_PIN_DIRECT / FEATURE_MODIFY_PIN_DIRECT, and the CCID forms carried
// in PC_to_RDR_Secure abData (CCID Rev 1.1 section 6.1.11). The CCID form drops bTimeOut2 and
// ulDataLength; in the modification structure bMsgIndex2 is only present when
// bNumberMessage != 0 and bMsgIndex3 only when bNumberMessage >= 3 (libccid's reading of the
// specification, which real pinpad readers accept).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <string_view>

#include "common/bytes.h"

namespace ccidkit::ccid {

struct PinVerify {
    std::uint8_t bTimeOut = 0;   // seconds, 0 = reader default
    std::uint8_t bTimeOut2 = 0;  // PC/SC only: timeout after the first key stroke
    std::uint8_t bmFormatString = 0;
    std::uint8_t bmPINBlockString = 0;
    std::uint8_t bmPINLengthFormat = 0;
    std::uint16_t wPINMaxExtraDigit = 0;  // XXYYh: XX minimum, YY maximum PIN digits
    std::uint8_t bEntryValidationCondition = 0x02;  // validation key pressed
    std::uint8_t bNumberMessage = 0x01;
    std::uint16_t wLangId = 0x0409;
    std::uint8_t bMsgIndex = 0;
    std::array<std::uint8_t, 3> bTeoPrologue{};  // T=1 TPDU readers only
    Bytes abPINApdu;                              // CLA INS P1 P2 [Lc data]; the reader inserts the PIN
    bool operator==(const PinVerify&) const = default;
};

struct PinModify {
    std::uint8_t bTimeOut = 0;
    std::uint8_t bTimeOut2 = 0;  // PC/SC only
    std::uint8_t bmFormatString = 0;
    std::uint8_t bmPINBlockString = 0;
    std::uint8_t bmPINLengthFormat = 0;
    std::uint8_t bInsertionOffsetOld = 0;
    std::uint8_t bInsertionOffsetNew = 0;
    std::uint16_t wPINMaxExtraDigit = 0;
    std::uint8_t bConfirmPIN = 0x01;  // bit 0: confirm new PIN, bit 1: enter current PIN
    std::uint8_t bEntryValidationCondition = 0x02;
    std::uint8_t bNumberMessage = 0x03;  // 0..3, or FFh for the reader's default messages
    std::uint16_t wLangId = 0x0409;
    std::uint8_t bMsgIndex1 = 0;
    std::uint8_t bMsgIndex2 = 0;
    std::uint8_t bMsgIndex3 = 0;
    std::array<std::uint8_t, 3> bTeoPrologue{};
    Bytes abPINApdu;
    bool operator==(const PinModify&) const = default;
};

enum class PinStructureError {
    TooShort,          // fewer bytes than the fixed part of the structure
    LengthMismatch,    // PC/SC ulDataLength differs from the APDU bytes present
    ApduTooShort,      // the APDU template lacks CLA INS P1 P2
    WrongOperation,    // bPINOperation is not the one this decoder handles
    BadNumberMessage,  // modification bNumberMessage not 0..3 or FFh
};

std::string_view to_string(PinStructureError e);

inline constexpr std::size_t kPcscPinVerifyFixedSize = 19;
inline constexpr std::size_t kPcscPinModifyFixedSize = 24;

Bytes encode_pcsc_pin_verify(const PinVerify& v);
std::expected<PinVerify, PinStructureError> decode_pcsc_pin_verify(ByteView data);
Bytes encode_pcsc_pin_modify(const PinModify& m);
std::expected<PinModify, PinStructureError> decode_pcsc_pin_modify(ByteView data);

// abData of PC_to_RDR_Secure: bPINOperation followed by the CCID structure.
Bytes secure_pin_verify_data(const PinVerify& v);
Bytes secure_pin_modify_data(const PinModify& m);
// Reader side. Fields absent from the CCID form come back as 0.
std::expected<PinVerify, PinStructureError> decode_secure_pin_verify(ByteView abData);
std::expected<PinModify, PinStructureError> decode_secure_pin_modify(ByteView abData);

}  // namespace ccidkit::ccid

// The simulated PIN pad of a CCID reader: builds the VERIFY / CHANGE REFERENCE DATA command
// APDU that PC_to_RDR_Secure describes (CCID Rev 1.1 6.1.11, PIN verification and
// modification data structures; PC/SC part 10 for the bit fields), inserting the typed PIN.
//
// Fields used (positions count from the first byte after Lc of the APDU template):
//   bmFormatString   bit 7 position unit (0 bits, 1 bytes), bits 6-3 PIN position,
//                    bit 2 right justification (inside a fixed-size block), bits 1-0 format:
//                    00 binary (one byte per digit, value 0..9), 01 BCD (one nibble per digit),
//                    10 ASCII ('0'..'9'); 11 is refused.
//   bmPINBlockString bits 7-4 size in bits of the PIN length field (0: none), bits 3-0 PIN block
//                    size in bytes (0: the data field ends right after the PIN).
//   bmPINLengthFormat bit 4 unit (0 bits, 1 bytes), bits 3-0 position of the length field.
//   wPINMaxExtraDigit XXYYh: minimum XX and maximum YY digits (YY = 0: no maximum).
//   Modify: each PIN is written into its own block starting at bInsertionOffsetOld /
//   bInsertionOffsetNew bytes; the current PIN only when bConfirmPIN bit 1 is set.
// The template's data bytes are kept where no PIN or length is written; a template shorter than
// the block is padded with FFh. Lc is set to the final data size; no Le is added.
#pragma once

#include <cstdint>
#include <expected>
#include <string_view>

#include "ccid/message_pin.h"
#include "common/bytes.h"

namespace ccidkit::sim {

enum class PinPadError : std::uint8_t {
    BadFormat,           // bmFormatString format 11, or a PIN that is not all digits
    PinLengthOutOfRange, // the typed PIN is shorter/longer than wPINMaxExtraDigit allows
    TemplateTooShort,    // abPINApdu lacks CLA INS P1 P2
    DoesNotFit,          // the PIN or its length field falls outside the block, or Lc > 255
};

std::string_view to_string(PinPadError e);

std::expected<Bytes, PinPadError> build_verify_apdu(const ccid::PinVerify& verify, std::string_view pin);
std::expected<Bytes, PinPadError> build_modify_apdu(const ccid::PinModify& modify, std::string_view current_pin,
                                                    std::string_view new_pin);

}  // namespace ccidkit::sim

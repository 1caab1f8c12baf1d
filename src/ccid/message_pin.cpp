#include "ccid/message_pin.h"

#include "ccid/message_types.h"

namespace ccidkit::ccid {

namespace {

constexpr std::size_t kMinApdu = 4;  // CLA INS P1 P2
// CCID forms: bPINOperation + fixed fields, before the optional message indexes and the APDU.
constexpr std::size_t kSecureVerifyFixedSize = 15;
constexpr std::size_t kSecureModifyMinSize = 15 + 3;  // through bMsgIndex1, plus bTeoPrologue

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put32(Bytes& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_bytes(Bytes& out, ByteView bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

bool has_index2(std::uint8_t number_message) { return number_message != 0; }
bool has_index3(std::uint8_t number_message) { return number_message >= 3; }  // 3, or FFh default
bool valid_number_message(std::uint8_t n) { return n <= 3 || n == 0xFF; }

std::expected<Bytes, PinStructureError> apdu_from(ByteView data, std::size_t offset) {
    if (data.size() < offset + kMinApdu) return std::unexpected(PinStructureError::ApduTooShort);
    return Bytes(data.begin() + static_cast<std::ptrdiff_t>(offset), data.end());
}

// PC/SC ulDataLength must describe exactly the APDU bytes that follow it.
std::expected<Bytes, PinStructureError> pcsc_apdu(ByteView data, std::size_t length_offset) {
    const std::uint64_t announced = load_le32(&data[length_offset]);
    if (announced != data.size() - (length_offset + 4)) return std::unexpected(PinStructureError::LengthMismatch);
    return apdu_from(data, length_offset + 4);
}

}  // namespace

std::string_view to_string(PinStructureError e) {
    switch (e) {
        case PinStructureError::TooShort: return "PIN data structure too short";
        case PinStructureError::LengthMismatch: return "PIN data structure ulDataLength does not match the APDU size";
        case PinStructureError::ApduTooShort: return "PIN data structure APDU shorter than 4 bytes";
        case PinStructureError::WrongOperation: return "unexpected bPINOperation for this PIN data structure";
        case PinStructureError::BadNumberMessage: return "invalid bNumberMessage (must be 0..3 or FFh)";
    }
    return "unknown PIN data structure error";
}

Bytes encode_pcsc_pin_verify(const PinVerify& v) {
    Bytes out;
    out.reserve(kPcscPinVerifyFixedSize + v.abPINApdu.size());
    out.insert(out.end(), {v.bTimeOut, v.bTimeOut2, v.bmFormatString, v.bmPINBlockString, v.bmPINLengthFormat});
    put16(out, v.wPINMaxExtraDigit);
    out.insert(out.end(), {v.bEntryValidationCondition, v.bNumberMessage});
    put16(out, v.wLangId);
    out.push_back(v.bMsgIndex);
    put_bytes(out, v.bTeoPrologue);
    put32(out, static_cast<std::uint32_t>(v.abPINApdu.size()));
    put_bytes(out, v.abPINApdu);
    return out;
}

std::expected<PinVerify, PinStructureError> decode_pcsc_pin_verify(ByteView d) {
    if (d.size() < kPcscPinVerifyFixedSize) return std::unexpected(PinStructureError::TooShort);
    auto apdu = pcsc_apdu(d, 15);
    if (!apdu) return std::unexpected(apdu.error());
    return PinVerify{d[0],  d[1], d[2], d[3], d[4], load_le16(&d[5]), d[7], d[8], load_le16(&d[9]),
                     d[11], {d[12], d[13], d[14]}, std::move(*apdu)};
}

Bytes encode_pcsc_pin_modify(const PinModify& m) {
    Bytes out;
    out.reserve(kPcscPinModifyFixedSize + m.abPINApdu.size());
    out.insert(out.end(), {m.bTimeOut, m.bTimeOut2, m.bmFormatString, m.bmPINBlockString, m.bmPINLengthFormat,
                           m.bInsertionOffsetOld, m.bInsertionOffsetNew});
    put16(out, m.wPINMaxExtraDigit);
    out.insert(out.end(), {m.bConfirmPIN, m.bEntryValidationCondition, m.bNumberMessage});
    put16(out, m.wLangId);
    out.insert(out.end(), {m.bMsgIndex1, m.bMsgIndex2, m.bMsgIndex3});
    put_bytes(out, m.bTeoPrologue);
    put32(out, static_cast<std::uint32_t>(m.abPINApdu.size()));
    put_bytes(out, m.abPINApdu);
    return out;
}

std::expected<PinModify, PinStructureError> decode_pcsc_pin_modify(ByteView d) {
    if (d.size() < kPcscPinModifyFixedSize) return std::unexpected(PinStructureError::TooShort);
    if (!valid_number_message(d[11])) return std::unexpected(PinStructureError::BadNumberMessage);
    auto apdu = pcsc_apdu(d, 20);
    if (!apdu) return std::unexpected(apdu.error());
    return PinModify{d[0],  d[1],  d[2],  d[3],  d[4],  d[5],  d[6],  load_le16(&d[7]),
                     d[9],  d[10], d[11], load_le16(&d[12]), d[14], d[15], d[16], {d[17], d[18], d[19]},
                     std::move(*apdu)};
}

Bytes secure_pin_verify_data(const PinVerify& v) {
    Bytes out;
    out.reserve(kSecureVerifyFixedSize + v.abPINApdu.size());
    out.insert(out.end(), {static_cast<std::uint8_t>(PinOperation::Verify), v.bTimeOut, v.bmFormatString,
                           v.bmPINBlockString, v.bmPINLengthFormat});
    put16(out, v.wPINMaxExtraDigit);
    out.insert(out.end(), {v.bEntryValidationCondition, v.bNumberMessage});
    put16(out, v.wLangId);
    out.push_back(v.bMsgIndex);
    put_bytes(out, v.bTeoPrologue);
    put_bytes(out, v.abPINApdu);
    return out;
}

Bytes secure_pin_modify_data(const PinModify& m) {
    Bytes out;
    out.reserve(kSecureModifyMinSize + 2 + m.abPINApdu.size());
    out.insert(out.end(), {static_cast<std::uint8_t>(PinOperation::Modify), m.bTimeOut, m.bmFormatString,
                           m.bmPINBlockString, m.bmPINLengthFormat, m.bInsertionOffsetOld, m.bInsertionOffsetNew});
    put16(out, m.wPINMaxExtraDigit);
    out.insert(out.end(), {m.bConfirmPIN, m.bEntryValidationCondition, m.bNumberMessage});
    put16(out, m.wLangId);
    out.push_back(m.bMsgIndex1);
    if (has_index2(m.bNumberMessage)) out.push_back(m.bMsgIndex2);
    if (has_index3(m.bNumberMessage)) out.push_back(m.bMsgIndex3);
    put_bytes(out, m.bTeoPrologue);
    put_bytes(out, m.abPINApdu);
    return out;
}

std::expected<PinVerify, PinStructureError> decode_secure_pin_verify(ByteView d) {
    if (d.empty()) return std::unexpected(PinStructureError::TooShort);
    if (d[0] != static_cast<std::uint8_t>(PinOperation::Verify)) {
        return std::unexpected(PinStructureError::WrongOperation);
    }
    if (d.size() < kSecureVerifyFixedSize) return std::unexpected(PinStructureError::TooShort);
    auto apdu = apdu_from(d, kSecureVerifyFixedSize);
    if (!apdu) return std::unexpected(apdu.error());
    return PinVerify{d[1],  0, d[2], d[3], d[4], load_le16(&d[5]), d[7], d[8], load_le16(&d[9]),
                     d[11], {d[12], d[13], d[14]}, std::move(*apdu)};
}

std::expected<PinModify, PinStructureError> decode_secure_pin_modify(ByteView d) {
    if (d.empty()) return std::unexpected(PinStructureError::TooShort);
    if (d[0] != static_cast<std::uint8_t>(PinOperation::Modify)) {
        return std::unexpected(PinStructureError::WrongOperation);
    }
    if (d.size() < kSecureModifyMinSize) return std::unexpected(PinStructureError::TooShort);
    PinModify m;
    m.bTimeOut = d[1];
    m.bmFormatString = d[2];
    m.bmPINBlockString = d[3];
    m.bmPINLengthFormat = d[4];
    m.bInsertionOffsetOld = d[5];
    m.bInsertionOffsetNew = d[6];
    m.wPINMaxExtraDigit = load_le16(&d[7]);
    m.bConfirmPIN = d[9];
    m.bEntryValidationCondition = d[10];
    m.bNumberMessage = d[11];
    if (!valid_number_message(m.bNumberMessage)) return std::unexpected(PinStructureError::BadNumberMessage);
    m.wLangId = load_le16(&d[12]);
    m.bMsgIndex1 = d[14];
    std::size_t pos = 15;
    const std::size_t optional_indexes = (has_index2(m.bNumberMessage) ? 1 : 0) + (has_index3(m.bNumberMessage) ? 1 : 0);
    if (d.size() < kSecureModifyMinSize + optional_indexes) return std::unexpected(PinStructureError::TooShort);
    if (has_index2(m.bNumberMessage)) m.bMsgIndex2 = d[pos++];
    if (has_index3(m.bNumberMessage)) m.bMsgIndex3 = d[pos++];
    m.bTeoPrologue = {d[pos], d[pos + 1], d[pos + 2]};
    pos += 3;
    auto apdu = apdu_from(d, pos);
    if (!apdu) return std::unexpected(apdu.error());
    m.abPINApdu = std::move(*apdu);
    return m;
}

}  // namespace ccidkit::ccid

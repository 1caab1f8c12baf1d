#include "ccid/message_protocol_data.h"

namespace ccidkit::ccid {

std::uint8_t protocol_num(const ProtocolParameters& params) {
    return std::holds_alternative<T0Parameters>(params) ? 0 : 1;
}

Bytes encode_protocol_data(const ProtocolParameters& params) {
    if (const auto* t0 = std::get_if<T0Parameters>(&params)) {
        return {t0->bmFindexDindex, t0->bmTCCKST0, t0->bGuardTimeT0, t0->bWaitingIntegerT0, t0->bClockStop};
    }
    const auto& t1 = std::get<T1Parameters>(params);
    return {t1.bmFindexDindex, t1.bmTCCKST1, t1.bGuardTimeT1, t1.bmWaitingIntegersT1,
            t1.bClockStop,     t1.bIFSC,     t1.bNadValue};
}

std::expected<ProtocolParameters, DecodeError> decode_protocol_data(std::uint8_t bProtocolNum, ByteView data) {
    constexpr std::uint8_t kMaxClockStop = 3;
    if (bProtocolNum == 0) {
        if (data.size() != kT0ProtocolDataSize) return std::unexpected(DecodeError::BadProtocolDataLength);
        T0Parameters p{data[0], data[1], data[2], data[3], data[4]};
        // Only bit 1 (convention) is defined for T=0 (Table 6.1-3).
        if ((p.bmTCCKST0 & ~0x02u) != 0) return std::unexpected(DecodeError::BadTcck);
        if (p.bClockStop > kMaxClockStop) return std::unexpected(DecodeError::BadClockStop);
        return p;
    }
    if (bProtocolNum == 1) {
        if (data.size() != kT1ProtocolDataSize) return std::unexpected(DecodeError::BadProtocolDataLength);
        T1Parameters p{data[0], data[1], data[2], data[3], data[4], data[5], data[6]};
        // Bits 2-7 are fixed at 000100b, bits 0-1 are checksum and convention (Table 6.1-4).
        if ((p.bmTCCKST1 & ~0x03u) != 0x10) return std::unexpected(DecodeError::BadTcck);
        if (p.bClockStop > kMaxClockStop) return std::unexpected(DecodeError::BadClockStop);
        if (p.bIFSC == 0x00 || p.bIFSC == 0xFF) return std::unexpected(DecodeError::BadIfsc);
        return p;
    }
    return std::unexpected(DecodeError::BadProtocolNum);
}

}  // namespace ccidkit::ccid

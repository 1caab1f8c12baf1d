#include "protocol/pps.h"

#include "protocol/fi_di_tables.h"

namespace ccidkit::proto {

std::string_view to_string(PpsError error) {
    switch (error) {
        case PpsError::InvalidProtocol: return "PPS request: protocol T must be 0..14";
        case PpsError::InvalidPps1: return "PPS request: PPS1 holds a reserved Fi or Di code";
        case PpsError::ResponseTooShort: return "PPS response too short";
        case PpsError::ResponseBadPpss: return "PPS response does not start with PPSS = FF";
        case PpsError::ResponseReservedBit: return "PPS response: reserved bit 8 of PPS0 is set";
        case PpsError::ResponseTooLong: return "PPS response has bytes after PCK";
        case PpsError::ResponsePckMismatch: return "PPS response: XOR of PPSS to PCK is not 00";
        case PpsError::ProtocolNotEchoed: return "PPS response proposes another protocol than requested";
        case PpsError::UnrequestedParameter:
            return "PPS response carries a PPS1, PPS2 or PPS3 that the request did not";
        case PpsError::Pps1NotEchoed: return "PPS response: PPS1 differs from the request";
        case PpsError::Pps2NotEchoed: return "PPS response: PPS2 differs from the request";
        case PpsError::Pps3NotEchoed: return "PPS response: PPS3 differs from the request";
    }
    return "unknown PPS error";
}

namespace {

std::optional<PpsError> validate(const PpsRequest& request) {
    if (request.protocol > 14) return PpsError::InvalidProtocol;
    if (request.pps1 && (!fi_from_code(*request.pps1 >> 4) || !di_from_code(*request.pps1 & 0x0F))) {
        return PpsError::InvalidPps1;
    }
    return std::nullopt;
}

}  // namespace

std::expected<Bytes, PpsError> build_pps_request(const PpsRequest& request) {
    if (const auto error = validate(request)) return std::unexpected(*error);
    Bytes out;
    out.reserve(kMaxPpsLength);
    std::uint8_t pps0 = request.protocol;
    if (request.pps1) pps0 |= 0x10;
    if (request.pps2) pps0 |= 0x20;
    if (request.pps3) pps0 |= 0x40;
    out.push_back(kPpss);
    out.push_back(pps0);
    for (const auto& p : {request.pps1, request.pps2, request.pps3}) {
        if (p) out.push_back(*p);
    }
    std::uint8_t pck = 0;
    for (const auto b : out) pck ^= b;
    out.push_back(pck);
    return out;
}

std::expected<PpsResult, PpsError> check_pps_response(const PpsRequest& request, ByteView response) {
    if (const auto error = validate(request)) return std::unexpected(*error);
    if (response.size() < 3) return std::unexpected(PpsError::ResponseTooShort);
    if (response[0] != kPpss) return std::unexpected(PpsError::ResponseBadPpss);
    const std::uint8_t pps0 = response[1];
    if (pps0 & 0x80) return std::unexpected(PpsError::ResponseReservedBit);

    const bool has1 = pps0 & 0x10, has2 = pps0 & 0x20, has3 = pps0 & 0x40;
    const std::size_t expected = 3u + has1 + has2 + has3;
    if (response.size() < expected) return std::unexpected(PpsError::ResponseTooShort);
    if (response.size() > expected) return std::unexpected(PpsError::ResponseTooLong);
    std::uint8_t x = 0;
    for (const auto b : response) x ^= b;
    if (x != 0) return std::unexpected(PpsError::ResponsePckMismatch);

    // 9.3: bits 4-1 echoed; each of bits 5-7 either echoed with an identical byte or cleared.
    if ((pps0 & 0x0F) != request.protocol) return std::unexpected(PpsError::ProtocolNotEchoed);
    if ((has1 && !request.pps1) || (has2 && !request.pps2) || (has3 && !request.pps3)) {
        return std::unexpected(PpsError::UnrequestedParameter);
    }
    std::size_t pos = 2;
    PpsResult result;
    result.protocol = request.protocol;
    if (has1) {
        if (response[pos++] != *request.pps1) return std::unexpected(PpsError::Pps1NotEchoed);
        result.pps1_accepted = true;
        result.fi_code = *request.pps1 >> 4;
        result.di_code = *request.pps1 & 0x0F;
        result.f = *fi_from_code(result.fi_code);  // validated above
        result.d = *di_from_code(result.di_code);
    }
    if (has2) {
        if (response[pos++] != *request.pps2) return std::unexpected(PpsError::Pps2NotEchoed);
        result.spu_accepted = true;
    }
    if (has3 && response[pos] != *request.pps3) return std::unexpected(PpsError::Pps3NotEchoed);
    return result;
}

}  // namespace ccidkit::proto

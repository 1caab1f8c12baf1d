#include "sim/card/sim_card_pps.h"

#include "protocol/fi_di_tables.h"
#include "protocol/pps.h"

namespace ccidkit::sim {

std::string_view to_string(PpsPolicy policy) {
    switch (policy) {
        case PpsPolicy::Negotiate: return "negotiate (unsupported Fi/Di answered at Fd/Dd)";
        case PpsPolicy::NegotiateStrict: return "negotiate strictly (anything unsupported: no answer)";
        case PpsPolicy::DefaultsOnly: return "defaults only (PPS1 never accepted)";
        case PpsPolicy::Silent: return "silent (PPS never answered)";
    }
    return "unknown PPS policy";
}

bool card_supports_fi_di(const proto::Atr& atr, std::uint8_t pps1) {
    const std::uint8_t fi = pps1 >> 4;
    const std::uint8_t di = pps1 & 0x0F;
    if (fi == proto::kDefaultFiCode && di == proto::kDefaultDiCode) return true;
    if (!atr.ta1 || !atr.fi || !atr.di) return false;
    if (fi != atr.fi_code) return false;
    const auto d = proto::di_from_code(di);
    return d.has_value() && *d <= *atr.di;
}

PpsAnswer answer_pps(const proto::Atr& atr, PpsPolicy policy, ByteView request) {
    PpsAnswer silent;
    if (policy == PpsPolicy::Silent) return silent;
    if (request.size() < 3 || request[0] != proto::kPpss) return silent;
    const std::uint8_t pps0 = request[1];
    if ((pps0 & 0x80) != 0 || request.size() != pps_request_size(pps0)) return silent;
    std::uint8_t pck = 0;
    for (const std::uint8_t b : request) pck ^= b;
    if (pck != 0) return silent;

    const std::uint8_t protocol = pps0 & 0x0F;
    if (protocol == 15 || !atr.offers(protocol)) return silent;

    std::optional<std::uint8_t> pps1;
    if ((pps0 & 0x10) != 0) pps1 = request[2];

    bool echo_pps1 = false;
    if (pps1 && policy != PpsPolicy::DefaultsOnly) {
        echo_pps1 = card_supports_fi_di(atr, *pps1);
        if (!echo_pps1 && policy == PpsPolicy::NegotiateStrict) return silent;
    }

    PpsAnswer answer;
    answer.protocol = protocol;
    Bytes response{proto::kPpss, static_cast<std::uint8_t>(protocol | (echo_pps1 ? 0x10 : 0x00))};
    if (echo_pps1) {
        response.push_back(*pps1);
        answer.fi_code = *pps1 >> 4;
        answer.di_code = *pps1 & 0x0F;
    }
    std::uint8_t out_pck = 0;
    for (const std::uint8_t b : response) out_pck ^= b;
    response.push_back(out_pck);
    answer.response = std::move(response);
    return answer;
}

}  // namespace ccidkit::sim

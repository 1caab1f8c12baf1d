#include "api/protocol_negotiation.h"

#include "protocol/atr.h"

namespace ccidkit::api {

namespace {

CardProtocol to_card_protocol(DWORD p) { return p == SCARD_PROTOCOL_T1 ? CardProtocol::T1 : CardProtocol::T0; }

}  // namespace

std::expected<DWORD, LONG> negotiate_protocol(ReaderBackend& backend, ByteView atr, DWORD preferred) {
    const proto::AtrParse parsed = proto::parse_atr(atr);
    DWORD available = 0;
    if (parsed.atr.offers(0)) available |= SCARD_PROTOCOL_T0;
    if (parsed.atr.offers(1)) available |= SCARD_PROTOCOL_T1;
    if (available == 0) available = SCARD_PROTOCOL_T0;  // an undecodable ATR: T=0 as the default
    DWORD default_protocol = parsed.atr.default_protocol == 1 ? SCARD_PROTOCOL_T1 : SCARD_PROTOCOL_T0;

    if (preferred & kProtocolAnyOld) preferred = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;
    preferred &= available;
    if ((preferred & (SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1)) == 0) return std::unexpected(SCARD_E_PROTO_MISMATCH);

    DWORD chosen = (preferred & SCARD_PROTOCOL_T1) ? SCARD_PROTOCOL_T1 : SCARD_PROTOCOL_T0;
    // At most two attempts: the preferred protocol, then the card's default one.
    for (int attempt = 0; attempt < 2; ++attempt) {
        const auto r = backend.set_protocol(to_card_protocol(chosen));
        if (r) return chosen;
        switch (r.error()) {
            case BackendError::ProtocolNotSupported:
                if (default_protocol == preferred) return std::unexpected(SCARD_W_UNRESPONSIVE_CARD);
                if ((default_protocol & preferred) == 0) return std::unexpected(SCARD_E_PROTO_MISMATCH);
                // Retry once with the card's default protocol, and nothing else after it.
                chosen = default_protocol;
                preferred = default_protocol;
                continue;
            case BackendError::NotSupported:
                // The reader cannot negotiate at all (pcsc-lite: IFD_NOT_SUPPORTED): the card
                // stays in its default protocol.
                return default_protocol;
            case BackendError::ReaderGone:
                return std::unexpected(SCARD_E_READER_UNAVAILABLE);
            case BackendError::NoCard:
                return std::unexpected(SCARD_E_NO_SMARTCARD);
            default:
                return std::unexpected(SCARD_W_UNRESPONSIVE_CARD);
        }
    }
    return std::unexpected(SCARD_W_UNRESPONSIVE_CARD);
}

}  // namespace ccidkit::api

// Choosing and setting the transmission protocol after an ATR, with pcsc-lite's rules
// (prothandler.c PHSetProtocol, winscard.c SCardConnect):
//  - the offered protocols come from the ATR (ISO/IEC 7816-3:2006 clause 8.2.3: T=0 when no
//    TDi indicates one) and are restricted to the preferred ones;
//  - T=1 is tried first when both remain;
//  - when the reader reports the protocol as not supported, the card's default protocol is
//    tried once if the application accepts it;
//  - any other failure of PPS is final: the card must be reset (clause 9.2), reported as
//    SCARD_W_UNRESPONSIVE_CARD.
#pragma once

#include <expected>

#include "PCSC/winscard.h"
#include "api/backend.h"

namespace ccidkit::api {

// Bit pcsc-lite still accepts for "any protocol" from old applications.
inline constexpr DWORD kProtocolAnyOld = 0x1000;

// The negotiated SCARD_PROTOCOL_T0 or T1, or an SCARD_* error code.
std::expected<DWORD, LONG> negotiate_protocol(ReaderBackend& backend, ByteView atr, DWORD preferred);

}  // namespace ccidkit::api

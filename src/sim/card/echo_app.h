// A proprietary-class test application (CLA 80) for exercising transports with any data size.
//
//   INS 10 ECHO         case 4 (or 3/1/2). Response data = the command data, cut to Ne;
//                       without Le no data (ISO/IEC 7816-4: no Le field, no response data).
//                       P1 P2 ignored. SW 9000.
//   INS 12 PATTERN      case 2. Response = Ne bytes of echo_pattern(seed = P2); P1 must be 00
//                       (else 6A86); a data field gives 6700. Without Le: 9000, no data.
//   INS 14 PATTERN_LEN  case 4, for protocols where Le cannot reach the card (T=0 case 4):
//                       data = 3-byte big-endian length L (0..65536, else 6A80; other data
//                       sizes 6700). Response = min(L, Ne) bytes of echo_pattern(seed = P2).
//   INS 16 STATUS       Answers with SW1 SW2 = P1 P2 and, unless P1 is an error (64..6F),
//                       the command data cut to Ne. P1 must be 62..6F or 90..9F, and not 61
//                       or 6C (those belong to the transport): otherwise 6A86.
//   other INS           6D00.   CLA other than 80: 6E00.
//
// echo_pattern byte i = (seed + i + 31 * (i / 256)) mod 256: every 256-byte block differs, so
// lost, repeated or reordered GET RESPONSE chunks show up.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "sim/card/card_application.h"

namespace ccidkit::sim {

inline constexpr std::uint8_t kEchoCla = 0x80;
inline constexpr std::uint8_t kInsEcho = 0x10;
inline constexpr std::uint8_t kInsPattern = 0x12;
inline constexpr std::uint8_t kInsPatternLen = 0x14;
inline constexpr std::uint8_t kInsStatus = 0x16;

std::uint8_t echo_pattern_byte(std::size_t i, std::uint8_t seed);
Bytes echo_pattern(std::size_t n, std::uint8_t seed);

class EchoApp final : public CardApplication {
public:
    Bytes process(ByteView command) override;
};

}  // namespace ccidkit::sim

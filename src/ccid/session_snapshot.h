// A card session in a few bytes, so that several processes driving one reader (one at a time,
// src/api/shared_device.h) continue the same session: whoever talks to the card next must know
// the ATR, protocol and parameters in force and, for T=1 at TPDU level, the block sequence
// numbers and IFSC/IFSD. Slot::export_session() / Slot::adopt_session() use it.
//
// Encoding (version 1, at most kMaxSessionSnapshotSize bytes):
//   [0] version 1   [1] 0: no card powered (end), 1: powered
//   [2] voltage  [3] protocol (0/1)  [4] flags  [5] IFSD in force  [6] power-on attempts
//   [7] ATR length (1..33), ATR   then length (5 or 7) and abProtocolDataStructure
//   then 0, or 1 + T=1 engine: IFSC, IFSD, initial IFSD, EDC, NAD, N(S), N(R), IFSC and
//   IFSD in force, engine flags.
// Decoding checks every length and value; what does not decode is refused, never trusted.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>

#include "ccid/slot.h"
#include "common/bytes.h"
#include "protocol/t1_engine.h"

namespace ccidkit::ccid {

inline constexpr std::size_t kMaxSessionSnapshotSize = 96;

struct T1Snapshot {
    proto::T1Config config;
    proto::T1Continuity state;
};

struct SessionSnapshot {
    std::optional<CardSession> session;  // nullopt: no card powered. timing is not carried.
    std::optional<T1Snapshot> t1;        // the T=1 engine, when the session has one
};

Bytes encode_session_snapshot(const SessionSnapshot& snapshot);
std::expected<SessionSnapshot, std::string> decode_session_snapshot(ByteView data);

}  // namespace ccidkit::ccid

// Simulated ("virtual") readers described by a short text, shared by `ccidctl --virtual` and
// the SCard API's $CCID_VIRTUAL_READERS, so that both accept exactly the same spelling.
//
// SPEC is a comma-separated list of readers, each KIND[:CARD]:
//   KIND  tpdu | short | extended     a one-slot reader at that exchange level
//         file=PATH                   the first interface of a descriptor file; how the file
//                                     is read is the caller's choice (VirtualFileLoader)
//         socket=PATH                 the reader served by a simulator process (ccid-simd) at
//                                     that Unix socket, shared with every process using it;
//                                     no CARD part (the server has the card), PATH is the rest
//                                     of the item (it may contain ':', not ',')
//   CARD  t1 (default) | t0 | none    the card in slot 0; t1-1v8: a T=1 card of class C only
//                                     (1.8 V, ISO/IEC 7816-3:2006 6.2.4)
// e.g. "short:t1,tpdu:none". At most kMaxVirtualReaders readers.
//
// The environment form (parse_virtual_readers_env) also accepts a bare count: "1" is one TPDU
// reader with a T=1 card, "N" is N such readers ("0": none).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/card/sim_card.h"
#include "sim/reader/reader_config.h"

namespace ccidkit::sim {

class ReaderSim;

inline constexpr std::size_t kMaxVirtualReaders = 16;
inline constexpr const char* kVirtualReadersEnvVar = "CCID_VIRTUAL_READERS";

struct VirtualReaderSpec {
    ReaderSimConfig config;
    enum class Card : std::uint8_t { None, T0, T1, T1ClassC } card = Card::T1;
    std::string spec;  // the item as written
    // socket=PATH: the server's socket; config and card are then unused (the server has them).
    std::string socket_path;
    bool served() const { return !socket_path.empty(); }
};

// Turns the PATH of `file=PATH` into a reader configuration, or a message naming the file and
// the reason it cannot be used.
using VirtualFileLoader = std::function<std::expected<ReaderSimConfig, std::string>(const std::string& path)>;

// The loader used when none is given: a libccid `parse` text file (sim/reader_corpus.h),
// impersonating its first interface.
std::expected<ReaderSimConfig, std::string> load_corpus_reader_config(const std::string& path);

// Errors are human messages naming the offending item.
std::expected<std::vector<VirtualReaderSpec>, std::string> parse_virtual_spec(std::string_view spec,
                                                                              const VirtualFileLoader& loader = {});

// The value of $CCID_VIRTUAL_READERS: a count (see above) or a SPEC. Empty: no reader.
std::expected<std::vector<VirtualReaderSpec>, std::string> parse_virtual_readers_env(
    std::string_view value, const VirtualFileLoader& loader = {});

// "t1", "t0", "t1-1v8", "none" and back.
std::optional<VirtualReaderSpec::Card> virtual_card_named(std::string_view name);
std::string_view virtual_card_name(VirtualReaderSpec::Card card);

// The card a spec puts in slot 0; nullopt for Card::None.
std::optional<SimCard> make_virtual_card(VirtualReaderSpec::Card card);

// A simulator configured by `spec`, its card (if any) inserted in slot 0. For a socket=PATH
// spec (served()), a default simulator: the caller is expected to connect instead.
std::unique_ptr<ReaderSim> make_virtual_reader(const VirtualReaderSpec& spec);

// The serial number shown for the index-th virtual reader ("SIM0001-0", ...), so that two
// readers of one list get different names and device ids; empty when the config has none.
std::string virtual_serial(const VirtualReaderSpec& spec, std::size_t index);

}  // namespace ccidkit::sim

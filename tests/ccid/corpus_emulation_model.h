// Results of emulating the real-reader corpus (/work/shared/corpus/ccid-readers): for every
// interface record, whether it is emulated (and if not, why), the card(s) inserted, how the
// host driver brought each card up, and the outcome of every APDU size. Shared, header-only,
// by tests/ccid/corpus_emulation_test.cpp and tools/readers-report (docs/READERS.md), so that
// the test pins exactly the numbers the document shows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ccid/descriptor_meaning.h"

namespace ccidkit::emulation {

// Data sizes of the sweep (command data and expected response data, where the level allows),
// sent to every card.
inline constexpr std::size_t kSweepSizes[] = {0, 1, 255, 256, 261, 4096, 65535};

// Why an interface is, or is not, driven through the emulation.
enum class Coverage : std::uint8_t {
    Emulated,        // TPDU, short APDU or extended APDU level, T=0 and/or T=1
    CharacterLevel,  // no exchange-level bit: the driver refuses character level
    Iccd,            // ICCD (bInterfaceProtocol 1/2): APDUs over the control pipe, not CCID bulk
};

inline std::string_view to_string(Coverage c) {
    switch (c) {
        case Coverage::Emulated: return "emulated";
        case Coverage::CharacterLevel: return "character level (not driven)";
        case Coverage::Iccd: return "ICCD (not driven)";
    }
    return "?";
}

inline std::string_view level_label(ccid::ExchangeLevel level) {
    switch (level) {
        case ccid::ExchangeLevel::Character: return "character";
        case ccid::ExchangeLevel::Tpdu: return "TPDU";
        case ccid::ExchangeLevel::ShortApdu: return "short APDU";
        case ccid::ExchangeLevel::ExtendedApdu: return "extended APDU";
        case ccid::ExchangeLevel::Contradictory: return "contradictory";
    }
    return "?";
}

enum class SizeOutcome : std::uint8_t {
    Pass,     // the response matched what the echo application must answer
    Refused,  // the reader cannot carry the APDU (level or message length) and the driver refused
              // it before the wire, or the reader could not deliver the response: as it must be
    Fail,     // anything else: wrong data, an error, or a refusal where none was due
};

struct SizeResult {
    std::size_t size = 0;
    std::string apdu;  // what was sent, e.g. "ECHO Nc=Ne=255 (short)"
    SizeOutcome outcome = SizeOutcome::Fail;
    std::string reason;  // the driver's error (describe()) or the mismatch, for Refused / Fail
};

struct CardResult {
    std::uint8_t protocol = 0;  // the card offers only this protocol
    unsigned slot = 0;
    std::string card;       // classes and TA1 of the card, and what the TA1 is meant to exercise
    bool powered = false;   // power-on and negotiation succeeded
    std::string power_error;  // the driver's error when not
    std::string session;    // what the driver settled: voltage, protocol, Fi/Di, how
    // The same, as values, for the test's checks.
    std::uint8_t card_ta1 = 0x11;
    std::uint8_t fidi = 0x11;         // bmFindexDindex in force
    bool host_pps = false;            // the host sent a PPS the card accepted
    bool reader_negotiated = false;   // automatic negotiation or PPS by the reader (40h / 80h)
    bool lower_di = false;            // the driver chose a lower Di than TA1's
    unsigned power_on_attempts = 0;   // IccPowerOn commands (voltage steps)
    std::vector<SizeResult> sizes;

    bool passed() const {
        if (!powered) return false;
        for (const SizeResult& s : sizes)
            if (s.outcome == SizeOutcome::Fail) return false;
        return true;
    }
    const SizeResult* size_result(std::size_t n) const {
        for (const SizeResult& s : sizes)
            if (s.size == n) return &s;
        return nullptr;
    }
};

struct InterfaceResult {
    std::string file;
    std::size_t interface_index = 0;  // record number in the file (0-based)
    std::uint16_t vid = 0, pid = 0, bcd = 0;
    std::string name;  // manufacturer + product, printable
    std::uint8_t interface_class = 0, interface_protocol = 0;
    ccid::ExchangeLevel declared_level = ccid::ExchangeLevel::Tpdu;  // from dwFeatures
    ccid::ExchangeLevel level = ccid::ExchangeLevel::Tpdu;           // what the driver uses (quirks applied)
    bool t0 = false, t1 = false;  // what the driver believes the reader supports
    Coverage coverage = Coverage::Emulated;
    std::string not_emulated_reason;
    std::vector<std::string> quirks;  // describe_quirks() lines of the quirks applied
    // Quirks::min_firmware refuses this firmware; the emulation then ran with the refusal
    // lifted (as a user would with min_firmware=default), and this is the driver's message.
    std::optional<std::string> firmware_refusal;
    std::string open_error;  // Reader::open failed (then no card ran)
    std::vector<std::string> notes;
    std::vector<CardResult> cards;

    bool emulated() const { return coverage == Coverage::Emulated; }
    bool passed() const {
        if (!emulated() || !open_error.empty() || cards.empty()) return false;
        for (const CardResult& c : cards)
            if (!c.passed()) return false;
        return true;
    }
    const CardResult* card(std::uint8_t protocol) const {
        for (const CardResult& c : cards)
            if (c.protocol == protocol) return &c;
        return nullptr;
    }
};

struct CorpusRun {
    std::vector<InterfaceResult> interfaces;
    std::vector<std::string> load_errors;  // files that are not descriptor dumps, and why
    std::size_t files = 0;                 // *.txt files listed
    std::size_t files_loaded = 0;          // files with at least one interface record
};

}  // namespace ccidkit::emulation

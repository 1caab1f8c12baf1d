// Choosing the protocol and transmission factors to use with a card, from its ATR and what the
// reader can do (ISO/IEC 7816-3:2006 6.3.1 specific/negotiable modes, 9 PPS; CCID 1.1 5.1
// descriptor fields and 5.3 GET_CLOCK_FREQUENCIES / GET_DATA_RATES). Pure: no I/O.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>
#include <vector>

#include "protocol/atr.h"
#include "protocol/pps.h"

namespace ccidkit::proto {

struct ReaderRateCaps {
    std::uint32_t default_clock_khz = 0;  // dwDefaultClock: the clock the card runs at
    // dwMaximumClock and GET_CLOCK_FREQUENCIES: informational. The choice assumes the reader
    // keeps its default clock (as every CCID driver does), so these only feed diagnostics.
    std::uint32_t max_clock_khz = 0;
    std::vector<std::uint32_t> clocks_khz;
    std::uint32_t max_data_rate_bps = 0;        // dwMaxDataRate; 0 is implausible: unknown
    std::vector<std::uint32_t> data_rates_bps;  // GET_DATA_RATES; empty: unknown
    bool automatic_pps = false;                 // the reader runs PPS itself (dwFeatures)
    ProtocolMask supported_protocols = protocol_bit(0) | protocol_bit(1);
    ProtocolMask requested_protocols = 0;  // what the application asked for; 0: no preference
};

// A listed data rate matches a computed one within this many bps: readers and hosts round
// clock * D / F differently.
inline constexpr std::uint32_t kDataRateTolerance = 2;

enum class RateChoice : std::uint8_t {
    Ta1,                    // TA1 as offered (includes TA1 meaning Fd/Dd)
    Ta1LowerDi,             // Fi of TA1 with a lower Di that the reader can do
    DefaultsNoTa1,          // no TA1: Fd/Dd
    DefaultsTa1Rfu,         // TA1 holds RFU codes: Fd/Dd
    DefaultsReaderTooSlow,  // no Di for Fi fits the reader: Fd/Dd
    DefaultsClockUnknown,   // the reader gave no clock, so no rate can be checked: Fd/Dd
    SpecificMode,           // imposed by TA2
};
std::string_view to_string(RateChoice choice);

struct ProtocolChoice {
    std::uint8_t protocol = 0;
    std::uint8_t fi_code = 1;  // as in TA1 / PPS1 / CCID bmFindexDindex
    std::uint8_t di_code = 1;
    std::uint16_t f = 372;
    std::uint8_t d = 1;
    std::uint32_t clock_khz = 0;
    std::uint32_t data_rate_bps = 0;  // clock * D / F (0 when the clock is unknown)
    RateChoice rate_choice = RateChoice::DefaultsNoTa1;
    // The choice differs from what the card uses right after its ATR (negotiable mode: first
    // offered protocol at Fd/Dd), so a PPS exchange must take place (9.1).
    bool pps_needed = false;
    // pps_needed and the reader does not negotiate by itself: the host sends pps_request.
    bool host_sends_pps = false;
    std::optional<PpsRequest> pps_request;  // present exactly when pps_needed
};

enum class ChoiceError : std::uint8_t {
    NoCommonProtocol,                 // nothing offered is both supported and requested
    SpecificModeProtocolUnsupported,  // TA2 imposes a protocol the reader lacks
    SpecificModeRateUnsupported,      // TA2 imposes TA1's Fi/Di and the reader cannot run them
    SpecificModeImplicitParameters,   // TA2 bit 5: Fi/Di are implicit, unknown to us
};
std::string_view to_string(ChoiceError error);

// True when `rate` fits under the maximum and, when the list is known, within
// kDataRateTolerance of a listed rate.
bool reader_accepts_rate(const ReaderRateCaps& caps, std::uint32_t rate_bps);

std::expected<ProtocolChoice, ChoiceError> choose_protocol_and_rate(const Atr& atr,
                                                                    const ReaderRateCaps& caps);

}  // namespace ccidkit::proto

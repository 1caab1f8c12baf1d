#include "protocol/pps_choice.h"

#include <iterator>

#include "protocol/fi_di_tables.h"

namespace ccidkit::proto {

std::string_view to_string(RateChoice choice) {
    switch (choice) {
        case RateChoice::Ta1: return "Fi/Di of TA1";
        case RateChoice::Ta1LowerDi: return "Fi of TA1 with a lower Di the reader supports";
        case RateChoice::DefaultsNoTa1: return "Fd/Dd: no TA1";
        case RateChoice::DefaultsTa1Rfu: return "Fd/Dd: TA1 holds reserved codes";
        case RateChoice::DefaultsReaderTooSlow: return "Fd/Dd: the reader supports no rate the card offers";
        case RateChoice::DefaultsClockUnknown: return "Fd/Dd: the reader's clock is unknown";
        case RateChoice::SpecificMode: return "imposed by TA2 (specific mode)";
    }
    return "unknown rate choice";
}

std::string_view to_string(ChoiceError error) {
    switch (error) {
        case ChoiceError::NoCommonProtocol:
            return "no protocol is offered by the card, supported by the reader and requested";
        case ChoiceError::SpecificModeProtocolUnsupported:
            return "the card's specific mode imposes a protocol the reader does not support";
        case ChoiceError::SpecificModeRateUnsupported:
            return "the card's specific mode imposes Fi/Di the reader cannot run";
        case ChoiceError::SpecificModeImplicitParameters:
            return "the card's specific mode uses implicit (undisclosed) Fi/Di";
    }
    return "unknown protocol choice error";
}

bool reader_accepts_rate(const ReaderRateCaps& caps, std::uint32_t rate_bps) {
    if (rate_bps == 0) return false;
    if (caps.max_data_rate_bps != 0 && rate_bps > caps.max_data_rate_bps) return false;
    if (caps.data_rates_bps.empty()) return true;
    for (const auto listed : caps.data_rates_bps) {
        const std::uint32_t diff = listed > rate_bps ? listed - rate_bps : rate_bps - listed;
        if (diff <= kDataRateTolerance) return true;
    }
    return false;
}

namespace {

void set_rate(ProtocolChoice& c, std::uint8_t fi_code, std::uint8_t di_code, RateChoice why) {
    c.fi_code = fi_code;
    c.di_code = di_code;
    c.f = fi_from_code(fi_code).value_or(kFd);
    c.d = di_from_code(di_code).value_or(kDd);
    c.data_rate_bps = data_rate_bps(c.clock_khz, c.f, c.d);
    c.rate_choice = why;
}

void set_defaults(ProtocolChoice& c, RateChoice why) { set_rate(c, kDefaultFiCode, kDefaultDiCode, why); }

// Negotiable mode: TA1 if the reader can do it, else the same Fi with the highest lower Di
// that it can, else Fd/Dd.
void choose_negotiable_rate(const Atr& atr, const ReaderRateCaps& caps, ProtocolChoice& c) {
    if (!atr.ta1) return set_defaults(c, RateChoice::DefaultsNoTa1);
    if (!atr.fi || !atr.di) return set_defaults(c, RateChoice::DefaultsTa1Rfu);
    if (*atr.fi == kFd && *atr.di == kDd) return set_defaults(c, RateChoice::Ta1);
    if (c.clock_khz == 0) return set_defaults(c, RateChoice::DefaultsClockUnknown);
    if (reader_accepts_rate(caps, data_rate_bps(c.clock_khz, *atr.fi, *atr.di))) {
        return set_rate(c, atr.fi_code, atr.di_code, RateChoice::Ta1);
    }
    for (auto it = std::rbegin(kDiCodesByValue); it != std::rend(kDiCodesByValue); ++it) {
        const std::uint8_t d = *di_from_code(*it);
        if (d >= *atr.di) continue;
        if (reader_accepts_rate(caps, data_rate_bps(c.clock_khz, *atr.fi, d))) {
            return set_rate(c, atr.fi_code, *it, RateChoice::Ta1LowerDi);
        }
    }
    set_defaults(c, RateChoice::DefaultsReaderTooSlow);
}

std::optional<std::uint8_t> choose_negotiable_protocol(const Atr& atr, const ReaderRateCaps& caps) {
    const ProtocolMask requested = caps.requested_protocols != 0 ? caps.requested_protocols : 0xFFFF;
    // T=15 is never a protocol, whatever the masks say.
    const ProtocolMask usable = atr.offered_protocols & caps.supported_protocols & requested &
                                static_cast<ProtocolMask>(~protocol_bit(15));
    if (usable == 0) return std::nullopt;
    // The first offered protocol needs no PPS; otherwise prefer T=1, as PC/SC resource managers do.
    if (usable & protocol_bit(atr.default_protocol)) return atr.default_protocol;
    if (usable & protocol_bit(1)) return 1;
    for (std::uint8_t t = 0; t < 15; ++t) {
        if (usable & protocol_bit(t)) return t;
    }
    return std::nullopt;
}

std::expected<ProtocolChoice, ChoiceError> choose_specific(const Atr& atr, const ReaderRateCaps& caps,
                                                           ProtocolChoice c) {
    const SpecificMode& mode = *atr.specific_mode;
    if (mode.implicit_parameters) return std::unexpected(ChoiceError::SpecificModeImplicitParameters);
    if (mode.protocol == 15 || !(caps.supported_protocols & protocol_bit(mode.protocol))) {
        return std::unexpected(ChoiceError::SpecificModeProtocolUnsupported);
    }
    if (caps.requested_protocols != 0 && !(caps.requested_protocols & protocol_bit(mode.protocol))) {
        return std::unexpected(ChoiceError::NoCommonProtocol);
    }
    c.protocol = mode.protocol;
    if (!atr.ta1) {
        set_defaults(c, RateChoice::SpecificMode);
        return c;
    }
    if (!atr.fi || !atr.di) return std::unexpected(ChoiceError::SpecificModeRateUnsupported);
    set_rate(c, atr.fi_code, atr.di_code, RateChoice::SpecificMode);
    const bool is_default = c.f == kFd && c.d == kDd;
    // The card switches to TA1's values right after the ATR (6.3.1): no fallback exists.
    if (!is_default && !reader_accepts_rate(caps, c.data_rate_bps)) {
        return std::unexpected(ChoiceError::SpecificModeRateUnsupported);
    }
    return c;
}

}  // namespace

std::expected<ProtocolChoice, ChoiceError> choose_protocol_and_rate(const Atr& atr,
                                                                    const ReaderRateCaps& caps) {
    ProtocolChoice c;
    c.clock_khz = caps.default_clock_khz;
    if (atr.specific_mode) return choose_specific(atr, caps, c);

    const auto protocol = choose_negotiable_protocol(atr, caps);
    if (!protocol) return std::unexpected(ChoiceError::NoCommonProtocol);
    c.protocol = *protocol;
    choose_negotiable_rate(atr, caps, c);

    // Right after the ATR a card in negotiable mode runs its first offered protocol at Fd/Dd
    // (6.3.1); anything else takes a PPS exchange.
    const bool default_rate = c.f == kFd && c.d == kDd;
    c.pps_needed = c.protocol != atr.default_protocol || !default_rate;
    if (c.pps_needed) {
        PpsRequest request;
        request.protocol = c.protocol;
        if (!default_rate) request.pps1 = static_cast<std::uint8_t>((c.fi_code << 4) | c.di_code);
        c.pps_request = request;
        c.host_sends_pps = !caps.automatic_pps;
    }
    return c;
}

}  // namespace ccidkit::proto

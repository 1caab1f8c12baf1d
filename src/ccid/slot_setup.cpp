#include "ccid/slot_setup.h"

#include <algorithm>

#include <fmt/format.h>

#include "ccid/descriptor_meaning.h"
#include "protocol/fi_di_tables.h"

namespace ccidkit::ccid {

std::vector<PowerSelect> voltage_sequence(bool automatic_voltage, std::uint8_t voltage_support) {
    if (automatic_voltage) return {PowerSelect::Automatic};
    std::vector<PowerSelect> out;
    if (voltage_support & kVoltage5V) out.push_back(PowerSelect::V5_0);
    if (voltage_support & kVoltage3V) out.push_back(PowerSelect::V3_0);
    if (voltage_support & kVoltage1V8) out.push_back(PowerSelect::V1_8);
    if (out.empty()) out.push_back(PowerSelect::Automatic);  // nothing declared: let the reader pick
    return out;
}

bool retry_at_next_voltage(const ReaderError& e) {
    if (!e.slot_error || e.code == ReaderErrc::CardRemoved) return false;  // an empty slot stays empty
    switch (e.slot_error->kind) {
        case SlotErrorKind::IccClassNotSupported:
        case SlotErrorKind::IccMute: return true;
        case SlotErrorKind::BadParameter: return e.slot_error->bad_parameter_offset() == 7;  // bPowerSelect
        default: return false;
    }
}

std::uint8_t class_of(PowerSelect voltage) {
    switch (voltage) {
        case PowerSelect::V5_0: return proto::kClassA;
        case PowerSelect::V3_0: return proto::kClassB;
        case PowerSelect::V1_8: return proto::kClassC;
        case PowerSelect::Automatic: return 0;
    }
    return 0;
}

std::optional<PowerSelect> class_indicator_fallback(const proto::Atr& atr, PowerSelect current,
                                                    std::span<const PowerSelect> remaining) {
    if (!atr.t15_ta || current == PowerSelect::Automatic) return std::nullopt;
    const std::uint8_t supported = atr.class_indicator & (proto::kClassA | proto::kClassB | proto::kClassC);
    if (supported == 0 || (supported & class_of(current)) != 0) return std::nullopt;
    for (auto v : remaining)
        if (supported & class_of(v)) return v;
    return std::nullopt;
}

std::expected<void, ReaderError> check_atr_usable(const proto::AtrParse& parse) {
    switch (parse.error) {
        case proto::AtrError::Empty:
        case proto::AtrError::InvalidTs:
        case proto::AtrError::Truncated:
        case proto::AtrError::TooLong:
            return std::unexpected(make_error(
                ReaderErrc::InvalidAtr, fmt::format("{} ({})", proto::to_string(parse.error),
                                                    to_hex(ByteView{parse.atr.raw_bytes.data(), parse.atr.raw_size}))));
        default: return {};
    }
}

proto::ReaderRateCaps rate_caps(const ReaderCaps& caps, proto::ProtocolMask requested_protocols) {
    proto::ReaderRateCaps r;
    r.default_clock_khz = caps.default_clock_khz;
    r.max_clock_khz = caps.max_clock_khz;
    r.clocks_khz = caps.clocks_khz;
    r.max_data_rate_bps = caps.max_data_rate;
    r.data_rates_bps = caps.data_rates;
    r.automatic_pps = caps.has(Feature::AutoPps) || caps.has(Feature::AutoParameterNegotiation);
    r.supported_protocols = static_cast<proto::ProtocolMask>((caps.t0 ? proto::protocol_bit(0) : 0) |
                                                             (caps.t1 ? proto::protocol_bit(1) : 0));
    r.requested_protocols = requested_protocols;
    return r;
}

ProtocolParameters make_protocol_parameters(const proto::Atr& atr, std::uint8_t protocol, std::uint8_t fi_code,
                                            std::uint8_t di_code, bool reader_clock_stop) {
    const auto fidi = static_cast<std::uint8_t>(((fi_code & 0x0F) << 4) | (di_code & 0x0F));
    const bool inverse = atr.convention == proto::Convention::Inverse;
    // bClockStop uses the coding of the clock stop indicator X (ISO/IEC 7816-3 table 10).
    const auto clock_stop = reader_clock_stop ? static_cast<std::uint8_t>(atr.clock_stop) : std::uint8_t{0};
    if (protocol == 1) {
        T1Parameters p;
        p.bmFindexDindex = fidi;
        p.bmTCCKST1 = static_cast<std::uint8_t>(0x10 | (atr.t1.edc == proto::Edc::Crc ? 0x01 : 0x00) |
                                                (inverse ? 0x02 : 0x00));
        p.bGuardTimeT1 = atr.extra_guard_time;
        p.bmWaitingIntegersT1 = static_cast<std::uint8_t>(((atr.t1.bwi & 0x0F) << 4) | (atr.t1.cwi & 0x0F));
        p.bClockStop = clock_stop;
        p.bIFSC = std::clamp<std::uint8_t>(atr.t1.ifsc, 1, 254);
        p.bNadValue = 0;
        return p;
    }
    T0Parameters p;
    p.bmFindexDindex = fidi;
    p.bmTCCKST0 = inverse ? 0x02 : 0x00;
    p.bGuardTimeT0 = atr.extra_guard_time;
    p.bWaitingIntegerT0 = atr.wi == 0 ? 10 : atr.wi;
    p.bClockStop = clock_stop;
    return p;
}

CardTiming timing_from(const ProtocolParameters& params, std::uint32_t clock_khz, std::uint8_t ifsd) {
    CardTiming t;
    t.clock_khz = clock_khz;
    t.ifsd = ifsd;
    std::uint8_t fidi = 0x11;
    if (const auto* p0 = std::get_if<T0Parameters>(&params)) {
        t.protocol = 0;
        fidi = p0->bmFindexDindex;
        t.extra_guard_time = p0->bGuardTimeT0;
        t.wi = p0->bWaitingIntegerT0;
    } else if (const auto* p1 = std::get_if<T1Parameters>(&params)) {
        t.protocol = 1;
        fidi = p1->bmFindexDindex;
        t.extra_guard_time = p1->bGuardTimeT1;
        t.bwi = static_cast<std::uint8_t>(p1->bmWaitingIntegersT1 >> 4);
        t.cwi = static_cast<std::uint8_t>(p1->bmWaitingIntegersT1 & 0x0F);
        t.ifsc = p1->bIFSC == 0 ? 32 : p1->bIFSC;
    }
    t.f = proto::fi_from_code(static_cast<std::uint8_t>(fidi >> 4)).value_or(proto::kFd);
    t.d = proto::di_from_code(static_cast<std::uint8_t>(fidi & 0x0F)).value_or(proto::kDd);
    return t;
}

}  // namespace ccidkit::ccid

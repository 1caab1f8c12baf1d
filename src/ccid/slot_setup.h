// The decisions a slot takes while bringing a card up, as pure functions: the power-on
// voltage sequence (CCID Rev 1.1 6.1.1 bPowerSelect; ISO/IEC 7816-3:2006 6.2.4 classes and
// 8.3 class indicator), which ATRs are usable, the reader capabilities handed to the protocol
// choice (proto::choose_protocol_and_rate), and the SetParameters structure built from the
// ATR and that choice (CCID 6.1.7, Tables 6.1-3 / 6.1-4).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ccid/message_protocol_data.h"
#include "ccid/message_types.h"
#include "ccid/reader_caps.h"
#include "ccid/reader_error.h"
#include "ccid/timeouts.h"
#include "protocol/atr.h"
#include "protocol/pps_choice.h"

namespace ccidkit::ccid {

// Voltages to try in order: Automatic when the reader selects the voltage itself
// (dwFeatures 08h), otherwise 5 V, 3 V, 1.8 V restricted to bVoltageSupport.
std::vector<PowerSelect> voltage_sequence(bool automatic_voltage, std::uint8_t voltage_support);

// Whether a failed IccPowerOn is worth retrying at the next voltage: the card does not take
// this class (ICC_CLASS_NOT_SUPPORTED), the reader rejected bPowerSelect (bad parameter at
// offset 7) or the card stayed mute (a card of a lower class may not answer at all).
bool retry_at_next_voltage(const ReaderError& e);

// ISO/IEC 7816-3 class bit (kClassA/B/C) of a voltage; 0 for Automatic.
std::uint8_t class_of(PowerSelect voltage);

// When the ATR's class indicator (first TA after T=15) excludes the voltage in use and one of
// the voltages still to try is in it, that voltage (6.2.4: deactivate, then activate at a
// class the card supports). nullopt: keep the current activation.
std::optional<PowerSelect> class_indicator_fallback(const proto::Atr& atr, PowerSelect current,
                                                    std::span<const PowerSelect> remaining);

// A parse result the driver can work with: TS, T0 and every interface byte decoded. TCK and
// historical-byte problems are tolerated (logged by the caller).
std::expected<void, ReaderError> check_atr_usable(const proto::AtrParse& parse);

// Reader capabilities for proto::choose_protocol_and_rate.
proto::ReaderRateCaps rate_caps(const ReaderCaps& caps, proto::ProtocolMask requested_protocols);

// SetParameters structure for `protocol` with the given Fi/Di codes, the rest from the ATR:
// convention, TC1 guard time, TC2 WI (T=0), TB3 BWI/CWI, TC3 EDC, TA3 IFSC (T=1), and the
// clock stop indicator when the reader can stop the clock (dwFeatures 100h).
ProtocolParameters make_protocol_parameters(const proto::Atr& atr, std::uint8_t protocol, std::uint8_t fi_code,
                                            std::uint8_t di_code, bool reader_clock_stop);

// Card timing for the timeouts, from the parameters in force.
CardTiming timing_from(const ProtocolParameters& params, std::uint32_t clock_khz, std::uint8_t ifsd);

}  // namespace ccidkit::ccid

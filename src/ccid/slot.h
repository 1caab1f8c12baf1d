// One card slot of a CCID reader: power, protocol set-up, and APDU transmission at the
// reader's exchange level (CCID Rev 1.1 sections 6.1.1-6.1.8, 6.1.11; ISO/IEC 7816-3:2006).
//
// power_on():
//  1. Quirks::power_off_before_on: IccPowerOff first.
//  2. IccPowerOn with the voltage sequence of slot_setup.h (automatic, or 5 V -> 3 V -> 1.8 V
//     as bVoltageSupport allows), moving to the next voltage on ICC_CLASS_NOT_SUPPORTED, a
//     rejected bPowerSelect or a mute card, and when the ATR's class indicator excludes the
//     voltage in use (ISO/IEC 7816-3 6.2.4).
//  3. The ATR is parsed; an undecodable one is refused (InvalidAtr) and the card powered off.
//  4. Parameters, by dwFeatures:
//     - automatic parameter negotiation (40h): the reader decides; GetParameters tells what;
//     - automatic PPS (80h): SetParameters with the host's choice, the reader runs the PPS,
//       then GetParameters to learn what it settled;
//     - otherwise the host chooses (proto::choose_protocol_and_rate with the data-rate list),
//       sends the PPS in an XfrBlock when needed (TPDU level), checks the response, then sends
//       SetParameters built from the ATR. A failed PPS is followed by one cold reset and the
//       card's default protocol at Fd/Dd (as pcsc-lite does).
//     A refused SetParameters is accepted only when GetParameters shows the reader already
//     runs the card's link (protocol, Fi/Di, T=1 EDC); after an accepted PPS that the reader
//     will not follow, the card is cold-reset and used at its defaults as after a failed PPS.
//     Quirks::no_pps: never a PPS, default protocol at Fd/Dd.
//  5. T=1 at TPDU level without automatic IFSD (400h) and without Quirks::skip_ifsd_exchange:
//     S(IFS request) with the reader's IFSD.
// Messages sent keep to ReaderCaps::max_send_length (the reported dwMaxCCIDMessageLength):
// T=1 blocks use an IFSC capped so that a whole block fits; T=0 sizes ENVELOPE segments and
// GET RESPONSE to it and refuses (ApduTooLong) a command TPDU that cannot fit.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <mutex>
#include <optional>

#include "ccid/message_pin.h"
#include "ccid/message_protocol_data.h"
#include "ccid/message_types.h"
#include "ccid/reader_error.h"
#include "ccid/timeouts.h"
#include "common/bytes.h"
#include "protocol/atr.h"
#include "protocol/pps_choice.h"
#include "protocol/t1_engine.h"

namespace ccidkit::ccid {

class Reader;
struct XfrRequest;
struct XfrReply;
struct TransferSetup;

enum class CardPresence : std::uint8_t { Absent, PresentInactive, PresentActive };
std::string_view to_string(CardPresence p);

struct SlotStatusInfo {
    CardPresence presence = CardPresence::Absent;
    ClockStatus clock = ClockStatus::Running;
};

struct PowerOnOptions {
    proto::ProtocolMask protocols = 0;  // acceptable protocols (protocol_bit(0) | ...); 0: any
    bool negotiate = true;              // false: stop after the ATR (no PPS, SetParameters, S(IFS))
};

// What the last successful power-on (or warm reset) settled.
struct CardSession {
    Bytes atr;
    proto::Atr parsed_atr;
    PowerSelect voltage = PowerSelect::Automatic;
    unsigned power_on_attempts = 0;       // IccPowerOn commands sent
    std::uint8_t protocol = 0;            // T=0 or T=1 in force
    ProtocolParameters parameters;        // as sent to / reported by the reader
    CardTiming timing;                    // what the timeouts are computed from
    std::optional<proto::ProtocolChoice> choice;
    bool negotiated = false;              // parameters were set up (PowerOnOptions::negotiate)
    bool pps_exchanged = false;           // the host's PPS was accepted and is in force
    bool negotiation_fallback = false;    // the PPS failed: cold reset, default protocol
    bool parameters_from_reader = false;  // parameters read back with GetParameters
    bool ifsd_exchanged = false;          // the host sent S(IFS request)
    std::uint8_t ifsd = 32;               // T=1 IFSD in force
};

class Slot {
public:
    std::uint8_t index() const { return index_; }

    std::expected<CardSession, ReaderError> power_on(const PowerOnOptions& options = {});
    // CCID 1.1 has no warm-reset command: IccPowerOn on an active card makes the reader
    // reset it without removing power (warm reset, ISO/IEC 7816-3 6.2.3); the parameters are
    // set up again. A slot without an active card gets a cold power-on.
    std::expected<CardSession, ReaderError> warm_reset(const PowerOnOptions& options = {});
    std::expected<void, ReaderError> power_off();
    // GetSlotStatus (6.1.3).
    std::expected<SlotStatusInfo, ReaderError> status();

    // Sends a command APDU and returns the response APDU (data + SW1 SW2).
    std::expected<Bytes, ReaderError> transmit(ByteView apdu);

    // PC_to_RDR_Escape (6.1.8): vendor command to the reader, with this slot's bSlot.
    std::expected<Bytes, ReaderError> escape(ByteView data, std::optional<Millis> timeout = std::nullopt);
    // PC_to_RDR_Secure (6.1.11): PIN verification / modification on the reader's keypad. The
    // result is the response APDU; a PIN entry timeout or cancel by the user becomes SW 6400 /
    // 6401 (as libccid reports them). For T=1 at TPDU level the host's T=1 engine supplies
    // bTeoPrologue (NAD, PCB with its N(S)) and handles the card's answer block.
    std::expected<Bytes, ReaderError> secure_verify(const PinVerify& verify);
    std::expected<Bytes, ReaderError> secure_modify(const PinModify& modify);

    // GetParameters / SetParameters (6.1.5, 6.1.7) for diagnostics. set_parameters() also
    // updates the session's timing.
    std::expected<ProtocolParameters, ReaderError> get_parameters();
    std::expected<ProtocolParameters, ReaderError> set_parameters(const ProtocolParameters& params);

    // Sharing the card session with other processes that drive the same reader one at a time
    // (src/api/shared_device.h), encoded as in ccid/session_snapshot.h. export_session(): the
    // active session (or "not powered") with the T=1 engine's sequence numbers and IFSC/IFSD.
    // adopt_session(): continue what another process exported, as if this slot had done it;
    // InvalidArgument (nothing changed) when the bytes do not decode.
    Bytes export_session() const;
    std::expected<void, ReaderError> adopt_session(ByteView encoded);

    // The active session, if the card is powered. Both wait for an operation in progress on
    // this slot to finish.
    std::optional<CardSession> session() const;
    bool active() const;

    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

private:
    friend class Reader;
    Slot(Reader& reader, std::uint8_t index);

    // poll_events() saw the card go (or a hardware fault): the session is over.
    void invalidate(ReaderErrc reason);

    std::expected<CardSession, ReaderError> power_up(const PowerOnOptions& options, bool warm);
    std::expected<Bytes, ReaderError> icc_power_on(PowerSelect voltage, unsigned& attempts);
    std::expected<void, ReaderError> icc_power_off();
    std::expected<void, ReaderError> negotiate(CardSession& session, const PowerOnOptions& options);
    std::expected<void, ReaderError> set_up_t1(CardSession& session, bool exchange_ifsd);
    std::expected<ProtocolParameters, ReaderError> get_parameters_locked();
    std::expected<ProtocolParameters, ReaderError> set_parameters_locked(const ProtocolParameters& params);
    std::expected<XfrReply, ReaderError> xfr(const XfrRequest& request);
    std::expected<void, ReaderError> check_session() const;
    // nullopt: no prologue needed (not T=1 at TPDU level); otherwise bTeoPrologue.
    std::expected<std::optional<std::array<std::uint8_t, 3>>, ReaderError> begin_secure(ByteView pin_apdu);
    std::expected<Bytes, ReaderError> secure(Bytes ab_data, std::uint8_t timeout_s, bool t1_tpdu);
    TransferSetup transfer_setup(const CardTiming& timing) const;
    void end_session_on(const ReaderError& e);

    Reader& reader_;
    std::uint8_t index_;
    mutable std::mutex mutex_;
    std::optional<CardSession> session_;
    std::optional<proto::T1Engine> t1_;
    std::atomic<std::uint64_t> epoch_{0};  // bumped by invalidate()
    std::atomic<int> invalidation_reason_{static_cast<int>(ReaderErrc::CardRemoved)};
    std::uint64_t session_epoch_ = 0;
};

}  // namespace ccidkit::ccid

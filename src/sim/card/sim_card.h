// The whole simulated card: ATR, activation and deactivation (ISO/IEC 7816-3:2006 clause 6),
// the card side of PPS (clause 9), then T=0 (clause 10, T0Card) or T=1 (clause 11, T1Card)
// according to the protocol in force, in front of a CardApplication.
//
// Three ways in, matching the three kinds of CCID readers:
//  - on_reader_chars(): character level, the reader moves single characters;
//  - transmit_tpdu(): TPDU level, one T=0 TPDU or one T=1 block (or a PPS request);
//  - transmit_apdu(): APDU level, the reader runs T=0/T=1 itself. This drives the repo's HOST
//    engines (proto::T0Exchange with automatic GET RESPONSE, proto::T1Engine) against the card
//    side, exactly like reader firmware would, and reports the S(WTX) requests the card made so
//    that a CCID reader can turn them into time extensions.
//
// The link check: every exchange states the protocol and Fi/Di the interface device uses
// (CardLink). If Fi/Di differ from what the card uses, characters are garbled
// (CardError::WrongParameters); if the protocol differs, the card does not understand and stays
// silent (CardError::WrongProtocol). So a host that forgets PPS or SetParameters fails as it
// would with real hardware.
//
// After a reset the card uses its default protocol at Fd/Dd (negotiable mode), or TA1's Fi/Di
// in specific mode (TA2 present, bit 5 clear). PPS is accepted only as the first exchange after
// the ATR and never in specific mode.
//
// Not thread-safe: ReaderSim serialises every access under its own lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "protocol/atr.h"
#include "protocol/t0_exchange.h"
#include "protocol/t1_edc.h"
#include "protocol/t1_engine.h"
#include "sim/card/card_application.h"
#include "sim/card/sim_card_atr.h"
#include "sim/card/sim_card_pps.h"
#include "sim/card/t0_card.h"
#include "sim/card/t1_card.h"

namespace ccidkit::sim {

enum class CardError : std::uint8_t {
    NotActive,              // not activated (never, or powered off since)
    Mute,                   // no answer: card mute/removed, T=1 silence, PPS not answered
    ClassNotSupported,      // activated at a voltage class the ATR does not claim (8.3 TA for T=15)
    WrongParameters,        // the reader's Fi/Di differ from the card's: garbled characters
    WrongProtocol,          // the reader runs another protocol than the card: no answer
    ProcedureByteConflict,  // T=0: the card sent an invalid procedure byte (10.3.3)
    BadTpdu,                // T=0 TPDU the reader cannot send (too short, P3 mismatch, CLA FF, INS 6X/9X)
    BadApdu,                // APDU level: empty, oversized or (T=0) unsendable command APDU
    ProtocolFailure,        // APDU level: the reader's T=0/T=1 engine gave up (see last_engine_error)
};

std::string_view to_string(CardError e);

// The transmission parameters the interface device uses towards the card.
struct CardLink {
    std::uint8_t protocol = 0;
    std::uint8_t fi_code = 1;  // as in TA1 / PPS1 / CCID bmFindexDindex
    std::uint8_t di_code = 1;
    bool operator==(const CardLink&) const = default;
};

// How the reader firmware runs the protocol for transmit_apdu().
struct ApduPathOptions {
    CardLink link;
    // T=1 parameters as the reader believes them (CCID SetParameters / the ATR). A wrong EDC or
    // NAD makes the exchange fail as on real hardware.
    proto::T1Edc edc = proto::T1Edc::Lrc;
    std::uint8_t ifsc = 32;
    std::uint8_t ifsd = 254;  // announced with S(IFS request) before the first block when not 32
    std::uint8_t nad = 0;
    // T=0: class byte of the GET RESPONSE / ENVELOPE commands the reader generates
    // (CCID bClassGetResponse / bClassEnvelope, PC_to_RDR_T0APDU); nullopt echoes the command's.
    std::optional<std::uint8_t> get_response_cla;
    std::optional<std::uint8_t> envelope_cla;
    proto::T0ExchangeOptions t0;
};

struct ApduResult {
    Bytes response;                 // data + SW1 SW2
    std::vector<std::uint8_t> wtx;  // multipliers of the card's S(WTX requests), in order (T=1)
    std::size_t transfers = 0;      // T=0 TPDUs or T=1 blocks sent to the card
    // T=0: the header (CLA INS P1 P2 P3) of every TPDU sent, GET RESPONSE / ENVELOPE included.
    std::vector<Bytes> t0_headers;
};

struct SimCardConfig {
    AtrSpec atr;                     // used when raw_atr is empty
    Bytes raw_atr;                   // sent as is (may be malformed on purpose)
    std::optional<Bytes> warm_atr;   // answer to a warm reset; default: the same ATR
    PpsPolicy pps = PpsPolicy::Negotiate;
    T0CardOptions t0;                // T=0 behaviour and faults (see t0_card.h)
    T1CardConfig t1;                 // T=1 behaviour and faults (see t1_card.h)
    bool t1_from_atr = true;         // t1.edc and t1.ifsc follow the ATR (cold ATR)
    // Fault: the card answers this many command APDUs; the next one reaches the application
    // but no answer ever leaves the card, and it stays mute (also to resets) until
    // set_mute_after_apdus() or set_mute(false) is called.
    std::optional<std::size_t> mute_after_apdus;
};

class SimCard {
public:
    // `app` defaults to DemoCardApp (file system + echo commands, sim/card/apdu_app.h).
    explicit SimCard(SimCardConfig config = {}, std::unique_ptr<CardApplication> app = nullptr);
    ~SimCard();
    SimCard(SimCard&&) noexcept;
    SimCard& operator=(SimCard&&) noexcept;
    SimCard(const SimCard&) = delete;
    SimCard& operator=(const SimCard&) = delete;

    // T=1 only, TA1 = 96 (Fi 512, Di 32), IFSC 254, BWI 4, CWI 5, LRC, classes A/B/C.
    static SimCard t1_default(std::unique_ptr<CardApplication> app = nullptr);
    // T=0 only, TA1 = 13 (Fi 372, Di 4), classes A/B/C.
    static SimCard t0_default(std::unique_ptr<CardApplication> app = nullptr);
    static AtrSpec t1_default_atr();
    static AtrSpec t0_default_atr();

    // ---- Activation (clause 6) ----
    // Cold reset at voltage class `card_class` (proto::kClassA/B/C): the ATR.
    std::expected<Bytes, CardError> cold_reset(std::uint8_t card_class = proto::kClassA);
    // Warm reset of an active card (6.2.3): the warm ATR.
    std::expected<Bytes, CardError> warm_reset();
    void power_off();
    bool active() const { return active_; }
    // Classes from the ATR's class indicator (class A only when the ATR has none).
    std::uint8_t supported_classes() const;

    const Bytes& atr() const { return atr_; }              // cold ATR
    const proto::Atr& parsed_atr() const { return parsed_; }  // its decode
    const proto::Atr& current_atr() const;                 // the ATR of the last reset

    // ---- PPS (clause 9) ----
    // The card's answer, or nullopt (silent). Only the first exchange after a reset may be a
    // PPS; any later request, or one while inactive or mute, gets no answer.
    std::optional<Bytes> handle_pps(ByteView request);
    bool pps_allowed() const { return active_ && pps_allowed_; }

    // What the card uses now.
    CardLink link() const { return CardLink{protocol_, fi_code_, di_code_}; }

    // ---- Exchanges ----
    // TPDU level: a T=0 TPDU ("[data] SW1 SW2" back), a T=1 block (the card's block back), or a
    // PPS request (first byte FF right after the ATR).
    std::expected<Bytes, CardError> transmit_tpdu(ByteView tpdu, const CardLink& reader);
    // Character level: the characters the card sends back (possibly none).
    Bytes on_reader_chars(ByteView chars, const CardLink& reader);
    // APDU level: see the header comment.
    std::expected<ApduResult, CardError> transmit_apdu(ByteView apdu, const ApduPathOptions& options);
    // Why the last transmit_apdu() failed with ProtocolFailure (T=0 or T=1 engine error text).
    std::string_view last_engine_error() const { return last_engine_error_; }

    // ---- Faults ----
    // A mute card answers nothing, not even a reset (as if its contacts were lost).
    void set_mute(bool mute);
    bool mute() const;
    void set_mute_after_apdus(std::optional<std::size_t> n);

    // ---- Inspection ----
    std::size_t apdus_processed() const;  // command APDUs given to the application
    const Bytes& last_apdu() const;       // the last of them
    CardApplication& application() { return *app_; }
    T0Card& t0() { return *t0_; }
    T1Card& t1() { return *t1_; }
    const SimCardConfig& config() const { return config_; }

private:
    class Counter;

    void apply_reset(const proto::Atr& atr);
    bool silent() const;
    std::optional<CardError> check_link(const CardLink& reader) const;
    std::expected<ApduResult, CardError> apdu_t0(ByteView apdu, const ApduPathOptions& options);
    std::expected<ApduResult, CardError> apdu_t1(ByteView apdu, const ApduPathOptions& options);
    void feed_t1_char(std::uint8_t c, Bytes& out);

    SimCardConfig config_;
    std::unique_ptr<CardApplication> app_;
    std::unique_ptr<Counter> counter_;
    std::unique_ptr<T0Card> t0_;
    std::unique_ptr<T1Card> t1_;

    Bytes atr_;
    proto::Atr parsed_;
    proto::Atr parsed_warm_;
    bool last_reset_warm_ = false;

    bool active_ = false;
    bool pps_allowed_ = false;
    bool mute_ = false;
    std::uint8_t protocol_ = 0;
    std::uint8_t fi_code_ = 1;
    std::uint8_t di_code_ = 1;

    Bytes pps_rx_;  // character level: PPS request being received
    Bytes t1_rx_;   // character level: T=1 block being received

    // The reader firmware's T=1 engine for this card (APDU level); reset with the card.
    std::unique_ptr<proto::T1Engine> reader_t1_;
    proto::T1Config reader_t1_config_;
    std::string_view last_engine_error_;
};

}  // namespace ccidkit::sim

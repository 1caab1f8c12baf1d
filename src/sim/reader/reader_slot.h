// One slot of the simulated reader: its card, power and clock state, protocol parameters and
// exchange-level state (extended APDU chaining, character-level receive buffer), and the
// execution of every PC_to_RDR command addressed to it (CCID Rev 1.1 section 6.1), following
// the class descriptor. Internal to ReaderSim: no locking, no queues, no time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "ccid/descriptor_meaning.h"
#include "ccid/message_commands.h"
#include "ccid/message_responses.h"
#include "protocol/pps_choice.h"
#include "sim/card/sim_card.h"
#include "sim/reader/reader_config.h"

namespace ccidkit::sim {

struct SlotOutcome {
    ccid::Response reply;
    // Multipliers of the S(WTX) requests the card made (APDU level): one time extension each.
    std::vector<std::uint8_t> card_time_extensions;
    bool card_left = false;  // Mechanical eject/capture took the card out of the slot
};

struct SlotSnapshot {
    bool present = false;
    bool powered = false;
    ccid::IccStatus icc = ccid::IccStatus::Absent;
    ccid::ProtocolParameters parameters = ccid::T0Parameters{};
    ccid::ClockStatus clock = ccid::ClockStatus::Running;
    std::uint32_t clock_khz = 0;
    std::uint32_t data_rate_bps = 0;
    bool locked = false;  // Mechanical lock
    bool busy = false;    // a command is in progress (filled by ReaderSim)
};

class ReaderSlot {
public:
    ReaderSlot(const ReaderSimConfig& config, std::uint8_t index);

    // A card appears; with AutoActivation (dwFeatures 04h) it is powered at once.
    void insert(std::shared_ptr<SimCard> card);
    std::shared_ptr<SimCard> remove();
    const std::shared_ptr<SimCard>& card() const { return card_; }
    ccid::IccStatus icc_status() const;
    // Overcurrent and the like: the reader deactivates the card.
    void deactivate();

    SlotOutcome execute(const ccid::Command& command);

    SlotSnapshot snapshot() const;

private:
    SlotOutcome fail(const ccid::Command& command, std::uint8_t error) const;
    SlotOutcome fail(const ccid::Command& command, ccid::IccStatus icc, std::uint8_t error) const;
    // Common checks of commands that talk to the card: absent / inactive card.
    std::optional<SlotOutcome> require_active(const ccid::Command& command) const;
    ccid::Status ok_status() const;
    std::uint8_t clock_status_byte() const;

    SlotOutcome power_on(const ccid::pc_to_rdr::IccPowerOn& m);
    SlotOutcome power_off(const ccid::pc_to_rdr::IccPowerOff& m);
    SlotOutcome slot_status(const ccid::pc_to_rdr::GetSlotStatus& m) const;
    SlotOutcome xfr_block(const ccid::pc_to_rdr::XfrBlock& m);
    SlotOutcome get_parameters(const ccid::pc_to_rdr::GetParameters& m) const;
    SlotOutcome reset_parameters(const ccid::pc_to_rdr::ResetParameters& m);
    SlotOutcome set_parameters(const ccid::pc_to_rdr::SetParameters& m);
    SlotOutcome escape(const ccid::pc_to_rdr::Escape& m) const;
    SlotOutcome icc_clock(const ccid::pc_to_rdr::IccClock& m);
    SlotOutcome t0_apdu(const ccid::pc_to_rdr::T0Apdu& m);
    SlotOutcome secure(const ccid::pc_to_rdr::Secure& m);
    SlotOutcome mechanical(const ccid::pc_to_rdr::Mechanical& m);
    SlotOutcome abort(const ccid::pc_to_rdr::Abort& m) const;
    SlotOutcome set_rate_and_clock(const ccid::pc_to_rdr::SetDataRateAndClockFrequency& m);

    // Exchange levels (reader_slot_xfr.cpp).
    SlotOutcome xfr_tpdu(const ccid::pc_to_rdr::XfrBlock& m);
    SlotOutcome xfr_short_apdu(const ccid::pc_to_rdr::XfrBlock& m);
    SlotOutcome xfr_extended_apdu(const ccid::pc_to_rdr::XfrBlock& m);
    SlotOutcome xfr_character(const ccid::pc_to_rdr::XfrBlock& m);
    SlotOutcome run_apdu(const ccid::Command& command, ByteView apdu, bool chain_response);
    SlotOutcome data_block(const ccid::Command& command, Bytes data, std::uint8_t chain = 0) const;
    SlotOutcome next_response_part(const ccid::Command& command);
    std::size_t max_payload() const;
    ApduPathOptions apdu_options() const;
    CardLink reader_link() const;
    void clear_exchange_state();

    // Parameters (reader_slot_params.cpp).
    ccid::ProtocolParameters initial_parameters() const;
    proto::ReaderRateCaps rate_caps() const;
    std::optional<std::uint8_t> check_parameters(const ccid::ProtocolParameters& p) const;
    void negotiate_after_power_on();
    bool automatic_pps() const;

    const ReaderSimConfig& config_;
    ccid::DescriptorMeaning meaning_;
    ccid::ExchangeLevel level_;
    std::uint8_t index_;

    std::shared_ptr<SimCard> card_;
    bool powered_ = false;
    bool clock_stopped_ = false;
    bool locked_ = false;
    ccid::ProtocolParameters params_ = ccid::T0Parameters{};
    std::uint32_t clock_khz_ = 0;
    std::uint32_t data_rate_bps_ = 0;
    std::optional<std::uint8_t> get_response_cla_;
    std::optional<std::uint8_t> envelope_cla_;

    // Extended APDU level chaining (CCID 6.1.4 wLevelParameter, 6.2.1 bChainParameter).
    bool command_chaining_ = false;
    Bytes command_parts_;
    Bytes response_rest_;
    // Character level: card characters not yet collected by the host.
    Bytes char_rx_;
};

}  // namespace ccidkit::sim

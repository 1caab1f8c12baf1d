#include "sim/card/sim_card.h"

#include <algorithm>
#include <utility>

#include "protocol/fi_di_tables.h"
#include "protocol/pps.h"
#include "sim/card/apdu_app.h"

namespace ccidkit::sim {

std::string_view to_string(CardError e) {
    switch (e) {
        case CardError::NotActive: return "card not activated";
        case CardError::Mute: return "card mute (no answer)";
        case CardError::ClassNotSupported: return "card does not support this voltage class";
        case CardError::WrongParameters: return "reader and card use different Fi/Di (garbled characters)";
        case CardError::WrongProtocol: return "reader and card use different protocols (card does not answer)";
        case CardError::ProcedureByteConflict: return "T=0 procedure byte conflict";
        case CardError::BadTpdu: return "malformed T=0 TPDU";
        case CardError::BadApdu: return "command APDU cannot be sent";
        case CardError::ProtocolFailure: return "T=0/T=1 protocol failure";
    }
    return "unknown card error";
}

// Sits between the transports and the application: counts command APDUs, keeps the last one
// and trips the "mute after N APDUs" fault.
class SimCard::Counter final : public CardApplication {
public:
    explicit Counter(CardApplication& inner) : inner_(inner) {}
    Bytes process(ByteView command) override {
        ++count_;
        last_.assign(command.begin(), command.end());
        if (mute_after_ && count_ > *mute_after_) tripped_ = true;
        return inner_.process(command);
    }
    void reset() override { inner_.reset(); }

    std::size_t count_ = 0;
    Bytes last_;
    std::optional<std::size_t> mute_after_;
    bool tripped_ = false;

private:
    CardApplication& inner_;
};

namespace {

T1CardConfig t1_config_for(const SimCardConfig& config, const proto::Atr& atr) {
    T1CardConfig t1 = config.t1;
    if (config.t1_from_atr) {
        t1.edc = atr.t1.edc == proto::Edc::Crc ? proto::T1Edc::Crc : proto::T1Edc::Lrc;
        t1.ifsc = atr.t1.ifsc;
    }
    return t1;
}

}  // namespace

SimCard::SimCard(SimCardConfig config, std::unique_ptr<CardApplication> app)
    : config_(std::move(config)), app_(std::move(app)) {
    if (!app_) app_ = std::make_unique<DemoCardApp>();
    atr_ = config_.raw_atr.empty() ? build_atr(config_.atr) : config_.raw_atr;
    parsed_ = proto::parse_atr(atr_).atr;
    parsed_warm_ = config_.warm_atr ? proto::parse_atr(*config_.warm_atr).atr : parsed_;
    counter_ = std::make_unique<Counter>(*app_);
    counter_->mute_after_ = config_.mute_after_apdus;
    t0_ = std::make_unique<T0Card>(*counter_, config_.t0);
    t1_ = std::make_unique<T1Card>(*counter_, t1_config_for(config_, parsed_));
    protocol_ = parsed_.default_protocol;
}

SimCard::~SimCard() = default;
SimCard::SimCard(SimCard&&) noexcept = default;
SimCard& SimCard::operator=(SimCard&&) noexcept = default;

AtrSpec SimCard::t1_default_atr() {
    AtrSpec spec;
    spec.t0 = false;
    spec.t1 = true;
    spec.ta1 = 0x96;
    spec.ifsc = 254;
    spec.bwi = 4;
    spec.cwi = 5;
    spec.edc = proto::T1Edc::Lrc;
    spec.classes = proto::kClassA | proto::kClassB | proto::kClassC;
    spec.historical = preset_historical_bytes();
    return spec;
}

AtrSpec SimCard::t0_default_atr() {
    AtrSpec spec;
    spec.t0 = true;
    spec.t1 = false;
    spec.ta1 = 0x13;
    spec.classes = proto::kClassA | proto::kClassB | proto::kClassC;
    spec.historical = preset_historical_bytes();
    return spec;
}

SimCard SimCard::t1_default(std::unique_ptr<CardApplication> app) {
    SimCardConfig config;
    config.atr = t1_default_atr();
    return SimCard(std::move(config), std::move(app));
}

SimCard SimCard::t0_default(std::unique_ptr<CardApplication> app) {
    SimCardConfig config;
    config.atr = t0_default_atr();
    return SimCard(std::move(config), std::move(app));
}

std::uint8_t SimCard::supported_classes() const { return parsed_.class_indicator; }

const proto::Atr& SimCard::current_atr() const { return last_reset_warm_ ? parsed_warm_ : parsed_; }

bool SimCard::silent() const { return mute_ || counter_->tripped_; }

void SimCard::set_mute(bool mute) {
    mute_ = mute;
    if (!mute) counter_->tripped_ = false;
}

bool SimCard::mute() const { return silent(); }

void SimCard::set_mute_after_apdus(std::optional<std::size_t> n) {
    config_.mute_after_apdus = n;
    counter_->mute_after_ = n;
    counter_->count_ = 0;
    counter_->tripped_ = false;
}

std::size_t SimCard::apdus_processed() const { return counter_->count_; }
const Bytes& SimCard::last_apdu() const { return counter_->last_; }

void SimCard::apply_reset(const proto::Atr& atr) {
    t0_->reset();
    t1_->reset();
    protocol_ = atr.default_protocol;
    fi_code_ = proto::kDefaultFiCode;
    di_code_ = proto::kDefaultDiCode;
    pps_allowed_ = true;
    // Specific mode (8.3, TA2): the card runs TA2's protocol at once, with TA1's Fi/Di unless
    // bit 5 says they are implicit; no PPS takes place.
    if (atr.specific_mode) {
        pps_allowed_ = false;
        protocol_ = atr.specific_mode->protocol;
        if (!atr.specific_mode->implicit_parameters && atr.ta1 && atr.fi && atr.di) {
            fi_code_ = atr.fi_code;
            di_code_ = atr.di_code;
        }
    }
    pps_rx_.clear();
    t1_rx_.clear();
    reader_t1_.reset();
}

std::expected<Bytes, CardError> SimCard::cold_reset(std::uint8_t card_class) {
    active_ = false;
    if (silent()) return std::unexpected(CardError::Mute);
    if ((supported_classes() & card_class) == 0) return std::unexpected(CardError::ClassNotSupported);
    active_ = true;
    last_reset_warm_ = false;
    apply_reset(parsed_);
    return atr_;
}

std::expected<Bytes, CardError> SimCard::warm_reset() {
    if (!active_) return std::unexpected(CardError::NotActive);
    if (silent()) return std::unexpected(CardError::Mute);
    last_reset_warm_ = true;
    apply_reset(parsed_warm_);
    return config_.warm_atr ? *config_.warm_atr : atr_;
}

void SimCard::power_off() {
    active_ = false;
    pps_allowed_ = false;
    pps_rx_.clear();
    t1_rx_.clear();
    reader_t1_.reset();
}

std::optional<Bytes> SimCard::handle_pps(ByteView request) {
    if (!active_ || silent() || !pps_allowed_) return std::nullopt;
    // Whatever the outcome, PPS is over: after a failed one the reader has to reset (9.3).
    pps_allowed_ = false;
    PpsAnswer answer = answer_pps(current_atr(), config_.pps, request);
    if (!answer.response) return std::nullopt;
    protocol_ = answer.protocol;
    fi_code_ = answer.fi_code;
    di_code_ = answer.di_code;
    return answer.response;
}

std::optional<CardError> SimCard::check_link(const CardLink& reader) const {
    if (!active_) return CardError::NotActive;
    if (silent()) return CardError::Mute;
    if (reader.fi_code != fi_code_ || reader.di_code != di_code_) return CardError::WrongParameters;
    return std::nullopt;
}

std::expected<Bytes, CardError> SimCard::transmit_tpdu(ByteView tpdu, const CardLink& reader) {
    if (auto e = check_link(reader)) return std::unexpected(*e);
    if (pps_allowed_ && !tpdu.empty() && tpdu[0] == proto::kPpss) {
        auto response = handle_pps(tpdu);
        if (!response) return std::unexpected(CardError::Mute);
        return *response;
    }
    pps_allowed_ = false;
    if (reader.protocol != protocol_) return std::unexpected(CardError::WrongProtocol);

    if (protocol_ == 0) {
        auto r = t0_->exchange_tpdu(tpdu);
        if (silent()) return std::unexpected(CardError::Mute);
        if (r) return std::move(*r);
        switch (r.error()) {
            case proto::T0TransferError::ProcedureByteConflict:
            case proto::T0TransferError::TooManyIdleAcks: return std::unexpected(CardError::ProcedureByteConflict);
            case proto::T0TransferError::TooManyNullBytes:
            case proto::T0TransferError::CardMute: return std::unexpected(CardError::Mute);
            default: return std::unexpected(CardError::BadTpdu);
        }
    }
    auto block = t1_->handle_block(tpdu);
    if (silent() || !block) return std::unexpected(CardError::Mute);
    return std::move(*block);
}

void SimCard::feed_t1_char(std::uint8_t c, Bytes& out) {
    t1_rx_.push_back(c);
    if (t1_rx_.size() < proto::kT1PrologueSize) return;
    const std::size_t edc = proto::edc_size(t1_->config().edc);
    const std::size_t need = proto::kT1PrologueSize + t1_rx_[2] + edc;
    if (t1_rx_.size() < need) return;
    auto answer = t1_->handle_block(t1_rx_);
    t1_rx_.clear();
    if (answer) out.insert(out.end(), answer->begin(), answer->end());
}

Bytes SimCard::on_reader_chars(ByteView chars, const CardLink& reader) {
    Bytes out;
    if (check_link(reader)) return out;
    for (const std::uint8_t c : chars) {
        const bool pps_start = pps_allowed_ && pps_rx_.empty() && t1_rx_.empty() && c == proto::kPpss;
        if (pps_start || !pps_rx_.empty()) {
            pps_rx_.push_back(c);
            if (pps_rx_.size() >= 2 && pps_rx_.size() >= pps_request_size(pps_rx_[1])) {
                Bytes request = std::move(pps_rx_);
                pps_rx_.clear();
                if (auto answer = handle_pps(request)) out.insert(out.end(), answer->begin(), answer->end());
            }
            continue;
        }
        pps_allowed_ = false;
        if (reader.protocol != protocol_) continue;  // not understood: the card ignores it
        if (protocol_ == 0) {
            const std::uint8_t one[1] = {c};
            const Bytes answer = t0_->on_reader_chars(one);
            out.insert(out.end(), answer.begin(), answer.end());
        } else {
            feed_t1_char(c, out);
        }
    }
    if (silent()) out.clear();
    return out;
}

std::expected<ApduResult, CardError> SimCard::transmit_apdu(ByteView apdu, const ApduPathOptions& options) {
    last_engine_error_ = {};
    if (auto e = check_link(options.link)) return std::unexpected(*e);
    pps_allowed_ = false;
    if (options.link.protocol != protocol_) return std::unexpected(CardError::WrongProtocol);
    return protocol_ == 0 ? apdu_t0(apdu, options) : apdu_t1(apdu, options);
}

std::expected<ApduResult, CardError> SimCard::apdu_t0(ByteView apdu, const ApduPathOptions& options) {
    proto::T0Exchange exchange(options.t0);
    if (auto started = exchange.start(apdu); !started) {
        last_engine_error_ = proto::to_string(started.error());
        return std::unexpected(CardError::BadApdu);
    }
    const std::uint8_t command_ins = apdu.size() > 1 ? apdu[1] : 0;
    ApduResult result;
    // Bounded by the engine's own limits; this is a backstop against a bug on either side.
    const std::size_t max_tpdus = options.t0.max_get_response_rounds + 300 + 16;
    while (auto tpdu = exchange.poll_transmit()) {
        if (result.transfers >= max_tpdus) {
            last_engine_error_ = "too many TPDUs for one APDU";
            return std::unexpected(CardError::ProtocolFailure);
        }
        // GET RESPONSE / ENVELOPE generated by the reader use the configured class (CCID 6.1.10).
        if (tpdu->size() >= 2 && result.transfers > 0 && (*tpdu)[1] == 0xC0 && options.get_response_cla) {
            (*tpdu)[0] = *options.get_response_cla;
        }
        if (tpdu->size() >= 2 && (*tpdu)[1] == 0xC2 && command_ins != 0xC2 && options.envelope_cla) {
            (*tpdu)[0] = *options.envelope_cla;
        }
        ++result.transfers;
        const std::size_t header = std::min<std::size_t>(tpdu->size(), 5);
        result.t0_headers.emplace_back(tpdu->begin(), tpdu->begin() + static_cast<std::ptrdiff_t>(header));
        auto r = t0_->exchange_tpdu(*tpdu);
        if (silent()) return std::unexpected(CardError::Mute);
        if (!r) {
            last_engine_error_ = proto::to_string(r.error());
            switch (r.error()) {
                case proto::T0TransferError::TooManyNullBytes:
                case proto::T0TransferError::CardMute: return std::unexpected(CardError::Mute);
                case proto::T0TransferError::ProcedureByteConflict:
                case proto::T0TransferError::TooManyIdleAcks:
                    return std::unexpected(CardError::ProcedureByteConflict);
                default: return std::unexpected(CardError::ProtocolFailure);
            }
        }
        exchange.handle_response(*r);
    }
    if (exchange.state() != proto::T0Exchange::State::Done) {
        last_engine_error_ = exchange.error() ? proto::to_string(*exchange.error()) : "T=0 exchange stalled";
        return std::unexpected(CardError::ProtocolFailure);
    }
    result.response = exchange.take_response();
    return result;
}

std::expected<ApduResult, CardError> SimCard::apdu_t1(ByteView apdu, const ApduPathOptions& options) {
    proto::T1Config config;
    config.ifsc = options.ifsc;
    config.ifsd = options.ifsd;
    config.negotiate_ifsd_first = options.ifsd != proto::kT1DefaultIfs;
    config.edc = options.edc;
    config.nad = options.nad;
    const bool same = reader_t1_ && reader_t1_config_.ifsc == config.ifsc && reader_t1_config_.ifsd == config.ifsd &&
                      reader_t1_config_.edc == config.edc && reader_t1_config_.nad == config.nad;
    if (!same) {
        reader_t1_ = std::make_unique<proto::T1Engine>(config);
        reader_t1_config_ = config;
    }
    proto::T1Engine& engine = *reader_t1_;
    if (auto started = engine.start(apdu); !started) {
        last_engine_error_ = proto::to_string(started.error());
        const bool bad = started.error() == proto::T1Error::EmptyCommand ||
                         started.error() == proto::T1Error::CommandTooLong;
        return std::unexpected(bad ? CardError::BadApdu : CardError::ProtocolFailure);
    }
    ApduResult result;
    // The engine bounds itself (block budget, retries, WTX count); this is a backstop.
    const std::size_t max_steps = 4 * engine.block_budget() + 4 * (config.max_wtx + 16);
    std::size_t steps = 0;
    while (engine.state() == proto::T1State::Busy) {
        if (++steps > max_steps) {
            last_engine_error_ = "T=1 exchange did not finish";
            return std::unexpected(CardError::ProtocolFailure);
        }
        auto block = engine.poll_transmit();
        if (!block) {
            engine.handle_timeout();
            continue;
        }
        ++result.transfers;
        auto answer = t1_->handle_block(*block);
        if (silent()) return std::unexpected(CardError::Mute);
        if (!answer) {
            engine.handle_timeout();
            continue;
        }
        if (auto decoded = proto::decode(*answer, config.edc);
            decoded && decoded->is_s(proto::T1SKind::Wtx, false)) {
            result.wtx.push_back(decoded->s_value());
        }
        engine.handle_block(*answer);
    }
    if (engine.state() != proto::T1State::Done) {
        const auto error = engine.error().value_or(proto::T1Error::Internal);
        last_engine_error_ = proto::to_string(error);
        return std::unexpected(CardError::ProtocolFailure);
    }
    result.response = engine.take_response();
    return result;
}

}  // namespace ccidkit::sim

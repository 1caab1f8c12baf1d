#include "sim/card/sim_card_pin_app.h"

#include <algorithm>
#include <utility>

#include "protocol/apdu.h"

namespace ccidkit::sim {

namespace {
constexpr std::uint16_t kBlocked = 0x6983;
constexpr std::uint16_t kReferenceNotFound = 0x6A88;
}  // namespace

PinCheckApp::PinCheckApp(std::unique_ptr<CardApplication> inner, std::uint8_t reference_p2, Bytes reference,
                         unsigned max_tries)
    : inner_(std::move(inner)),
      p2_(reference_p2),
      reference_(std::move(reference)),
      max_tries_(std::clamp(max_tries, 1u, 15u)),
      tries_left_(max_tries_) {}

void PinCheckApp::reset() {
    verified_ = false;
    if (inner_) inner_->reset();
}

Bytes PinCheckApp::process(ByteView command) {
    const auto apdu = proto::parse_command_apdu(command);
    const bool pin_ins = command.size() >= 4 && (command[1] == kInsVerify || command[1] == kInsChangeReferenceData);
    if (!pin_ins || (command[0] & 0x80) != 0) {
        if (inner_) return inner_->process(command);
        return proto::make_response(proto::sw::kInsNotSupported);
    }
    if (!apdu) return proto::make_response(proto::sw::kWrongLength);
    if (apdu->p2 != p2_) return proto::make_response(kReferenceNotFound);
    last_pin_data_ = apdu->data;
    if (apdu->ins == kInsVerify) return verify(apdu->p1, apdu->data);
    return change(apdu->p1, apdu->data);
}

Bytes PinCheckApp::wrong_pin() {
    verified_ = false;
    if (tries_left_ > 0) --tries_left_;
    if (tries_left_ == 0) return proto::make_response(kBlocked);
    return proto::make_response(static_cast<std::uint16_t>(0x63C0 | tries_left_));
}

Bytes PinCheckApp::verify(std::uint8_t p1, ByteView data) {
    if (p1 != 0x00) return proto::make_response(proto::sw::kIncorrectP1P2);
    if (tries_left_ == 0) return proto::make_response(kBlocked);
    if (data.empty()) {
        if (verified_) return proto::make_response(proto::sw::kOk);
        return proto::make_response(static_cast<std::uint16_t>(0x63C0 | tries_left_));
    }
    if (!std::ranges::equal(data, reference_)) return wrong_pin();
    verified_ = true;
    tries_left_ = max_tries_;
    return proto::make_response(proto::sw::kOk);
}

Bytes PinCheckApp::change(std::uint8_t p1, ByteView data) {
    if (tries_left_ == 0) return proto::make_response(kBlocked);
    if (p1 == 0x00) {
        if (data.size() <= reference_.size()) return wrong_pin();
        if (!std::ranges::equal(data.first(reference_.size()), reference_)) return wrong_pin();
        reference_.assign(data.begin() + static_cast<std::ptrdiff_t>(reference_.size()), data.end());
    } else if (p1 == 0x01) {
        if (!verified_) return proto::make_response(proto::sw::kConditionsNotSatisfied);
        if (data.empty()) return proto::make_response(proto::sw::kWrongLength);
        reference_.assign(data.begin(), data.end());
    } else {
        return proto::make_response(proto::sw::kIncorrectP1P2);
    }
    verified_ = true;
    tries_left_ = max_tries_;
    return proto::make_response(proto::sw::kOk);
}

}  // namespace ccidkit::sim

// A PIN check in front of another card application, so that PIN-pad paths (PC_to_RDR_Secure)
// can be tested end to end: VERIFY (INS 20) and CHANGE REFERENCE DATA (INS 24) of ISO/IEC
// 7816-4 clauses 11.5.6 and 11.5.7 for one reference data (selected by P2).
//
// The reference is compared byte for byte with the command data, so it must be given in the
// exact form the command carries (ASCII digits, a BCD PIN block, ...); the check does not care
// how the PIN was formatted.
//   VERIFY, P1 00: data equal to the reference -> 9000 (verified, retry counter reset);
//                  other data -> 63CX (X tries left), 6983 once blocked; no data -> 9000 if
//                  verified, else 63CX (the retry counter query of 11.5.6).
//   CHANGE REFERENCE DATA, P1 00: data = current reference || new value;
//                  P1 01: data = new value only, needs a prior successful VERIFY.
//   Another P2 for INS 20/24: 6A88. P1 other than listed: 6A86. Everything else: the inner
//   application.
#pragma once

#include <cstdint>
#include <memory>

#include "common/bytes.h"
#include "sim/card/card_application.h"

namespace ccidkit::sim {

inline constexpr std::uint8_t kInsVerify = 0x20;
inline constexpr std::uint8_t kInsChangeReferenceData = 0x24;

class PinCheckApp final : public CardApplication {
public:
    PinCheckApp(std::unique_ptr<CardApplication> inner, std::uint8_t reference_p2, Bytes reference,
                unsigned max_tries = 3);

    Bytes process(ByteView command) override;
    // Forgets the verified state (a reset ends the security status); tries left survive.
    void reset() override;

    bool verified() const { return verified_; }
    unsigned tries_left() const { return tries_left_; }
    const Bytes& reference() const { return reference_; }
    // The data field of the last VERIFY / CHANGE REFERENCE DATA seen.
    const Bytes& last_pin_data() const { return last_pin_data_; }
    CardApplication& inner() { return *inner_; }

private:
    Bytes verify(std::uint8_t p1, ByteView data);
    Bytes change(std::uint8_t p1, ByteView data);
    Bytes wrong_pin();

    std::unique_ptr<CardApplication> inner_;
    std::uint8_t p2_;
    Bytes reference_;
    unsigned max_tries_;
    unsigned tries_left_;
    bool verified_ = false;
    Bytes last_pin_data_;
};

}  // namespace ccidkit::sim

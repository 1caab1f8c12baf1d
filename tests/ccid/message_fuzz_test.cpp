// Deterministic mutation fuzzing of every CCID decoder: no crash, no read past the buffer
// (checked by the ASan build), and whatever decodes re-encodes to a stable form.
#include <gtest/gtest.h>

#include <random>

#include "ccid/message_commands.h"
#include "ccid/message_interrupts.h"
#include "ccid/message_pin.h"
#include "ccid/message_responses.h"

namespace ccidkit::ccid {
namespace {

constexpr std::size_t kMax = 271;

std::vector<Bytes> seeds() {
    return {
        encode(pc_to_rdr::IccPowerOn{0, 1, PowerSelect::V3_0}),
        encode(pc_to_rdr::XfrBlock{0, 2, 0, 0, {0x00, 0xA4, 0x04, 0x00, 0x00}}),
        encode(pc_to_rdr::SetParameters{0, 3, T1Parameters{}}),
        encode(pc_to_rdr::SetParameters{0, 3, T0Parameters{}}),
        encode(pc_to_rdr::Secure{0, 4, 0, 0, secure_pin_verify_data(PinVerify{.abPINApdu = {0, 0x20, 0, 1}})}),
        encode(pc_to_rdr::SetDataRateAndClockFrequency{0, 5, 4000, 9600}),
        encode(pc_to_rdr::T0Apdu{0, 6, 1, 2, 3}),
        encode(rdr_to_pc::DataBlock{0, 7, {}, 0, {0x90, 0x00}}),
        encode(rdr_to_pc::SlotStatus{0, 8, {}, 0}),
        encode(rdr_to_pc::make_parameters(0, 9, {}, T1Parameters{})),
        encode(rdr_to_pc::Escape{0, 10, {}, {1, 2}}),
        encode(rdr_to_pc::DataRateAndClockFrequency{0, 11, {}, 4000, 9600}),
        encode(rdr_to_pc::NotifySlotChange{{{true, true}, {false, true}}}),
        encode(rdr_to_pc::HardwareError{0, 12, 1}),
    };
}

Bytes mutate(Bytes m, std::mt19937& rng) {
    switch (rng() % 4) {
        case 0:  // flip bits
            for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n && !m.empty(); ++i) {
                m[rng() % m.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            }
            break;
        case 1:  // truncate
            m.resize(rng() % (m.size() + 1));
            break;
        case 2:  // append
            for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n; ++i) m.push_back(static_cast<std::uint8_t>(rng()));
            break;
        default:  // rewrite dwLength
            if (m.size() >= 5) store_le32(&m[1], rng() % 3 == 0 ? static_cast<std::uint32_t>(rng()) : rng() % 300);
            break;
    }
    return m;
}

TEST(MessageFuzz, DecodersSurviveMutationsAndStayConsistent) {
    std::mt19937 rng(12345);
    const auto base = seeds();
    int decoded_commands = 0;
    int decoded_responses = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes m = base[rng() % base.size()];
        for (int rounds = 1 + static_cast<int>(rng() % 3); rounds > 0; --rounds) m = mutate(std::move(m), rng);

        if (const auto c = decode_command(m, kMax)) {
            ++decoded_commands;
            // Only RFU bytes may differ, so a second pass must be a fixed point.
            const Bytes again = encode(*c);
            EXPECT_EQ(again.size(), m.size());
            EXPECT_EQ(decode_command(again, kMax), c);
        }
        if (const auto r = decode_response(m, kMax)) {
            ++decoded_responses;
            const Bytes again = encode(*r);
            EXPECT_EQ(decode_response(again, kMax), r);
        }
        if (const auto n = decode_interrupt(m, rng() % 12)) {
            EXPECT_EQ(decode_interrupt(encode(*n)).has_value(), true);
        }
        if (m.size() > kHeaderSize) {
            const ByteView tail(m.data() + kHeaderSize, m.size() - kHeaderSize);
            (void)decode_secure_pin_verify(tail);
            (void)decode_secure_pin_modify(tail);
            (void)decode_pcsc_pin_verify(m);
            (void)decode_pcsc_pin_modify(m);
        }
    }
    // The mutations must leave a good share of decodable messages, or the test proves little.
    EXPECT_GT(decoded_commands, 300);
    EXPECT_GT(decoded_responses, 300);
}

}  // namespace
}  // namespace ccidkit::ccid

// The 10-byte header and dwLength checks shared by every bulk message (CCID Rev 1.1 6.1, 6.2),
// against hostile input.
#include <gtest/gtest.h>

#include <set>

#include "ccid/message_commands.h"
#include "ccid/message_framing.h"
#include "ccid/message_responses.h"

namespace ccidkit::ccid {
namespace {

constexpr std::size_t kMax = 271;  // short-APDU reader: 261 + 10

Bytes hex(std::string_view text) {
    auto bytes = from_hex(text);
    EXPECT_TRUE(bytes.has_value()) << text;
    return bytes.value_or(Bytes{});
}

template <class Decode>
DecodeError error_of(Decode decode, const Bytes& wire, std::size_t max = kMax) {
    auto r = decode(wire, max);
    EXPECT_FALSE(r.has_value()) << to_hex(wire);
    return r ? DecodeError::TooShort : r.error();
}

const auto commands = [](ByteView m, std::size_t max) { return decode_command(m, max); };
const auto responses = [](ByteView m, std::size_t max) { return decode_response(m, max); };

TEST(MessageFraming, DecodeHeaderReadsEveryField) {
    const auto h = decode_header(hex("6F 04030201 07 09 AA BB CC"));
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->bMessageType, 0x6F);
    EXPECT_EQ(h->dwLength, 0x01020304u);
    EXPECT_EQ(h->bSlot, 7);
    EXPECT_EQ(h->bSeq, 9);
    EXPECT_EQ(h->specific, (std::array<std::uint8_t, 3>{0xAA, 0xBB, 0xCC}));
}

TEST(MessageFraming, EncodeMessageSetsDwLengthFromPayload) {
    const Bytes payload(0x0123, 0x42);
    const Bytes wire = encode_message(MessageType::PcToRdrEscape, 1, 2, {3, 4, 5}, payload);
    ASSERT_EQ(wire.size(), kHeaderSize + payload.size());
    EXPECT_EQ(Bytes(wire.begin(), wire.begin() + 10), hex("6B 23010000 01 02 03 04 05"));
}

TEST(MessageFraming, EveryLengthBelowTheHeaderIsTooShort) {
    const Bytes full = hex("65 00000000 00 00 000000");
    for (std::size_t n = 0; n < kHeaderSize; ++n) {
        const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_EQ(decode_header(cut).error(), DecodeError::TooShort) << n;
        EXPECT_EQ(error_of(commands, cut), DecodeError::TooShort) << n;
        EXPECT_EQ(error_of(responses, cut), DecodeError::TooShort) << n;
    }
}

TEST(MessageFraming, DwLengthLargerThanReceivedIsTruncated) {
    EXPECT_EQ(error_of(commands, hex("6F 05000000 00 00 000000 00A404")), DecodeError::Truncated);
    EXPECT_EQ(error_of(responses, hex("80 02000000 00 00 000000 90")), DecodeError::Truncated);
    EXPECT_EQ(error_of(responses, hex("80 01000000 00 00 000000")), DecodeError::Truncated);
}

TEST(MessageFraming, DwLengthSmallerThanReceivedIsTrailingBytes) {
    EXPECT_EQ(error_of(commands, hex("6F 02000000 00 00 000000 00A404")), DecodeError::TrailingBytes);
    EXPECT_EQ(error_of(responses, hex("80 00000000 00 00 000000 9000")), DecodeError::TrailingBytes);
    EXPECT_EQ(error_of(commands, hex("65 00000000 00 00 000000 00")), DecodeError::TrailingBytes);
}

TEST(MessageFraming, DwLengthBeyondTheReaderMaximumIsRejectedBeforeAnythingElse) {
    // A hostile dwLength of 4 GiB - 1 must not be mistaken for a short read.
    EXPECT_EQ(error_of(commands, hex("6F FFFFFFFF 00 00 000000 00")), DecodeError::ExceedsMaxLength);
    EXPECT_EQ(error_of(responses, hex("80 FFFFFFFF 00 00 000000")), DecodeError::ExceedsMaxLength);
    EXPECT_EQ(error_of(responses, hex("80 00000080 00 00 000000")), DecodeError::ExceedsMaxLength);
}

TEST(MessageFraming, MaximumCountsTheHeader) {
    // dwMaxCCIDMessageLength includes the 10 header bytes: 261 data bytes fit into 271.
    Bytes fits = encode(pc_to_rdr::XfrBlock{0, 0, 0, 0, Bytes(261, 0)});
    EXPECT_TRUE(decode_command(fits, kMax).has_value());
    Bytes too_long = encode(pc_to_rdr::XfrBlock{0, 0, 0, 0, Bytes(262, 0)});
    EXPECT_EQ(error_of(commands, too_long), DecodeError::ExceedsMaxLength);
    EXPECT_TRUE(decode_command(too_long, kMax + 1).has_value());

    Bytes block = encode(rdr_to_pc::DataBlock{0, 0, {}, 0, Bytes(261, 0)});
    EXPECT_TRUE(decode_response(block, kMax).has_value());
    EXPECT_EQ(error_of(responses, block, kMax - 1), DecodeError::ExceedsMaxLength);
    EXPECT_EQ(error_of(responses, hex("81 00000000 00 00 000000"), 9), DecodeError::ExceedsMaxLength);
}

TEST(MessageFraming, TypeIsJudgedBeforeLength) {
    // The reader simulator answers an unknown command with "command not supported" using
    // bSlot/bSeq from the header, whatever dwLength says.
    EXPECT_EQ(error_of(commands, hex("64 FFFFFFFF 00 00 000000")), DecodeError::UnknownMessageType);
    EXPECT_EQ(error_of(responses, hex("85 05000000 00 00 000000")), DecodeError::UnknownMessageType);
    EXPECT_EQ(error_of(responses, hex("6F 05000000 00 00 000000")), DecodeError::UnexpectedMessageType);
    EXPECT_EQ(error_of(responses, hex("51 00000000 00 00 000000")), DecodeError::UnexpectedMessageType);
}

TEST(MessageFraming, PipesOfMessageTypes) {
    for (unsigned b = 0; b < 256; ++b) {
        const auto type = to_message_type(static_cast<std::uint8_t>(b));
        const bool defined = (b >= 0x61 && b <= 0x73 && b != 0x64 && b != 0x66 && b != 0x67 && b != 0x68 &&
                              b != 0x70) ||
                             (b >= 0x80 && b <= 0x84) || b == 0x50 || b == 0x51;
        EXPECT_EQ(type.has_value(), defined) << b;
        if (!type) continue;
        const Pipe expected = b >= 0x80 ? Pipe::BulkIn : b >= 0x60 ? Pipe::BulkOut : Pipe::InterruptIn;
        EXPECT_EQ(pipe_of(*type), expected) << b;
        EXPECT_NE(message_type_name(*type).find(b >= 0x60 && b < 0x80 ? "PC_to_RDR_" : "RDR_to_PC_"),
                  std::string_view::npos);
    }
}

TEST(MessageFraming, DecodeErrorTextsAreDistinct) {
    std::set<std::string_view> texts;
    for (int e = 0; e <= static_cast<int>(DecodeError::BadInterruptLength); ++e) {
        texts.insert(to_string(static_cast<DecodeError>(e)));
    }
    EXPECT_EQ(texts.size(), static_cast<std::size_t>(DecodeError::BadInterruptLength) + 1);
}

}  // namespace
}  // namespace ccidkit::ccid

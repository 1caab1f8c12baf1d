// An ISO/IEC 7816-4 style file system with transparent EFs, for the simulated card.
//
// Tree (FID, SFI, size; initial content byte i = file_pattern_byte(fid, i)):
//   MF 3F00
//     EF 0101  SFI 1     32 bytes
//     EF 0102  SFI 2    300 bytes
//     EF 0103  SFI 3  65536 bytes   (large enough for extended READ BINARY)
//     EF 0104  SFI 4      0 bytes
//     DF 7F10  AID F0 43 43 49 44 4B 49 54 01  ("F0" + "CCIDKIT" + 01)
//       EF 0201  SFI 1  256 bytes
//
// Commands (CLA interindustry, logical channel 0, no SM, no chaining):
//   SELECT A4        P1 00: by FID (data = 2-byte FID, or empty for the MF); the FID is looked
//                    up as 3F00, then among the current DF's children, then the MF's children.
//                    P1 04: by DF name (data = the AID or a leading part of it).
//                    P2 00: FCI (6F), 04: FCP (62), 0C: no response data; others 6A86.
//                    The template holds 82 (descriptor: 01 transparent EF, 38 DF), 83 (FID),
//                    80 (EF size: 2 bytes, 3 when >= 65536), 88 (SFI), 84 (DF name).
//                    Response only with Le; Le shorter than the template gives 6CXX.
//   READ BINARY B0   P1 b8 = 0: offset P1P2 (15 bits) in the current EF; P1 b8 = 1: SFI in
//                    P1 b5-b1 (b7 b6 = 0), offset P2, the EF becomes current.
//                    Ne bytes + 9000; fewer left: the rest + 6282, or + 9000 when Le is all
//                    zeros ("up to the end"); offset at/after end 6B00; Le absent or data 6700.
//   UPDATE BINARY D6 same addressing, data written at the offset; offset at/after end 6B00,
//                    past the end 6A84; no data 6700.
// Errors: 6A82 file not found, 6986 no current EF, 6A86 bad P1/P2, 6700 wrong length or a
// malformed APDU, 6D00 other INS, 6E00 other CLA, 6881/6882/6884 logical channel / secure
// messaging / chaining requested. File contents survive reset(); selections do not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "protocol/apdu.h"
#include "sim/card/card_application.h"

namespace ccidkit::sim {

inline constexpr std::uint8_t kInsSelect = 0xA4;
inline constexpr std::uint8_t kInsReadBinary = 0xB0;
inline constexpr std::uint8_t kInsUpdateBinary = 0xD6;

inline constexpr std::uint16_t kFidMf = 0x3F00;
inline constexpr std::uint16_t kFidDfApp = 0x7F10;
inline constexpr std::uint16_t kFidEfSmall = 0x0101;
inline constexpr std::uint16_t kFidEfMedium = 0x0102;
inline constexpr std::uint16_t kFidEfLarge = 0x0103;
inline constexpr std::uint16_t kFidEfEmpty = 0x0104;
inline constexpr std::uint16_t kFidEfApp = 0x0201;

// AID of DF 7F10.
Bytes demo_application_aid();

// Initial content of the EF with this FID.
std::uint8_t file_pattern_byte(std::uint16_t fid, std::size_t i);

class FileSystemApp final : public CardApplication {
public:
    FileSystemApp();
    Bytes process(ByteView command) override;
    void reset() override;

    // Current content of an EF found by FID anywhere in the tree (nullopt if none).
    std::optional<ByteView> ef_content(std::uint16_t fid) const;

private:
    struct Node {
        std::uint16_t fid = 0;
        bool is_df = false;
        std::uint8_t sfi = 0;
        Bytes aid;
        // Shared between copies of the app until one writes (UPDATE BINARY): copying a card
        // (the fuzzers start each input from a pristine one) must not copy the 64 KiB EF.
        std::shared_ptr<Bytes> content;
        std::size_t parent = 0;
        std::vector<std::size_t> children;
    };

    std::size_t add(std::size_t parent, Node node);
    std::optional<std::size_t> child_with_fid(std::size_t df, std::uint16_t fid) const;
    Bytes select(const proto::CommandApdu& c);
    Bytes read_binary(const proto::CommandApdu& c);
    Bytes update_binary(const proto::CommandApdu& c);
    struct Target {
        std::size_t ef = 0;
        std::size_t offset = 0;
    };
    // The EF addressed by P1 (SFI or current EF) and the offset, or the status to answer.
    std::expected<Target, std::uint16_t> resolve(const proto::CommandApdu& c);
    Bytes file_control(std::size_t node, std::uint8_t template_tag) const;
    // The EF's content for writing: made this app's own first if a copy still shares it.
    Bytes& writable_content(std::size_t ef);

    std::vector<Node> nodes_;  // nodes_[0] is the MF
    std::size_t current_df_ = 0;
    std::optional<std::size_t> current_ef_;
};

}  // namespace ccidkit::sim

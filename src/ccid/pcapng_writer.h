// pcapng files (IETF draft-ietf-opsawg-pcapng): the block encoders and a writer that appends
// packets to a file or a stream. Used to save USB traffic as Linux usbmon packets
// (pcapng_usbmon.h) that Wireshark and tshark decode. Little-endian throughout; one section,
// one interface, microsecond timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace ccidkit::ccid::pcapng {

inline constexpr std::uint32_t kSectionHeaderType = 0x0A0D0D0A;
inline constexpr std::uint32_t kInterfaceDescriptionType = 0x00000001;
inline constexpr std::uint32_t kEnhancedPacketType = 0x00000006;
inline constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;

// Option codes used here.
inline constexpr std::uint16_t kOptEnd = 0;
inline constexpr std::uint16_t kOptComment = 1;
inline constexpr std::uint16_t kOptShbUserAppl = 4;
inline constexpr std::uint16_t kOptIfName = 2;
inline constexpr std::uint16_t kOptIfTsresol = 9;

// Linux usbmon binary header, 64 bytes (the "mmapped" variant, which includes the ISO fields).
inline constexpr std::uint16_t kLinktypeUsbLinuxMmapped = 220;

// Large enough for the biggest CCID message (65544 + 10 bytes) plus the usbmon header.
inline constexpr std::uint32_t kDefaultSnapLength = 0x40000;

// Each block is whole: type, total length, body, options, total length again; bodies and
// option values are padded to 32 bits.
Bytes section_header_block(std::string_view application);
Bytes interface_description_block(std::uint16_t linktype, std::uint32_t snap_length, std::string_view name);
// Timestamp in microseconds since the Unix epoch (if_tsresol 6, the default). `data` is cut to
// snap_length by the caller; original_length is the length on the wire.
Bytes enhanced_packet_block(std::uint32_t interface_id, std::uint64_t timestamp_us, ByteView data,
                            std::uint32_t original_length, std::string_view comment = {});

enum class PcapngError {
    OpenFailed,   // the file could not be created
    WriteFailed,  // the stream refused the bytes (disk full, closed pipe)
};

std::string_view to_string(PcapngError e);

struct WriterOptions {
    std::uint16_t linktype = kLinktypeUsbLinuxMmapped;
    std::uint32_t snap_length = kDefaultSnapLength;
    std::string application = "ccidkit";
    std::string interface_name = "usbmon (ccidkit)";
};

// Writes the section header and the interface description at construction, then one enhanced
// packet block per write_packet(). Not thread-safe: the recorder serialises calls.
class PcapngWriter {
public:
    // Writes to a stream that the caller keeps alive.
    explicit PcapngWriter(std::ostream& out, WriterOptions options = {});
    static std::expected<std::unique_ptr<PcapngWriter>, PcapngError> create(const std::filesystem::path& path,
                                                                            WriterOptions options = {});

    PcapngWriter(const PcapngWriter&) = delete;
    PcapngWriter& operator=(const PcapngWriter&) = delete;

    // Data longer than the snap length is cut (the block keeps the original length).
    std::expected<void, PcapngError> write_packet(std::chrono::microseconds timestamp, ByteView data,
                                                  std::string_view comment = {});
    std::expected<void, PcapngError> flush();

    std::uint64_t packets_written() const { return packets_; }
    const WriterOptions& options() const { return options_; }

private:
    PcapngWriter(std::unique_ptr<std::ofstream> file, WriterOptions options);
    std::expected<void, PcapngError> put(const Bytes& block);

    std::unique_ptr<std::ofstream> file_;  // set when the writer owns its file
    std::ostream& out_;
    WriterOptions options_;
    std::uint64_t packets_ = 0;
    bool failed_ = false;
};

}  // namespace ccidkit::ccid::pcapng

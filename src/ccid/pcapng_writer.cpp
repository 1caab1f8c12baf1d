#include "ccid/pcapng_writer.h"

#include <algorithm>
#include <limits>

namespace ccidkit::ccid::pcapng {
namespace {

void put16(Bytes& out, std::uint16_t v) {
    const std::size_t at = out.size();
    out.resize(at + 2);
    store_le16(out.data() + at, v);
}

void put32(Bytes& out, std::uint32_t v) {
    const std::size_t at = out.size();
    out.resize(at + 4);
    store_le32(out.data() + at, v);
}

void pad32(Bytes& out) {
    while (out.size() % 4 != 0) out.push_back(0);
}

// Option values are at most 65535 bytes (16-bit length); longer text is cut.
void put_option(Bytes& out, std::uint16_t code, ByteView value) {
    const std::size_t n = std::min<std::size_t>(value.size(), std::numeric_limits<std::uint16_t>::max());
    put16(out, code);
    put16(out, static_cast<std::uint16_t>(n));
    out.insert(out.end(), value.begin(), value.begin() + static_cast<std::ptrdiff_t>(n));
    pad32(out);
}

void put_text_option(Bytes& out, std::uint16_t code, std::string_view text) {
    if (text.empty()) return;
    put_option(out, code, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void put_end_of_options(Bytes& out) {
    put16(out, kOptEnd);
    put16(out, 0);
}

// Wraps `body` (already padded) into a block: type, total length, body, total length.
Bytes make_block(std::uint32_t type, const Bytes& body) {
    Bytes block;
    block.reserve(body.size() + 12);
    const auto total = static_cast<std::uint32_t>(body.size() + 12);
    put32(block, type);
    put32(block, total);
    block.insert(block.end(), body.begin(), body.end());
    put32(block, total);
    return block;
}

}  // namespace

Bytes section_header_block(std::string_view application) {
    Bytes body;
    put32(body, kByteOrderMagic);
    put16(body, 1);  // major version
    put16(body, 0);  // minor version
    // Section length unknown: -1 (the file is written as a stream).
    for (int i = 0; i < 8; ++i) body.push_back(0xFF);
    if (!application.empty()) {
        put_text_option(body, kOptShbUserAppl, application);
        put_end_of_options(body);
    }
    return make_block(kSectionHeaderType, body);
}

Bytes interface_description_block(std::uint16_t linktype, std::uint32_t snap_length, std::string_view name) {
    Bytes body;
    put16(body, linktype);
    put16(body, 0);  // reserved
    put32(body, snap_length);
    put_text_option(body, kOptIfName, name);
    const std::uint8_t microseconds = 6;  // if_tsresol: 10^-6 s
    put_option(body, kOptIfTsresol, ByteView(&microseconds, 1));
    put_end_of_options(body);
    return make_block(kInterfaceDescriptionType, body);
}

Bytes enhanced_packet_block(std::uint32_t interface_id, std::uint64_t timestamp_us, ByteView data,
                            std::uint32_t original_length, std::string_view comment) {
    Bytes body;
    body.reserve(data.size() + 32 + comment.size());
    put32(body, interface_id);
    put32(body, static_cast<std::uint32_t>(timestamp_us >> 32));
    put32(body, static_cast<std::uint32_t>(timestamp_us));
    put32(body, static_cast<std::uint32_t>(data.size()));
    put32(body, original_length);
    body.insert(body.end(), data.begin(), data.end());
    pad32(body);
    if (!comment.empty()) {
        put_text_option(body, kOptComment, comment);
        put_end_of_options(body);
    }
    return make_block(kEnhancedPacketType, body);
}

std::string_view to_string(PcapngError e) {
    switch (e) {
        case PcapngError::OpenFailed: return "the capture file could not be created";
        case PcapngError::WriteFailed: return "writing to the capture file failed";
    }
    return "unknown pcapng error";
}

PcapngWriter::PcapngWriter(std::ostream& out, WriterOptions options) : out_(out), options_(std::move(options)) {
    (void)put(section_header_block(options_.application));
    (void)put(interface_description_block(options_.linktype, options_.snap_length, options_.interface_name));
}

PcapngWriter::PcapngWriter(std::unique_ptr<std::ofstream> file, WriterOptions options)
    : file_(std::move(file)), out_(*file_), options_(std::move(options)) {
    (void)put(section_header_block(options_.application));
    (void)put(interface_description_block(options_.linktype, options_.snap_length, options_.interface_name));
}

std::expected<std::unique_ptr<PcapngWriter>, PcapngError> PcapngWriter::create(const std::filesystem::path& path,
                                                                               WriterOptions options) {
    auto file = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
    if (!*file) return std::unexpected(PcapngError::OpenFailed);
    std::unique_ptr<PcapngWriter> writer(new PcapngWriter(std::move(file), std::move(options)));
    if (writer->failed_) return std::unexpected(PcapngError::WriteFailed);
    return writer;
}

std::expected<void, PcapngError> PcapngWriter::put(const Bytes& block) {
    if (failed_) return std::unexpected(PcapngError::WriteFailed);
    out_.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(block.size()));
    if (!out_) {
        failed_ = true;
        return std::unexpected(PcapngError::WriteFailed);
    }
    return {};
}

std::expected<void, PcapngError> PcapngWriter::write_packet(std::chrono::microseconds timestamp, ByteView data,
                                                            std::string_view comment) {
    const std::size_t captured = std::min<std::size_t>(data.size(), options_.snap_length);
    const auto original =
        static_cast<std::uint32_t>(std::min<std::size_t>(data.size(), std::numeric_limits<std::uint32_t>::max()));
    const auto ts = static_cast<std::uint64_t>(std::max<std::int64_t>(timestamp.count(), 0));
    auto r = put(enhanced_packet_block(0, ts, data.first(captured), original, comment));
    if (r) ++packets_;
    return r;
}

std::expected<void, PcapngError> PcapngWriter::flush() {
    if (failed_) return std::unexpected(PcapngError::WriteFailed);
    out_.flush();
    if (!out_) {
        failed_ = true;
        return std::unexpected(PcapngError::WriteFailed);
    }
    return {};
}

}  // namespace ccidkit::ccid::pcapng

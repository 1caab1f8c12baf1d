// Reader interfaces described by a file instead of a plugged-in device, for `ccidctl info
// --descriptor-file` (and simulated readers built from the same files):
//  - a text file printed by libccid's `parse` (the corpus format, sim/reader_corpus.h);
//  - hex bytes (spaces, newlines, ':' and '#' comments allowed) of either a CCID class
//    descriptor (type 21h or FFh), a configuration descriptor (wTotalLength bytes), or a device
//    descriptor followed by the configuration descriptor (VID:PID then come from it).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace ccidkit::ccidctl {

struct DescribedInterface {
    std::string source;  // "corpus record at line 1", "class descriptor", "configuration interface 0"
    std::optional<std::uint16_t> vendor_id, product_id, bcd_device;
    std::optional<std::string> manufacturer, product, interface_string;
    std::uint8_t interface_number = 0;
    std::uint8_t interface_class = 0x0B;
    std::uint8_t interface_protocol = 0;
    std::uint8_t num_endpoints = 3;
    Bytes class_descriptor;
    // Answers to GET_CLOCK_FREQUENCIES / GET_DATA_RATES when the file records them.
    std::vector<std::int32_t> clocks_khz, data_rates_bps;
    std::vector<std::string> remarks;  // what the file says besides the fields
};

struct DescribedFile {
    std::string kind;  // "corpus", "class-descriptor", "configuration", "device+configuration"
    std::vector<DescribedInterface> interfaces;
    std::vector<std::string> notes;  // format oddities the loaders tolerated
};

struct DescriptorFileError {
    bool unreadable = false;  // the file could not be read (else: its content is not usable)
    std::string message;      // names the file and the reason
};

std::expected<DescribedFile, DescriptorFileError> load_descriptor_file(const std::string& path);
std::expected<DescribedFile, DescriptorFileError> parse_descriptor_text(std::string_view text, const std::string& name);
// Hex only (the --descriptor HEX option).
std::expected<DescribedFile, DescriptorFileError> parse_descriptor_hex(ByteView bytes);

// Strips '#' comments and turns line breaks into spaces; nullopt when what is left is not hex.
std::optional<Bytes> parse_hex_text(std::string_view text);

}  // namespace ccidkit::ccidctl

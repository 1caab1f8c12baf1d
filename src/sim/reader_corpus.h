// Loader for the real-reader corpus: text files printed by libccid's `parse` tool, one per
// reader model (LudovicRousseau/CCID, folder readers/). Each file holds one or more interface
// records: lsusb-like device and interface fields, then every field of the CCID class
// descriptor decoded to text. The loader reads them back into numbers, rebuilds the 54
// descriptor bytes, and keeps what `parse` claimed the bits mean, so that our own decoder can
// be checked against it and the simulator can impersonate any reader of the corpus.
//
// Format notes (and what the corpus README lists as odd) are handled here: CRLF lines, a line
// wrapped without indentation, the old format without "....XX" feature prefixes, rate lists
// printed under the clock field, binary garbage in strings, "Can't get ... string" lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ccid/descriptor.h"
#include "ccid/descriptor_meaning.h"
#include "common/bytes.h"

namespace ccidkit::sim {

struct CorpusDevice {
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;
    std::optional<std::string> manufacturer;  // absent when `parse` could not read the string
    std::optional<std::string> product;

    bool operator==(const CorpusDevice&) const = default;
};

// What `parse` printed as the meaning of the descriptor bits, read back from its wording
// (not from the numbers), so it is an independent witness for our decoder.
struct CorpusClaims {
    bool proprietary_type = false;  // "PROPRIETARY bDescriptorType"
    bool voltage_5v = false, voltage_3v = false, voltage_1v8 = false;
    bool t0 = false, t1 = false;
    bool synch_2wire = false, synch_3wire = false, synch_i2c = false;
    bool mech_none = false, mech_accept = false, mech_eject = false, mech_capture = false, mech_lock = false;
    std::uint32_t features = 0;  // OR of the ccid::Feature values named by feature lines
    bool features_none = false;  // "No special characteristics" under dwFeatures
    // `parse` prints a level line only for the four valid values.
    std::optional<ccid::ExchangeLevel> level;
    bool get_response_echoes_class = false, envelope_echoes_class = false;
    std::optional<unsigned> lcd_lines, lcd_columns;
    bool pin_verify = false, pin_modify = false;
    // Fields under which at least one meaning line was printed. Old `parse` versions print
    // nothing under dwSynchProtocols, bClassGetResponse and bClassEnvelope.
    std::set<std::string, std::less<>> spelled_out;
};

struct CorpusInterface {
    std::size_t first_line = 0;  // 1-based line of the record's " idVendor:"
    CorpusDevice device;
    // Interface descriptor fields, as printed.
    std::uint8_t bLength = 0, bDescriptorType = 0, bInterfaceNumber = 0, bAlternateSetting = 0;
    std::uint8_t bNumEndpoints = 0, bInterfaceClass = 0, bInterfaceSubClass = 0, bInterfaceProtocol = 0;
    std::optional<std::string> interface_string;  // raw bytes; may be binary garbage
    std::vector<std::string> interface_remarks;   // "bulk-IN, bulk-OUT and Interrupt-IN", "NOT A CCID DEVICE", ...
    // Class descriptor: the printed fields, and the 54 bytes rebuilt from them.
    ccid::CcidDescriptor descriptor;
    Bytes descriptor_bytes;
    CorpusClaims claims;
    // Answers to GET_CLOCK_FREQUENCIES / GET_DATA_RATES (printed as signed 32-bit integers,
    // some readers return junk) and the remarks about those requests.
    std::vector<std::int32_t> clock_frequencies_khz;
    std::vector<std::int32_t> data_rates_bps;
    std::vector<std::string> request_remarks;
};

struct CorpusReader {
    std::string file_name;
    std::vector<CorpusInterface> interfaces;
    std::vector<std::string> notes;         // tolerated format oddities, with line numbers
    std::vector<std::string> unrecognised;  // lines the loader did not understand (ignored)
};

enum class CorpusErrorKind {
    Unreadable,          // missing file, I/O error, file too large
    NotADescriptorDump,  // no " idVendor:" record: reader list, README, PIN-pad feature dump
    Malformed,           // a record with a missing, repeated or unparsable field
};

std::string_view to_string(CorpusErrorKind kind);

struct CorpusError {
    CorpusErrorKind kind = CorpusErrorKind::Malformed;
    std::string message;  // names the line and field
};

inline constexpr std::size_t kMaxCorpusFileSize = 1 << 20;

std::expected<CorpusReader, CorpusError> load_reader_file(const std::filesystem::path& path);
std::expected<CorpusReader, CorpusError> parse_reader_text(std::string_view text, std::string file_name);

// Every *.txt file of the directory, sorted by name.
std::expected<std::vector<std::filesystem::path>, CorpusError> list_corpus(const std::filesystem::path& dir);

}  // namespace ccidkit::sim

// The whole real-reader corpus (libccid `parse` dumps of 690-odd readers) through the loader,
// the descriptor parser, the meaning decoder, the plausibility checks and the USB
// configuration walker. The corpus lives outside the repository (shared/corpus/ccid-readers);
// without it the corpus tests skip, the loader tests on inline text still run.
#include "sim/reader_corpus.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "ccid/descriptor_report.h"
#include "ccid/usb_config_ccid.h"
#include "sim/reader_corpus_usb.h"

using namespace ccidkit;
using namespace ccidkit::sim;
namespace fs = std::filesystem;

namespace {

const fs::path kCorpusDir = fs::path(CCIDKIT_SHARED_DIR) / "corpus" / "ccid-readers";

struct LoadedCorpus {
    std::vector<fs::path> files;
    std::vector<CorpusReader> readers;
    std::vector<std::pair<std::string, CorpusError>> unusable;
    std::set<std::string> files_with_record_lines;  // raw scan, independent of the loader
    std::size_t record_lines = 0;                   // raw count of " idVendor:" lines
};

LoadedCorpus load_corpus() {
    LoadedCorpus c;
    auto files = list_corpus(kCorpusDir);
    if (!files) return c;
    c.files = *files;
    for (const fs::path& f : c.files) {
        std::ifstream in(f, std::ios::binary);
        std::string line;
        while (std::getline(in, line)) {
            if (line.starts_with(" idVendor:")) {
                ++c.record_lines;
                c.files_with_record_lines.insert(f.filename().string());
            }
        }
        auto reader = load_reader_file(f);
        if (reader)
            c.readers.push_back(std::move(*reader));
        else
            c.unusable.emplace_back(f.filename().string(), reader.error());
    }
    return c;
}

// Loaded once for all tests of this file.
const LoadedCorpus* corpus() {
    static const LoadedCorpus loaded = load_corpus();
    return &loaded;
}

#define SKIP_WITHOUT_CORPUS()                                                             \
    do {                                                                                  \
        if (!fs::is_directory(kCorpusDir))                                                \
            GTEST_SKIP() << "reader corpus not present at " << kCorpusDir.string();       \
    } while (0)

std::string where(const CorpusReader& r, const CorpusInterface& i) {
    return r.file_name + ":" + std::to_string(i.first_line);
}

const CorpusReader* find_reader(std::string_view name) {
    for (const CorpusReader& r : corpus()->readers)
        if (r.file_name == name) return &r;
    return nullptr;
}

bool has_note(const CorpusReader& r, std::string_view text) {
    return std::any_of(r.notes.begin(), r.notes.end(),
                       [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

#define CCID_DESCRIPTOR_FIELDS(X)                                                                   \
    X(bLength) X(bDescriptorType) X(bcdCCID) X(bMaxSlotIndex) X(bVoltageSupport) X(dwProtocols)     \
    X(dwDefaultClock) X(dwMaximumClock) X(bNumClockSupported) X(dwDataRate) X(dwMaxDataRate)        \
    X(bNumDataRatesSupported) X(dwMaxIFSD) X(dwSynchProtocols) X(dwMechanical) X(dwFeatures)        \
    X(dwMaxCCIDMessageLength) X(bClassGetResponse) X(bClassEnvelope) X(wLcdLayout) X(bPINSupport)  \
    X(bMaxCCIDBusySlots)

}  // namespace

TEST(ReaderCorpus, EveryDescriptorDumpLoads) {
    SKIP_WITHOUT_CORPUS();
    const LoadedCorpus& c = *corpus();
    ASSERT_FALSE(c.files.empty());

    std::printf("corpus: %zu files, %zu loaded, %zu unusable\n", c.files.size(), c.readers.size(), c.unusable.size());
    for (const auto& [file, err] : c.unusable)
        std::printf("  unusable: %s (%s): %s\n", file.c_str(), std::string(to_string(err.kind)).c_str(),
                    err.message.c_str());

    // Every file holding a record line must load; the rest are the non-dumps the corpus README
    // lists (5 PIN-pad feature dumps, supported_readers.txt, upstream README.txt).
    for (const auto& [file, err] : c.unusable) {
        EXPECT_FALSE(c.files_with_record_lines.contains(file)) << file << ": " << err.message;
        EXPECT_EQ(err.kind, CorpusErrorKind::NotADescriptorDump) << file;
    }
    EXPECT_EQ(c.unusable.size(), 7u);
    EXPECT_EQ(c.readers.size(), c.files_with_record_lines.size());

    std::size_t interfaces = 0;
    for (const CorpusReader& r : c.readers) interfaces += r.interfaces.size();
    std::printf("interfaces: %zu (raw record lines: %zu)\n", interfaces, c.record_lines);
    EXPECT_EQ(interfaces, c.record_lines);

    std::vector<std::string> unrecognised;
    for (const CorpusReader& r : c.readers) unrecognised.insert(unrecognised.end(), r.unrecognised.begin(), r.unrecognised.end());
    for (const std::string& u : unrecognised) std::printf("  unrecognised %s\n", u.c_str());
    EXPECT_TRUE(unrecognised.empty());
}

TEST(ReaderCorpus, KnownOdditiesAreHandled) {
    SKIP_WITHOUT_CORPUS();
    struct Case {
        const char* file;
        const char* note;
    };
    for (const Case& k : {Case{"Bit4id_Digital_DNA_Key_v2.txt", "CRLF line endings"},
                          Case{"ACS_ACR39U_ICC_Reader.txt", "iInterface string holds non-printable bytes"},
                          Case{"Verisign_secure_token.txt", "without its bit prefix (old parse format)"},
                          Case{"Verisign_secure_token.txt", "data rate listed under bNumClockSupported"},
                          Case{"Yubico_Yubikey_neo.txt", "unindented line joined"}}) {
        const CorpusReader* r = find_reader(k.file);
        ASSERT_NE(r, nullptr) << k.file;
        EXPECT_TRUE(has_note(*r, k.note)) << k.file << " lacks note: " << k.note;
    }
    // The wrapped line still counts as the auto-baud feature.
    const CorpusReader* neo = find_reader("Yubico_Yubikey_neo.txt");
    ASSERT_NE(neo, nullptr);
    EXPECT_TRUE(neo->interfaces.at(0).claims.features & static_cast<std::uint32_t>(ccid::Feature::AutoBaud));
    // The old dump's rate list went into data rates, not clocks.
    const CorpusReader* old = find_reader("Verisign_secure_token.txt");
    ASSERT_NE(old, nullptr);
    EXPECT_EQ(old->interfaces.at(0).data_rates_bps, (std::vector<std::int32_t>{4032, 23437, 46875}));
    EXPECT_TRUE(old->interfaces.at(0).clock_frequencies_khz.empty());
}

TEST(ReaderCorpus, RebuiltBytesParseBackToEveryPrintedField) {
    SKIP_WITHOUT_CORPUS();
    std::size_t checked = 0;
    for (const CorpusReader& r : corpus()->readers) {
        for (const CorpusInterface& i : r.interfaces) {
            const std::string at = where(r, i);
            ASSERT_EQ(i.descriptor_bytes.size(), 54u) << at;
            auto parsed = ccid::parse_ccid_descriptor(i.descriptor_bytes);
            ASSERT_TRUE(parsed.has_value()) << at << ": " << ccid::to_string(parsed.error());
#define CHECK_FIELD(f) EXPECT_EQ(parsed->fields.f, i.descriptor.f) << at << " field " #f;
            CCID_DESCRIPTOR_FIELDS(CHECK_FIELD)
#undef CHECK_FIELD
            EXPECT_TRUE(parsed->fields.trailing.empty()) << at;
            // The encoder (used by the simulator) lays the bytes out the same way.
            EXPECT_EQ(ccid::encode_ccid_descriptor(i.descriptor), i.descriptor_bytes) << at;
            ++checked;
        }
    }
    std::printf("descriptors rebuilt and parsed: %zu\n", checked);
    EXPECT_EQ(checked, corpus()->record_lines);
}

TEST(ReaderCorpus, DecodedMeaningsAgreeWithParseWording) {
    SKIP_WITHOUT_CORPUS();
    std::vector<std::string> not_spelled_out;
    for (const CorpusReader& r : corpus()->readers) {
        for (const CorpusInterface& i : r.interfaces) {
            const std::string at = where(r, i);
            const ccid::DescriptorMeaning m = ccid::interpret(i.descriptor);
            const CorpusClaims& c = i.claims;
            EXPECT_EQ(m.voltage_5v, c.voltage_5v) << at;
            EXPECT_EQ(m.voltage_3v, c.voltage_3v) << at;
            EXPECT_EQ(m.voltage_1v8, c.voltage_1v8) << at;
            EXPECT_EQ(m.t0, c.t0) << at;
            EXPECT_EQ(m.t1, c.t1) << at;
            // Old `parse` versions print no lines under dwSynchProtocols and the class bytes;
            // compare those only where the dump spells them out.
            if (c.spelled_out.contains("dwSynchProtocols") || (i.descriptor.dwSynchProtocols & 0x07) == 0) {
                EXPECT_EQ(m.synch_2wire, c.synch_2wire) << at;
                EXPECT_EQ(m.synch_3wire, c.synch_3wire) << at;
                EXPECT_EQ(m.synch_i2c, c.synch_i2c) << at;
            } else {
                not_spelled_out.push_back(at + " dwSynchProtocols");
            }
            EXPECT_EQ(m.mech_accept, c.mech_accept) << at;
            EXPECT_EQ(m.mech_eject, c.mech_eject) << at;
            EXPECT_EQ(m.mech_capture, c.mech_capture) << at;
            EXPECT_EQ(m.mech_lock, c.mech_lock) << at;
            // `parse` says "No special characteristics" when the low byte of dwMechanical is 0.
            EXPECT_EQ((i.descriptor.dwMechanical & 0xFF) == 0, c.mech_none) << at;
            EXPECT_EQ(m.feature_bits, c.features) << at;
            EXPECT_EQ(i.descriptor.dwFeatures == 0, c.features_none) << at;
            if (c.level) {
                EXPECT_EQ(m.level, *c.level) << at;
            } else {
                EXPECT_EQ(m.level, ccid::ExchangeLevel::Contradictory) << at;
            }
            const bool echo_silent = (m.get_response_echoes_class || m.envelope_echoes_class) &&
                                     !c.spelled_out.contains("bClassGetResponse") &&
                                     !c.spelled_out.contains("bClassEnvelope");
            if (!echo_silent) {
                EXPECT_EQ(m.get_response_echoes_class, c.get_response_echoes_class) << at;
                EXPECT_EQ(m.envelope_echoes_class, c.envelope_echoes_class) << at;
            } else {
                not_spelled_out.push_back(at + " bClassGetResponse/bClassEnvelope");
            }
            EXPECT_EQ(m.lcd_lines, c.lcd_lines.value_or(0)) << at;
            EXPECT_EQ(m.lcd_columns, c.lcd_columns.value_or(0)) << at;
            EXPECT_EQ(m.pin_verify, c.pin_verify) << at;
            EXPECT_EQ(m.pin_modify, c.pin_modify) << at;
            EXPECT_EQ(i.descriptor.bDescriptorType == ccid::kVendorCcidDescriptorType, c.proprietary_type) << at;
        }
    }
    std::printf("fields set but not spelled out by an old parse version: %zu\n", not_spelled_out.size());
    for (const std::string& s : not_spelled_out) std::printf("  %s\n", s.c_str());
    // 5 CardMan/Cherry dumps (dwSynchProtocols 0x07) and SCR331-DI-NTTCom (class bytes 0xFF).
    EXPECT_EQ(not_spelled_out.size(), 6u);
}

TEST(ReaderCorpus, PlausibilityWarningsAndEffectiveValues) {
    SKIP_WITHOUT_CORPUS();
    std::map<std::string, std::size_t> per_field;
    std::map<std::string, std::size_t> per_reason;
    std::size_t interfaces_with_warnings = 0;
    std::map<std::string, std::set<std::string>> files_per_field, interfaces_per_field;
    static const std::set<std::string> kFieldNames = {
#define FIELD_NAME(f) #f,
        CCID_DESCRIPTOR_FIELDS(FIELD_NAME)
#undef FIELD_NAME
    };
    for (const CorpusReader& r : corpus()->readers) {
        for (const CorpusInterface& i : r.interfaces) {
            const std::string at = where(r, i);
            auto parsed = ccid::parse_ccid_descriptor(i.descriptor_bytes);
            ASSERT_TRUE(parsed.has_value()) << at;
            if (!parsed->warnings.empty()) ++interfaces_with_warnings;
            for (const ccid::DescriptorWarning& w : parsed->warnings) {
                EXPECT_TRUE(kFieldNames.contains(std::string(w.field))) << at << " " << w.field;
                ++per_field[std::string(w.field)];
                // Group reasons by their words, without the numbers.
                std::string shape;
                for (const char ch : w.reason) shape += (ch >= '0' && ch <= '9') ? '#' : ch;
                ++per_reason[std::string(w.field) + ": " + shape];
                files_per_field[std::string(w.field)].insert(r.file_name);
                interfaces_per_field[std::string(w.field)].insert(at);
            }
            const ccid::EffectiveLimits& e = parsed->effective;
            EXPECT_GE(e.slot_count, 1u) << at;
            EXPECT_LE(e.slot_count, ccid::kMaxUsableSlots) << at;
            EXPECT_GE(e.max_busy_slots, 1u) << at;
            EXPECT_LE(e.max_busy_slots, e.slot_count) << at;
            EXPECT_TRUE(e.t0 || e.t1) << at;
            EXPECT_NE(e.voltages & 0x07, 0) << at;
            EXPECT_GE(e.default_clock_khz, ccid::kMinClockKhz) << at;
            EXPECT_LE(e.default_clock_khz, ccid::kMaxClockKhz) << at;
            EXPECT_GE(e.max_clock_khz, e.default_clock_khz) << at;
            EXPECT_GT(e.default_data_rate, 0u) << at;
            EXPECT_GE(e.max_data_rate, e.default_data_rate) << at;
            EXPECT_NE(e.level, ccid::ExchangeLevel::Contradictory) << at;
            EXPECT_GE(e.ifsd, 1u) << at;
            EXPECT_LE(e.ifsd, 254u) << at;
            EXPECT_LE(e.max_message_length, ccid::kMaxMessageLength) << at;
            if (e.level != ccid::ExchangeLevel::Character) {
                EXPECT_GE(e.max_message_length, ccid::kMinApduMessageLength) << at;
            }
            // The rendering used by `ccidctl info` covers every field.
            const auto lines = ccid::describe_parsed_descriptor(*parsed);
            std::string text;
            for (const auto& l : lines) text += l + "\n";
#define FIELD_IN_TEXT(f) EXPECT_NE(text.find(#f ": "), std::string::npos) << at << " " #f;
            CCID_DESCRIPTOR_FIELDS(FIELD_IN_TEXT)
#undef FIELD_IN_TEXT
        }
    }
    std::printf("interfaces with at least one warning: %zu\n", interfaces_with_warnings);
    std::printf("per field: warnings, interfaces, files\n");
    for (const auto& [field, n] : per_field)
        std::printf("  %-24s %4zu %4zu %4zu\n", field.c_str(), n, interfaces_per_field[field].size(),
                    files_per_field[field].size());
    std::printf("warnings per reason:\n");
    for (const auto& [reason, n] : per_reason) std::printf("  %4zu  %s\n", n, reason.c_str());

    // The oddities the corpus README names must each be flagged.
    auto warned = [](std::string_view file, std::string_view field) {
        const CorpusReader* r = find_reader(file);
        if (r == nullptr) return false;
        for (const CorpusInterface& i : r->interfaces)
            for (const auto& w : ccid::check_descriptor(i.descriptor))
                if (w.field == field) return true;
        return false;
    };
    EXPECT_TRUE(warned("MySmartPad.txt", "dwProtocols"));
    EXPECT_TRUE(warned("ELYCTIS_CL_reader.txt", "dwProtocols"));
    EXPECT_TRUE(warned("Feitian_R701.txt", "dwMaximumClock"));
    EXPECT_TRUE(warned("Elatec_TWN4_SmartCard_NFC.txt", "dwMaxCCIDMessageLength"));
    EXPECT_TRUE(warned("Fsij_gnuk.txt", "dwMaxCCIDMessageLength"));
    EXPECT_TRUE(warned("SCM_SCL010.txt", "dwMaxCCIDMessageLength"));
    EXPECT_TRUE(warned("Feitian_SCR310.txt", "bMaxCCIDBusySlots"));
    EXPECT_TRUE(warned("Verisign_secure_token.txt", "bDescriptorType"));

    // Independent recount from the printed fields for two checks with a crisp rule.
    std::size_t bad_versions = 0, ifsd_out_of_range = 0;
    for (const CorpusReader& r : corpus()->readers)
        for (const CorpusInterface& i : r.interfaces) {
            bad_versions += i.descriptor.bcdCCID != 0x0100 && i.descriptor.bcdCCID != 0x0110;
            const bool t1_relevant = i.claims.t1 || !i.claims.t0;
            ifsd_out_of_range += t1_relevant && (i.descriptor.dwMaxIFSD == 0 || i.descriptor.dwMaxIFSD > 254);
        }
    EXPECT_EQ(interfaces_per_field["bcdCCID"].size(), bad_versions);
    EXPECT_EQ(interfaces_per_field["dwMaxIFSD"].size(), ifsd_out_of_range);
    EXPECT_GT(bad_versions, 0u);
    EXPECT_GT(ifsd_out_of_range, 0u);
}

TEST(ReaderCorpus, ConfigurationWalkerFindsEveryDescriptor) {
    SKIP_WITHOUT_CORPUS();
    std::size_t single = 0, composite = 0;
    for (const CorpusReader& r : corpus()->readers) {
        for (const CorpusInterface& i : r.interfaces) {
            const std::string at = where(r, i);
            for (const auto placement : {DescriptorPlacement::AfterInterface, DescriptorPlacement::AfterLastEndpoint}) {
                const auto bytes = ccid::encode_usb_configuration(make_usb_configuration({&i, 1}, placement));
                ASSERT_TRUE(bytes.has_value()) << at;
                const auto config = ccid::parse_usb_configuration(*bytes);
                ASSERT_TRUE(config.has_value()) << at << ": " << ccid::to_string(config.error());
                EXPECT_TRUE(config->notes.empty()) << at << ": " << config->notes.front();
                const auto found = ccid::find_ccid_interfaces(*config);
                ASSERT_EQ(found.size(), 1u) << at;
                EXPECT_EQ(found[0].descriptor, i.descriptor_bytes) << at;
                EXPECT_EQ(found[0].interface_number, i.bInterfaceNumber) << at;
                const bool on_endpoint = placement == DescriptorPlacement::AfterLastEndpoint && i.bNumEndpoints > 0;
                EXPECT_EQ(found[0].place, on_endpoint ? ccid::CcidDescriptorPlace::EndpointExtra
                                                      : ccid::CcidDescriptorPlace::InterfaceExtra)
                    << at;
                EXPECT_EQ(found[0].bulk_in.has_value(), i.bNumEndpoints >= 2) << at;
                EXPECT_EQ(found[0].interrupt_in.has_value(), i.bNumEndpoints == 1 || i.bNumEndpoints >= 3) << at;
                ++single;
            }
        }
        // Whole files as one composite device, when their records are distinct interfaces of
        // one device (some files hold several devices, or the same interface several times).
        std::set<std::pair<int, int>> ids;
        bool one_device = true;
        for (const CorpusInterface& i : r.interfaces) {
            ids.insert({i.bInterfaceNumber, i.bAlternateSetting});
            one_device = one_device && i.device == r.interfaces.front().device;
        }
        if (r.interfaces.size() < 2 || ids.size() != r.interfaces.size() || !one_device) continue;
        const auto bytes = ccid::encode_usb_configuration(make_usb_configuration(r.interfaces, DescriptorPlacement::AfterInterface));
        ASSERT_TRUE(bytes.has_value()) << r.file_name;
        const auto config = ccid::parse_usb_configuration(*bytes);
        ASSERT_TRUE(config.has_value()) << r.file_name;
        const auto found = ccid::find_ccid_interfaces(*config);
        ASSERT_EQ(found.size(), r.interfaces.size()) << r.file_name;
        for (std::size_t k = 0; k < found.size(); ++k)
            EXPECT_EQ(found[k].descriptor, r.interfaces[k].descriptor_bytes) << r.file_name << " #" << k;
        ++composite;
    }
    std::printf("configurations walked: %zu single-interface, %zu composite\n", single, composite);
    EXPECT_GT(composite, 0u);
}

// ---- Loader behaviour on inline text (no corpus needed).

namespace {

const char* const kMinimalRecord =
    " idVendor: 0x072F\n"
    "  iManufacturer: ACS\n"
    " idProduct: 0x90CC\n"
    "  Can't get iProduct string\n"
    " bcdDevice: 1.0A (firmware release?)\n"
    " bLength: 9\n"
    " bDescriptorType: 4\n"
    " bInterfaceNumber: 1\n"
    " bAlternateSetting: 0\n"
    " bNumEndpoints: 3\n"
    "  bulk-IN, bulk-OUT and Interrupt-IN\n"
    " bInterfaceClass: 0x0B [Chip Card Interface Device Class (CCID)]\n"
    " bInterfaceSubClass: 0\n"
    " bInterfaceProtocol: 0\n"
    "  bulk transfer, optional interrupt-IN (CCID)\n"
    " iInterface: CCID\n"
    " CCID Class Descriptor\n"
    "  bLength: 0x36\n"
    "  bDescriptorType: 0x21\n"
    "  bcdCCID: 1.10\n"
    "  bMaxSlotIndex: 0x01\n"
    "  bVoltageSupport: 0x03\n"
    "   5.0V\n"
    "   3.0V\n"
    "  dwProtocols: 0x0000 0x0002\n"
    "   T=1\n"
    "  dwDefaultClock: 3.579 MHz\n"
    "  dwMaximumClock: 4294967.295 MHz\n"
    "  bNumClockSupported: 0 (will use whatever is returned)\n"
    "   Support -217251840 kHz\n"
    "  dwDataRate: 9600 bps\n"
    "  dwMaxDataRate: -1 bps\n"
    "  bNumDataRatesSupported: 2\n"
    "   Support 9600 bps\n"
    "   Got 1 data rates but was expecting 2\n"
    "  dwMaxIFSD: 254\n"
    "  dwSynchProtocols: 0x00000000\n"
    "  dwMechanical: 0x00000000\n"
    "   No special characteristics\n"
    "  dwFeatures: 0x001204BA\n"
    "   ....02 Automatic parameter configuration based on ATR data\n"
    "   ....08 Automatic ICC voltage selection\n"
    "   ....10 Automatic ICC clock frequency change according to parameters\n"
    "   ....20 Automatic baud rate change according to frequency and Fi, Di params\n"
    "   ....80 Automatic PPS made by the CCID\n"
    "   ..04.. Automatic IFSD exchange as first exchange (T=1)\n"
    "   02.... Short APDU level exchange\n"
    "   10.... USB Wake up signaling supported on card insertion and removal\n"
    "  dwMaxCCIDMessageLength: 271 bytes\n"
    "  bClassGetResponse: 0xFF\n"
    "   echoes the APDU class\n"
    "  bClassEnvelope: 0x00\n"
    "  wLcdLayout: 0x0210\n"
    "    2 lines\n"
    "   16 characters per line\n"
    "  bPINSupport: 0x03\n"
    "   PIN Verification supported\n"
    "   PIN Modification supported\n"
    "  bMaxCCIDBusySlots: 1\n";

std::string replace_line(std::string text, std::string_view from, std::string_view to) {
    const auto pos = text.find(from);
    if (pos != std::string::npos) text.replace(pos, from.size(), to);
    return text;
}

}  // namespace

TEST(ReaderCorpusLoader, ReadsEveryFieldOfARecord) {
    const auto r = parse_reader_text(kMinimalRecord, "inline.txt");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ASSERT_EQ(r->interfaces.size(), 1u);
    EXPECT_TRUE(r->unrecognised.empty()) << r->unrecognised.front();
    const CorpusInterface& i = r->interfaces[0];
    EXPECT_EQ(i.first_line, 1u);
    EXPECT_EQ(i.device.vendor_id, 0x072F);
    EXPECT_EQ(i.device.product_id, 0x90CC);
    EXPECT_EQ(i.device.bcd_device, 0x010A);
    EXPECT_EQ(i.device.manufacturer, "ACS");
    EXPECT_FALSE(i.device.product.has_value());
    EXPECT_EQ(i.bInterfaceNumber, 1);
    EXPECT_EQ(i.bNumEndpoints, 3);
    EXPECT_EQ(i.bInterfaceClass, 0x0B);
    EXPECT_EQ(i.interface_string, "CCID");
    EXPECT_EQ(i.interface_remarks.size(), 2u);
    EXPECT_EQ(i.descriptor.bcdCCID, 0x0110);
    EXPECT_EQ(i.descriptor.bMaxSlotIndex, 1);
    EXPECT_EQ(i.descriptor.dwProtocols, 2u);
    EXPECT_EQ(i.descriptor.dwDefaultClock, 3579u);
    EXPECT_EQ(i.descriptor.dwMaximumClock, 0xFFFFFFFFu);
    EXPECT_EQ(i.descriptor.dwMaxDataRate, 0xFFFFFFFFu);  // "-1" is all bits set
    EXPECT_EQ(i.descriptor.bNumDataRatesSupported, 2);
    EXPECT_EQ(i.descriptor.dwFeatures, 0x001204BAu);
    EXPECT_EQ(i.descriptor.wLcdLayout, 0x0210);
    EXPECT_EQ(i.clock_frequencies_khz, (std::vector<std::int32_t>{-217251840}));
    EXPECT_EQ(i.data_rates_bps, (std::vector<std::int32_t>{9600}));
    EXPECT_EQ(i.request_remarks.size(), 1u);
    EXPECT_EQ(i.claims.level, ccid::ExchangeLevel::ShortApdu);
    EXPECT_EQ(i.claims.lcd_lines, 2u);
    EXPECT_EQ(i.claims.lcd_columns, 16u);
    EXPECT_TRUE(i.claims.pin_verify && i.claims.pin_modify && i.claims.get_response_echoes_class);
    EXPECT_TRUE(i.claims.features & static_cast<std::uint32_t>(ccid::Feature::UsbWakeUp));
    // Bytes laid out at the dump's offsets: dwDefaultClock at 10, little-endian.
    ASSERT_EQ(i.descriptor_bytes.size(), 54u);
    EXPECT_EQ(i.descriptor_bytes[10], 0xFB);  // 3579 = 0x0DFB
    EXPECT_EQ(i.descriptor_bytes[11], 0x0D);
    EXPECT_EQ(i.descriptor_bytes[52], 0x03);
}

TEST(ReaderCorpusLoader, SeveralRecordsAndCrlf) {
    std::string two = std::string(kMinimalRecord) + kMinimalRecord;
    std::string crlf;
    for (const char c : two) {
        if (c == '\n') crlf += '\r';
        crlf += c;
    }
    const auto r = parse_reader_text(crlf, "crlf.txt");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->interfaces.size(), 2u);
    EXPECT_EQ(r->interfaces[1].first_line, 60u);
    EXPECT_TRUE(has_note(*r, "CRLF"));
    EXPECT_EQ(r->interfaces[0].descriptor_bytes, r->interfaces[1].descriptor_bytes);
}

TEST(ReaderCorpusLoader, RejectsBrokenRecordsWithTheLine) {
    struct Case {
        std::string_view from, to, expect;
    };
    for (const Case& k : {
             Case{"  dwMaxIFSD: 254\n", "", "no dwMaxIFSD line"},
             Case{"  dwMaxIFSD: 254\n", "  dwMaxIFSD: 254\n  dwMaxIFSD: 254\n", "repeated"},
             Case{"  dwMaxIFSD: 254\n", "  dwMaxIFSD: 25x\n", "line 36: cannot read dwMaxIFSD"},
             Case{"  bMaxSlotIndex: 0x01\n", "  bMaxSlotIndex: 0x100\n", "bMaxSlotIndex"},
             Case{"  dwDataRate: 9600 bps\n", "  dwDataRate: 4294967296 bps\n", "dwDataRate"},
             Case{"  dwDefaultClock: 3.579 MHz\n", "  dwDefaultClock: 3.57 MHz\n", "dwDefaultClock"},
             Case{"  bcdCCID: 1.10\n", "  bcdCCID: 110\n", "bcdCCID"},
             Case{" idProduct: 0x90CC\n", "", "no idProduct line"},
             Case{" CCID Class Descriptor\n", "", "line 17: bLength repeated"},
             Case{"  dwProtocols: 0x0000 0x0002\n", "  dwProtocols: 0x0000\n", "dwProtocols"},
         }) {
        const auto r = parse_reader_text(replace_line(kMinimalRecord, k.from, k.to), "broken.txt");
        ASSERT_FALSE(r.has_value()) << k.expect;
        EXPECT_EQ(r.error().kind, CorpusErrorKind::Malformed) << k.expect;
        EXPECT_NE(r.error().message.find(k.expect), std::string::npos) << r.error().message;
    }
}

TEST(ReaderCorpusLoader, NamesWhatANonDumpIs) {
    const auto features = parse_reader_text("Reader:    Gemalto\nIdVendor:  0x08E6\n", "f.txt");
    ASSERT_FALSE(features.has_value());
    EXPECT_EQ(features.error().kind, CorpusErrorKind::NotADescriptorDump);
    EXPECT_NE(features.error().message.find("PIN-pad"), std::string::npos);
    const auto list = parse_reader_text("# comment\n0x072F:0x90CC:ACS ACR 38U-CCID\n", "l.txt");
    ASSERT_FALSE(list.has_value());
    EXPECT_NE(list.error().message.find("reader list"), std::string::npos);
    const auto empty = parse_reader_text("", "e.txt");
    ASSERT_FALSE(empty.has_value());
    EXPECT_EQ(empty.error().kind, CorpusErrorKind::NotADescriptorDump);
    const auto missing = load_reader_file("/nonexistent/dir/x.txt");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().kind, CorpusErrorKind::Unreadable);
    EXPECT_FALSE(list_corpus("/nonexistent/dir").has_value());
}

TEST(ReaderCorpusLoader, UnknownLinesAreReportedNotFatal) {
    const std::string text = replace_line(kMinimalRecord, "   T=1\n", "   T=1\n   T=9\n");
    const auto r = parse_reader_text(text, "odd.txt");
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->unrecognised.size(), 1u);
    EXPECT_NE(r->unrecognised[0].find("odd.txt: line 27:    T=9"), std::string::npos) << r->unrecognised[0];
}

TEST(ReaderCorpusLoader, TruncatedInputNeverCrashes) {
    // Every prefix of a record either loads or is refused; none crashes or hangs.
    const std::string text = kMinimalRecord;
    std::size_t loaded = 0;
    for (std::size_t n = 0; n <= text.size(); ++n) loaded += parse_reader_text(text.substr(0, n), "cut.txt").has_value();
    EXPECT_EQ(loaded, 2u);  // the complete record, with and without its final newline
}

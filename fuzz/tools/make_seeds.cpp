// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from real data:
//   - ATRs from pcsc-tools' smartcard_list.txt (every 97th ATR without wildcards, ~40),
//   - CCID class descriptors and whole USB configurations rebuilt from the real-reader corpus
//     (shared/corpus/ccid-readers, every 20th file, ~35) with src/sim/reader_corpus*.h, and
//     the same readers' strings (product, manufacturer, interface) as USB string descriptors,
//   - the built-in quirks table written as a user quirks file, and hand-made files,
//   - hand-made CCID messages built with the codecs, T=1 blocks of shared/notes/t1-vectors.md,
//     and APDUs / TPDUs / procedure bytes of every case of ISO/IEC 7816-3 clause 12.
// The seeds are committed; this tool only needs to run again when an input format changes:
//   make_seeds <out dir> <smartcard_list.txt> <ccid-readers dir>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "ccid/descriptor.h"
#include "ccid/message_commands.h"
#include "ccid/message_interrupts.h"
#include "ccid/message_pin.h"
#include "ccid/message_responses.h"
#include "ccid/quirks.h"
#include "ccid/quirks_file.h"
#include "ccid/quirks_lookup.h"
#include "ccid/usb_config.h"
#include "common/bytes.h"
#include "protocol/apdu.h"
#include "protocol/atr.h"
#include "protocol/pps.h"
#include "protocol/pps_choice.h"
#include "sim/reader_corpus.h"
#include "sim/reader_corpus_usb.h"

using namespace ccidkit;
namespace fs = std::filesystem;

namespace {

fs::path g_out;
int g_written = 0;

void write_seed(const std::string& target, const std::string& name, ByteView bytes) {
    const fs::path dir = g_out / target;
    fs::create_directories(dir);
    std::ofstream f(dir / name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ++g_written;
}

// Little builder for the structured inputs (fuzz_support.h Input reads them back).
struct Seed {
    Bytes b;
    Seed& u8(std::uint8_t v) { b.push_back(v); return *this; }
    Seed& u16(std::uint16_t v) { return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v)); }
    Seed& u32(std::uint32_t v) { return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v)); }
    Seed& raw(ByteView v) { b.insert(b.end(), v.begin(), v.end()); return *this; }
    Seed& chunk8(ByteView v) {
        const std::size_t n = std::min<std::size_t>(v.size(), 255);
        return u8(static_cast<std::uint8_t>(n)).raw(v.first(n));
    }
    Seed& chunk16(ByteView v) { return u16(static_cast<std::uint16_t>(v.size())).raw(v); }
};

Bytes hex(std::string_view text) { return from_hex(text).value(); }

std::vector<Bytes> load_atrs(const fs::path& list) {
    std::ifstream f(list);
    std::vector<Bytes> atrs;
    std::string line;
    std::size_t n = 0;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '\t' || line[0] == ' ' || line[0] == '#') continue;
        if (line.find("..") != std::string::npos) continue;  // wildcard patterns are not ATRs
        if (n++ % 97 != 0) continue;
        if (auto bytes = from_hex(line)) atrs.push_back(*bytes);
    }
    return atrs;
}

void atr_and_pps_seeds(const std::vector<Bytes>& atrs) {
    // Reader capabilities of a typical TPDU reader (dwDefaultClock 4 MHz, dwMaxDataRate
    // 344086 bps, no rate list) and of a fast one with a GET_DATA_RATES list.
    for (std::size_t i = 0; i < atrs.size(); ++i) {
        const Bytes& atr = atrs[i];
        char name[32];
        std::snprintf(name, sizeof name, "atr-%03zu", i);
        write_seed("fuzz_atr", name, atr);

        proto::ReaderRateCaps caps;
        caps.default_clock_khz = i % 2 ? 4000 : 4800;
        caps.max_data_rate_bps = i % 2 ? 344086 : 825806;
        if (i % 3 == 0) caps.data_rates_bps = {10752, 21505, 43010, 86021, 172043, 344086};
        Seed s;
        s.chunk8(atr).u16(static_cast<std::uint16_t>(caps.default_clock_khz)).u16(12000).u32(caps.max_data_rate_bps);
        s.u8(static_cast<std::uint8_t>(caps.data_rates_bps.size()));
        for (auto r : caps.data_rates_bps) s.u32(r);
        s.u8(0).u16(0x0003).u16(0);
        // Request from the choice (flag 1), five ignored bytes, then the card's answer: the
        // echo of that request when there is one, else a PPS for T=1 at Fi/Di 11h.
        s.u8(1).u32(0).u8(0);
        const auto parsed = proto::parse_atr(atr);
        const auto choice = proto::choose_protocol_and_rate(parsed.atr, caps);
        Bytes answer = hex("FF 11 11 FF");
        if (choice && choice->pps_request) answer = proto::build_pps_request(*choice->pps_request).value();
        s.raw(answer);
        write_seed("fuzz_pps", name, s.b);
    }
    // Hand-made PPS exchanges with an explicit request (flag 0): accepted, PPS1 dropped,
    // protocol changed, PCK wrong.
    const Bytes t1 = hex("3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 05 03 63 51 00 02 50");
    const std::pair<const char*, std::string_view> answers[] = {
        {"pps-echo", "FF 11 96 78"}, {"pps-no-pps1", "FF 01 FE"}, {"pps-other-t", "FF 10 96 79"},
        {"pps-bad-pck", "FF 11 96 00"}};
    for (const auto& [name, answer] : answers) {
        Seed s;
        s.chunk8(t1).u16(4000).u16(4000).u32(344086).u8(0).u8(0).u16(3).u16(0);
        s.u8(0).u8(1).u8(1).u8(0x96).u8(0).u8(0).raw(hex(answer));
        write_seed("fuzz_pps", name, s.b);
    }
    // The two T=1 ATRs of the T=1 vectors (section 5) and the inverse-convention form.
    write_seed("fuzz_atr", "t1-keycard", t1);
    write_seed("fuzz_atr", "t1-crc", hex("3B D4 96 00 C0 10 71 FE 45 01 11 22 33 44 1D"));
    write_seed("fuzz_atr", "inverse-raw", proto::inverse_convention_to_direct(hex("3F 96 18 80 01 80 51 00 61 10 30 9F")));
    write_seed("fuzz_atr", "uicc", hex("3B 97 95 80 B1 FE 00 1F 42 80 31 A0 73 BE 21 17 7A"));
}

// A USB string descriptor holding `text`, one UTF-16 unit per byte (Latin-1), capped at the
// 255-byte bLength limit: the corpus keeps some strings as raw bytes.
Bytes string_descriptor(std::string_view text) {
    Bytes d{0, 0x03};
    for (const char c : text) {
        if (d.size() + 2 > 255) break;
        d.push_back(static_cast<std::uint8_t>(c));
        d.push_back(0);
    }
    d[0] = static_cast<std::uint8_t>(d.size());
    return d;
}

// fuzz_usb_strings: byte 0 is the descriptor type looked for in the run that follows.
void usb_string_seeds(const std::string& stem, const sim::CorpusInterface& itf) {
    write_seed("fuzz_usb_strings", stem + "-class", Seed{}.u8(0x21).raw(itf.descriptor_bytes).b);
    // The class descriptor after a vendor descriptor, as some readers place it.
    write_seed("fuzz_usb_strings", stem + "-class-second",
               Seed{}.u8(0x21).raw(hex("05 FF 01 02 03")).raw(itf.descriptor_bytes).b);
    if (itf.device.product) write_seed("fuzz_usb_strings", stem + "-product", Seed{}.u8(0x03).raw(string_descriptor(*itf.device.product)).b);
    if (itf.device.manufacturer)
        write_seed("fuzz_usb_strings", stem + "-manufacturer", Seed{}.u8(0x03).raw(string_descriptor(*itf.device.manufacturer)).b);
    if (itf.interface_string)
        write_seed("fuzz_usb_strings", stem + "-interface", Seed{}.u8(0x03).raw(string_descriptor(*itf.interface_string)).b);
}

void reader_corpus_seeds(const fs::path& dir) {
    const auto files = sim::list_corpus(dir);
    if (!files) {
        std::fprintf(stderr, "make_seeds: no reader corpus at %s: descriptor seeds not rewritten\n", dir.c_str());
        return;
    }
    for (std::size_t i = 0; i < files->size(); i += 20) {
        const auto reader = sim::load_reader_file((*files)[i]);
        if (!reader || reader->interfaces.empty()) continue;
        const std::string stem = (*files)[i].stem().string();
        write_seed("fuzz_ccid_descriptor", stem, reader->interfaces.front().descriptor_bytes);
        usb_string_seeds(stem, reader->interfaces.front());
        const auto placement = i % 40 == 0 ? sim::DescriptorPlacement::AfterInterface
                                           : sim::DescriptorPlacement::AfterLastEndpoint;
        const auto config = sim::make_usb_configuration(reader->interfaces, placement);
        if (const auto bytes = ccid::encode_usb_configuration(config)) write_seed("fuzz_usb_config", stem, *bytes);
    }
}

void ccid_message_seeds() {
    using namespace ccid;
    const Status ok = Status::make(IccStatus::PresentActive, CommandStatus::Ok);
    const Status failed = Status::make(IccStatus::PresentActive, CommandStatus::Failed, 0xFE);  // ICC_MUTE
    const Status absent = Status::make(IccStatus::Absent, CommandStatus::Failed, 0xFE);
    const Status wtx = Status::make(IccStatus::PresentActive, CommandStatus::TimeExtension, 0x05);
    // Prefix: dwMaxCCIDMessageLength selector 0 (271), 2 slots, trace limit 64.
    const auto reply = [](const std::string& name, const Bytes& message) {
        write_seed("fuzz_ccid_response", name, Seed{}.u8(0).u8(2).u8(64).raw(message).b);
    };
    reply("datablock-atr", encode(rdr_to_pc::DataBlock{0, 1, ok, 0, hex("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A")}));
    reply("datablock-9000", encode(rdr_to_pc::DataBlock{0, 2, ok, 0, hex("90 00")}));
    reply("datablock-chain-begin", encode(rdr_to_pc::DataBlock{0, 3, ok, 0x01, Bytes(200, 0x5A)}));
    reply("datablock-chain-next", encode(rdr_to_pc::DataBlock{0, 3, ok, 0x10, {}}));
    reply("datablock-mute", encode(rdr_to_pc::DataBlock{0, 4, failed, 0, {}}));
    reply("datablock-wtx", encode(rdr_to_pc::DataBlock{0, 5, wtx, 0, {}}));
    reply("slotstatus-absent", encode(rdr_to_pc::SlotStatus{1, 6, absent, 0}));
    reply("slotstatus-clock-stopped", encode(rdr_to_pc::SlotStatus{0, 7, ok, 1}));
    reply("parameters-t0", encode(rdr_to_pc::make_parameters(0, 8, ok, T0Parameters{})));
    reply("parameters-t1", encode(rdr_to_pc::make_parameters(0, 9, ok, T1Parameters{})));
    reply("parameters-failed", encode(rdr_to_pc::Parameters{0, 10, Status::make(IccStatus::PresentActive, CommandStatus::Failed, 0x0A), 0, {}}));
    reply("escape", encode(rdr_to_pc::Escape{0, 11, ok, hex("01 02 03")}));
    reply("rate-clock", encode(rdr_to_pc::DataRateAndClockFrequency{0, 12, ok, 4000, 10752}));
    reply("notify-slot-change", encode(rdr_to_pc::NotifySlotChange{{{true, true}, {false, true}}}));
    reply("hardware-error", encode(rdr_to_pc::HardwareError{0, 13, 0x01}));

    const auto command = [](const std::string& name, const Bytes& message) {
        write_seed("fuzz_ccid_command", name, Seed{}.u8(0).u8(64).raw(message).b);
    };
    command("power-on", encode(pc_to_rdr::IccPowerOn{0, 0, PowerSelect::V5_0}));
    command("power-off", encode(pc_to_rdr::IccPowerOff{0, 1}));
    command("slot-status", encode(pc_to_rdr::GetSlotStatus{0, 2}));
    command("xfr-apdu", encode(pc_to_rdr::XfrBlock{0, 3, 0, 0, hex("00 A4 04 00 07 A0 00 00 00 03 10 10 00")}));
    command("xfr-chain", encode(pc_to_rdr::XfrBlock{0, 4, 0, 0x01, Bytes(100, 0x11)}));
    command("get-parameters", encode(pc_to_rdr::GetParameters{0, 5}));
    command("reset-parameters", encode(pc_to_rdr::ResetParameters{0, 6}));
    command("set-parameters-t0", encode(pc_to_rdr::SetParameters{0, 7, T0Parameters{}}));
    command("set-parameters-t1", encode(pc_to_rdr::SetParameters{0, 8, T1Parameters{}}));
    command("escape", encode(pc_to_rdr::Escape{0, 9, hex("A5 5A")}));
    command("icc-clock", encode(pc_to_rdr::IccClock{0, 10, ClockCommand::Stop}));
    command("t0apdu", encode(pc_to_rdr::T0Apdu{0, 11, 3, 0x00, 0x00}));
    PinVerify verify;
    verify.bmFormatString = 0x82;
    verify.bmPINBlockString = 0x04;
    verify.wPINMaxExtraDigit = 0x0408;
    verify.abPINApdu = hex("00 20 00 01 08 FF FF FF FF FF FF FF FF");
    PinModify modify;
    modify.bmFormatString = 0x82;
    modify.wPINMaxExtraDigit = 0x0408;
    modify.abPINApdu = hex("00 24 00 01 10") ;
    modify.abPINApdu.resize(21, 0xFF);
    command("secure-verify", encode(pc_to_rdr::Secure{0, 12, 0, 0, secure_pin_verify_data(verify)}));
    command("secure-modify", encode(pc_to_rdr::Secure{0, 13, 0, 0, secure_pin_modify_data(modify)}));
    command("mechanical", encode(pc_to_rdr::Mechanical{0, 14, MechanicalFunction::Eject}));
    command("abort", encode(pc_to_rdr::Abort{0, 15}));
    command("set-rate-clock", encode(pc_to_rdr::SetDataRateAndClockFrequency{0, 16, 4000, 10752}));
    // The PC/SC part 10 structures an application passes (the same target reads them).
    command("pcsc-verify", encode_pcsc_pin_verify(verify));
    command("pcsc-modify", encode_pcsc_pin_modify(modify));
}

// T=1 (shared/notes/t1-vectors.md): the engine sends its own generated APDU, the card's
// blocks come from the vectors as raw blocks (tag 2), with LRC, NAD 00, IFSC 32.
void t1_seeds() {
    const auto header = [](std::uint8_t flags) {
        return Seed{}.u8(flags).u8(31).u8(253).u8(3).u8(3).u16(0).u16(9);
    };
    const auto raw = [](Seed s, std::initializer_list<std::string_view> blocks) {
        for (auto b : blocks) s.u8(2).chunk8(hex(b));
        return s.b;
    };
    const Bytes D = hex("00 00 07 75 74 77 74 75 90 00 E0");
    write_seed("fuzz_t1_engine", "a21-case4", raw(header(0), {"00 00 07 75 74 77 74 75 90 00 E0"}));
    write_seed("fuzz_t1_engine", "a21-6a82", raw(header(0), {"00 00 02 6A 82 EA"}));
    write_seed("fuzz_t1_engine", "a22-wtx", raw(header(0), {"00 C3 01 02 C0", "00 00 07 75 74 77 74 75 90 00 E0"}));
    write_seed("fuzz_t1_engine", "a23-card-ifs", raw(header(0), {"00 C1 01 10 D0", "00 00 07 75 74 77 74 75 90 00 E0"}));
    write_seed("fuzz_t1_engine", "a24-card-chain", raw(header(0), {"00 20 05 75 74 77 74 75 52", "00 40 02 90 00 D2"}));
    write_seed("fuzz_t1_engine", "a31-edc-error", raw(header(0), {"00 81 00 81", "00 00 07 75 74 77 74 75 90 00 E0"}));
    write_seed("fuzz_t1_engine", "a31-bad-lrc", raw(header(0), {"00 00 07 75 74 77 74 75 90 00 1F", "00 00 07 75 74 77 74 75 90 00 E0"}));
    write_seed("fuzz_t1_engine", "a31-corrupt-r", raw(header(0), {"00 81 00 7E", "00 81 00 81", "00 00 07 75 74 77 74 75 90 00 E0"}));
    write_seed("fuzz_t1_engine", "a31-scenario13", raw(header(0), {"00 00 07 75 74 77 74 75 90 00 1F", "00 91 00 6E", "00 91 00 91", "00 00 07 75 74 77 74 75 90 00 E0"}));
    write_seed("fuzz_t1_engine", "ifs-first", raw(header(2), {"00 E1 01 FE 1E", "00 00 02 90 00 92"}));
    write_seed("fuzz_t1_engine", "resynch", raw(header(0), {"00 C0 00 C0"}) );
    write_seed("fuzz_t1_engine", "abort-by-card", raw(header(0), {"00 C2 00 C2"}));
    // Timeouts, then a resynchronisation answered (tag 0 = timeout).
    Seed timeouts = header(0);
    timeouts.u8(0).u8(0).u8(0).u8(0).u8(2).chunk8(hex("00 E0 00 E0")).u8(2).chunk8(D);
    write_seed("fuzz_t1_engine", "timeouts-resynch", timeouts.b);
    // CRC: S(IFS response 254) and I(0) 9000 with libccid's CRC bytes.
    write_seed("fuzz_t1_engine", "crc-ifs-first", raw(header(3), {"00 E1 01 FE 57 75", "00 00 02 90 00 9C 6D"}));
    // Structured blocks (tag 3): I(0) with SW 9000, then the next exchange (tag 7).
    Seed structured = header(0);
    structured.u8(3).u8(0x00).u8(2).u8(0x90).u8(0x00).u8(7).u8(3).u8(0x40).u8(2).u8(0x90).u8(0x00);
    write_seed("fuzz_t1_engine", "two-exchanges", structured.b);
}

void apdu_seeds() {
    const std::pair<const char*, std::string_view> apdus[] = {
        {"case1", "00 A4 00 00"},
        {"case2s", "00 B0 00 00 00"},
        {"case3s", "00 A4 04 00 07 A0 00 00 00 03 10 10"},
        {"case4s", "00 A4 04 00 07 A0 00 00 00 03 10 10 00"},
        {"case2e", "00 B0 00 00 00 01 00"},
        {"case3e", "00 D6 00 00 00 00 03 01 02 03"},
        {"case4e", "00 D6 00 00 00 00 03 01 02 03 00 00"},
        {"echo", "80 10 00 00 03 01 02 03 00"},
        {"pattern", "80 12 00 07 10"},
    };
    for (const auto& [name, text] : apdus) {
        const Bytes apdu = hex(text);
        write_seed("fuzz_apdu", name, Seed{}.u8(0).raw(apdu).b);
        // T=0 exchange: auto GET RESPONSE, ENVELOPE; the card answers 61 10, then data + 9000.
        Seed t0;
        t0.u8(0x07).u8(0).u8(3).chunk16(apdu).chunk8(hex("61 10")).chunk8(Bytes(0x12, 0x42)).chunk8(hex("90 00"));
        write_seed("fuzz_t0_exchange", name, t0.b);
        // Transfers: T=0 TPDU level, short APDU, extended APDU (message length 271).
        Seed tr0;
        tr0.u8(0).u8(0).u8(31).u16(271).chunk16(apdu).u8(1).u8(0).chunk8(hex("90 00"));
        write_seed("fuzz_apdu_transfer", std::string("t0-") + name, tr0.b);
        Seed trs;
        trs.u8(2).u8(0).u8(31).u16(271).chunk16(apdu).u8(1).u8(1).chunk8(Bytes(100, 0x33)).u8(1).u8(2).chunk8(hex("90 00"));
        write_seed("fuzz_apdu_transfer", std::string("short-") + name, trs.b);
    }
    // Builder inputs (selector 1): extended case 4 with Ne 65536.
    write_seed("fuzz_apdu", "build-4e", Seed{}.u8(1).u8(0).u8(0xB0).u8(0).u8(0).u16(300).u32(65536).u8(0).b);
    // T=0: 6CXX re-issue, 9000 after case 4, a wrong status word; built extended APDU that
    // goes through ENVELOPE.
    const Bytes read = hex("00 B0 00 00 10");
    write_seed("fuzz_t0_exchange", "6c", Seed{}.u8(0x07).u8(0).u8(3).chunk16(read).chunk8(hex("6C 08")).chunk8(Bytes(10, 1)).b);
    write_seed("fuzz_t0_exchange", "bad-sw", Seed{}.u8(0x07).u8(0).u8(3).chunk16(read).chunk8(hex("12 34")).b);
    write_seed("fuzz_t0_exchange", "envelope", Seed{}.u8(0x0F).u8(0).u8(3).u8(0x80).u8(0x10).u8(0).u8(0).u16(600).u32(600).u8(0)
                                               .chunk8(hex("90 00")).chunk8(hex("90 00")).chunk8(hex("90 00")).chunk8(hex("61 00")).b);
    // Extended APDU level: a 600-byte command in 261-byte parts, the reader asking for more
    // (10h), then a chained response 01h/03h/02h.
    Seed ext;
    ext.u8(3).u8(0).u8(31).u16(271).chunk16(Seed{}.raw(hex("80 10 00 00 00 02 50")).raw(Bytes(592, 7)).u16(0).b);
    ext.u8(1).u8(4).chunk8({}).u8(1).u8(4).chunk8({}).u8(1).u8(1).chunk8(Bytes(200, 9)).u8(1).u8(3).chunk8(Bytes(200, 9)).u8(1).u8(2).chunk8(hex("90 00"));
    write_seed("fuzz_apdu_transfer", "extended-chains", ext.b);
    // T=1 TPDU: a well-formed I(0) 9000 block (tag 3), and a mute card.
    write_seed("fuzz_apdu_transfer", "t1-9000", Seed{}.u8(1).u8(0).u8(31).u16(271).chunk16(hex("00 A4 04 00 00")).u8(3).u8(0).u8(2).u8(0x90).u8(0).b);
    write_seed("fuzz_apdu_transfer", "t1-mute", Seed{}.u8(1).u8(0).u8(31).u16(271).chunk16(hex("00 A4 04 00 00")).u8(0).u8(0).b);
    write_seed("fuzz_apdu_transfer", "ifs", Seed{}.u8(4).u8(0).u8(31).u16(271).chunk16({}).u8(2).u8(0).chunk16(hex("00 E1 01 21 C1")).b);
}

void t0_character_seeds() {
    // Reader side: limits, TPDU, then the card's characters.
    const auto transfer = [](const std::string& name, std::string_view tpdu, std::initializer_list<std::string_view> card) {
        Seed s;
        s.u16(100).u8(4).chunk8(hex(tpdu));
        for (auto c : card) s.chunk8(hex(c));
        write_seed("fuzz_t0_transfer", name, s.b);
    };
    transfer("outgoing-ack", "00 B0 00 00 04", {"B0", "01 02 03 04", "90 00"});
    transfer("outgoing-single", "00 B0 00 00 02", {"4F 01", "4F 02 90 00"});
    transfer("outgoing-6c", "00 B0 00 00 04", {"6C 02"});
    transfer("incoming-ack", "00 D6 00 00 03 01 02 03", {"D6", "90 00"});
    transfer("incoming-single", "00 D6 00 00 02 01 02", {"29", "29", "90 00"});
    transfer("nulls", "00 A4 00 00 00", {"60 60 60", "60 90 00"});
    transfer("conflict", "00 A4 00 00 00", {"55"});
    // Card side: characters of a SELECT header and data, a READ BINARY header, a TPDU, reset.
    const auto card = [](const std::string& name, std::uint8_t flags, std::initializer_list<std::pair<int, std::string_view>> events) {
        Seed s;
        s.u8(flags).u8(0);
        for (const auto& [tag, bytes] : events) {
            s.u8(static_cast<std::uint8_t>(tag));
            if (tag == 2) s.chunk16(hex(bytes)); else if (tag != 3) s.chunk8(hex(bytes));
        }
        write_seed("fuzz_t0_card", name, s.b);
    };
    card("select-chars", 0x0A, {{0, "00 A4 00 00 02"}, {0, "01 01"}, {0, "00 C0 00 00 10"}});
    card("read-binary", 0x0A, {{0, "00 A4 00 00 02 01 02"}, {2, "00 B0 00 00 20"}});
    card("echo-tpdu", 0x0A, {{2, "80 10 00 00 03 01 02 03"}, {2, "00 C0 00 00 03"}, {3, ""}});
    card("pattern-6c", 0x0B, {{2, "80 12 00 00 00"}, {1, "80 12 00 00 08"}});
    card("envelope", 0x0A, {{2, "80 C2 00 00 04 80 10 00 00"}, {2, "80 C2 00 00 00"}});
    card("faults", 0xE2, {{2, "80 12 00 00 10"}, {2, "00 C0 00 00 10"}});
}

void usb_string_hand_seeds() {
    write_seed("fuzz_usb_strings", "langid-en-us", hex("03 04 03 09 04"));
    write_seed("fuzz_usb_strings", "surrogate-pair", hex("03 0A 03 3D D8 00 DE 41 00"));
    write_seed("fuzz_usb_strings", "unpaired-surrogate", hex("03 08 03 00 DC 41 00 00 D8"));
    write_seed("fuzz_usb_strings", "padded-name", hex("03 0E 03 41 00 42 00 20 00 20 00 00 00 00 00"));
    write_seed("fuzz_usb_strings", "bLength-past-end", hex("03 40 03 41 00"));
}

// fuzz_quirks_file: the built-in table as a user would write it, and hand-made files.
void quirks_file_seeds() {
    std::string table = "# the built-in table, as a user file\n";
    for (const ccid::QuirkRow& row : ccid::builtin_quirks())
        table += ccid::format_quirk_row(row, ccid::changed_fields(row.quirks)) + "\n";
    write_seed("fuzz_quirks_file", "builtin-table", ByteView(reinterpret_cast<const std::uint8_t*>(table.data()), table.size()));
    const auto text = [](const std::string& name, std::string_view t) {
        write_seed("fuzz_quirks_file", name, ByteView(reinterpret_cast<const std::uint8_t*>(t.data()), t.size()));
    };
    text("documented-row", "08e6:3437 bcd=0000-0200 no_pps max_ifsd=48 dwMaxIFSD=254 level=extended reason=\"slow firmware\"\n");
    text("defaults-and-escapes", "# comment\n0x058f:0x9540 min_firmware=5.16 extra_timeout=default name=\"a \\\"b\\\" \\\\ c\" # tail\n");
    text("every-key", "1050:0407 dwFeatures=0x000404BA dwMaxCCIDMessageLength=271 dwMaxDataRate=9600 dwProtocols=3 "
                      "bPINSupport=0 bVoltageSupport=7 bMaxCCIDBusySlots=1 max_data_rate=115200 skip_ifsd_exchange "
                      "power_off_before_on poll_slot_status ignore_interrupt_endpoint abort_on_open open_timeout_factor=3 "
                      "no_nad vendor_class_ccid no_bulk_in_read_ahead=no\n");
    text("errors", "zzzz:0001 no_pps\n0001:0002 bcd=0300-0200 no_pps\n0001:0002 nopps\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s <out dir> <smartcard_list.txt> <ccid-readers dir>\n", argv[0]);
        return 2;
    }
    g_out = argv[1];
    const auto atrs = load_atrs(argv[2]);
    if (atrs.empty()) std::fprintf(stderr, "make_seeds: no ATR read from %s\n", argv[2]);
    atr_and_pps_seeds(atrs);
    reader_corpus_seeds(argv[3]);
    usb_string_hand_seeds();
    quirks_file_seeds();
    ccid_message_seeds();
    t1_seeds();
    apdu_seeds();
    t0_character_seeds();
    std::printf("make_seeds: %d seed files written under %s\n", g_written, g_out.c_str());
    return 0;
}

// Emulating one real reader of the corpus end to end, and the whole corpus.
//
// For each interface record:
//  1. The driver's view: the quirks of the built-in table for its VID:PID/bcdDevice (the
//     user's quirks file is deliberately not read, so the result is reproducible), and the
//     ReaderCaps they give (ccid::make_reader_caps). ICCD interfaces (bInterfaceProtocol 1/2)
//     and character-level readers are listed, not driven.
//  2. The device: a ReaderSim impersonating the record (sim::reader_config_from_corpus). A
//     quirk row describes how the real reader behaves, so the simulated reader behaves that
//     way: descriptor fields the row overrides and an exchange level it imposes are what the
//     simulator follows, while the driver is given the descriptor as the reader reports it
//     plus the quirks, as it would be with the real device.
//  3. Reader::open with the raw descriptor and the quirks. Firmware the quirks refuse
//     (min_firmware) is recorded, then opened again with the refusal lifted.
//  4. One card per protocol (corpus_emulation_cards.h), each in turn: insert, power_on (voltage
//     selection, PPS / SetParameters per dwFeatures, IFSD), the size sweep
//     (corpus_emulation_apdus.h), power off, remove.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "ccid/quirks.h"
#include "ccid/quirks_lookup.h"
#include "ccid/reader.h"
#include "ccid/reader_caps.h"
#include "corpus_emulation_apdus.h"
#include "corpus_emulation_cards.h"
#include "corpus_emulation_model.h"
#include "sim/reader/reader_sim.h"
#include "sim/reader_corpus.h"

namespace ccidkit::emulation {

// Printable ASCII only (the corpus strings may hold binary garbage), trimmed.
inline std::string printable(std::string_view s) {
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
    }
    const auto first = out.find_first_not_of(' ');
    if (first == std::string::npos) return {};
    return out.substr(first, out.find_last_not_of(' ') - first + 1);
}

inline std::string reader_name(const sim::CorpusDevice& d) {
    const std::string m = printable(d.manufacturer.value_or(""));
    const std::string p = printable(d.product.value_or(""));
    if (m.empty() || p.starts_with(m)) return p.empty() ? m : p;
    if (p.empty()) return m;
    return m + " " + p;
}

// The descriptor the simulated reader follows: what the real reader does, per its quirk row.
inline ccid::CcidDescriptor behaviour_descriptor(const ccid::CcidDescriptor& reported, const ccid::Quirks& quirks) {
    ccid::CcidDescriptor d = ccid::apply_overrides(reported, quirks.descriptor);
    std::uint32_t level_bits = 0;
    switch (quirks.level) {
        case ccid::ExchangeLevelOverride::None: return d;
        case ccid::ExchangeLevelOverride::Tpdu: level_bits = ccid::kLevelTpdu; break;
        case ccid::ExchangeLevelOverride::ShortApdu: level_bits = ccid::kLevelShortApdu; break;
        case ccid::ExchangeLevelOverride::ExtendedApdu: level_bits = ccid::kLevelExtendedApdu; break;
    }
    d.dwFeatures = (d.dwFeatures & ~ccid::kExchangeLevelMask) | level_bits;
    return d;
}

inline ccid::ReaderOptions emulation_reader_options(const ccid::Quirks& quirks, std::uint16_t bcd) {
    ccid::ReaderOptions o;
    o.quirks = quirks;
    o.bcd_device = bcd;
    // The simulator answers at once: short waits keep a failing reader from stalling the run.
    o.control_timeout = ccid::Millis{300};
    o.power_on_timeout = ccid::Millis{1000};
    o.exchange.abort_timeout = ccid::Millis{300};
    o.drain_read_timeout = ccid::Millis{0};
    // T=0 at TPDU level: let the driver fetch 61XX responses so that echoes can be compared.
    o.auto_get_response = true;
    return o;
}

inline std::string fidi_of(const ccid::ProtocolParameters& p) {
    return fmt::format("{:02X}", std::visit([](const auto& s) { return s.bmFindexDindex; }, p));
}

inline std::string describe_session(const ccid::CardSession& s, const ccid::ReaderCaps& caps) {
    std::string how;
    if (caps.has(ccid::Feature::AutoParameterNegotiation)) how = "negotiated by the reader (40h)";
    else if (s.negotiation_fallback) how = "PPS failed: cold reset, default protocol";
    else if (s.pps_exchanged) how = "host PPS + SetParameters";
    else if (caps.has(ccid::Feature::AutoPps) && s.choice && s.choice->pps_needed) how = "SetParameters, PPS by the reader (80h)";
    else if (s.choice && s.choice->pps_needed) how = "no PPS possible: card defaults";
    else how = "SetParameters, no PPS needed";
    std::string out = fmt::format("{}, T={}, Fi/Di {}, {}", ccid::to_string(s.voltage), s.protocol,
                                  fidi_of(s.parameters), how);
    // The driver's rate choice; a reader that negotiates by itself (40h) made its own.
    if (s.choice && !caps.has(ccid::Feature::AutoParameterNegotiation))
        out += fmt::format(" [{}]", proto::to_string(s.choice->rate_choice));
    if (s.protocol == 1 && caps.level == ccid::ExchangeLevel::Tpdu)
        out += fmt::format(", IFSD {}{}", s.ifsd, s.ifsd_exchanged ? " (S(IFS))" : "");
    return out;
}

inline SizeResult run_size(ccid::Slot& slot, const sim::ReaderSim& device, const PlannedApdu& apdu) {
    SizeResult s;
    s.size = apdu.size;
    s.apdu = apdu.label;
    const std::size_t xfr_before = device.stats().count(ccid::MessageType::PcToRdrXfrBlock);
    auto response = slot.transmit(apdu.command);
    const bool reached_reader = device.stats().count(ccid::MessageType::PcToRdrXfrBlock) != xfr_before;
    const std::string error = response ? std::string() : ccid::describe(response.error());
    const std::string diff = response ? compare_response(*response, apdu.expected) : std::string();
    switch (apdu.expectation) {
        case Expectation::Echo:
            s.outcome = response && diff.empty() ? SizeOutcome::Pass : SizeOutcome::Fail;
            s.reason = response ? diff : error;
            break;
        case Expectation::Refuse:
            if (!response && response.error().code == ccid::ReaderErrc::ApduTooLong && !reached_reader) {
                s.outcome = SizeOutcome::Refused;
                s.reason = apdu.why + ": " + error;
            } else {
                s.outcome = SizeOutcome::Fail;
                const std::string got = response ? (diff.empty() ? "answered" : diff) : error;
                s.reason = fmt::format("{}: not refused before the wire ({}{})", apdu.why, got,
                                       reached_reader ? ", after XfrBlocks reached the reader" : "");
            }
            break;
        case Expectation::ReaderLimit:
            if (response && diff.empty()) {
                s.outcome = SizeOutcome::Pass;
            } else {
                s.outcome = response ? SizeOutcome::Fail : SizeOutcome::Refused;
                s.reason = apdu.why + ": " + (response ? diff : error);
            }
            break;
    }
    return s;
}

inline CardResult run_card(ccid::Reader& reader, sim::ReaderSim& device, const CardPlan& plan,
                           ccid::ExchangeLevel level, std::uint8_t seed) {
    CardResult r;
    r.protocol = plan.protocol;
    r.slot = plan.slot;
    r.card = plan.description;
    sim::SimCardConfig config;
    config.atr = plan.atr;
    const std::uint8_t slot_index = static_cast<std::uint8_t>(plan.slot);
    auto card = device.insert_card(slot_index, sim::SimCard(std::move(config)));
    ccid::Slot* slot = reader.slot(plan.slot);
    if (!card || !slot) {
        r.power_error = fmt::format("slot {} does not exist", plan.slot);
        return r;
    }
    auto session = slot->power_on();
    if (!session) {
        r.power_error = ccid::describe(session.error());
        device.remove_card(slot_index);
        return r;
    }
    r.powered = true;
    r.session = describe_session(*session, reader.caps());
    r.card_ta1 = plan.atr.ta1.value_or(0x11);
    r.fidi = std::visit([](const auto& p) { return p.bmFindexDindex; }, session->parameters);
    r.host_pps = session->pps_exchanged;
    r.reader_negotiated = reader.caps().has(ccid::Feature::AutoParameterNegotiation) ||
                          (reader.caps().has(ccid::Feature::AutoPps) && session->choice && session->choice->pps_needed);
    r.lower_di = session->choice && session->choice->rate_choice == proto::RateChoice::Ta1LowerDi;
    r.power_on_attempts = session->power_on_attempts;
    const std::uint32_t max_message = reader.caps().descriptor.dwMaxCCIDMessageLength;
    const std::size_t payload_limit = max_message > 10 ? max_message - 10 : 0;
    for (const std::size_t n : kSweepSizes) {
        r.sizes.push_back(run_size(*slot, device, plan_apdu(n, level, session->protocol, payload_limit, seed)));
        // A session the driver ended (card gone, reader gone) makes every later size fail the
        // same way; stop at the first.
        if (!slot->active()) break;
    }
    (void)slot->power_off();
    device.remove_card(slot_index);
    return r;
}

inline InterfaceResult emulate_interface(const sim::CorpusReader& file, std::size_t index) {
    const sim::CorpusInterface& record = file.interfaces.at(index);
    InterfaceResult r;
    r.file = file.file_name;
    r.interface_index = index;
    r.vid = record.device.vendor_id;
    r.pid = record.device.product_id;
    r.bcd = record.device.bcd_device;
    r.name = reader_name(record.device);
    r.interface_class = record.bInterfaceClass;
    r.interface_protocol = record.bInterfaceProtocol;
    r.declared_level = ccid::exchange_level(record.descriptor.dwFeatures);

    const ccid::Quirks quirks = ccid::merge_quirks(ccid::builtin_quirks(), {}, r.vid, r.pid, r.bcd);
    r.quirks = ccid::describe_quirks(quirks);
    const ccid::ReaderCaps caps = ccid::make_reader_caps(record.descriptor, quirks);
    r.level = caps.level;
    r.t0 = caps.t0;
    r.t1 = caps.t1;

    if (record.bInterfaceClass == 0xFF && !quirks.vendor_class_ccid)
        r.notes.push_back("vendor-class interface (FFh) without the vendor_class_ccid quirk: not enumerated on USB");
    if (r.declared_level == ccid::ExchangeLevel::Contradictory)
        r.notes.push_back(fmt::format("dwFeatures names several exchange levels; the driver uses {}", level_label(r.level)));
    if ((record.descriptor.dwProtocols & 0x3) == 0)
        r.notes.push_back("dwProtocols names neither T=0 nor T=1: the driver assumes both");

    if (record.bInterfaceProtocol == 1 || record.bInterfaceProtocol == 2) {
        r.coverage = Coverage::Iccd;
        r.not_emulated_reason = fmt::format(
            "ICCD version {} (bInterfaceProtocol {}): APDUs travel over the control pipe, which this driver does "
            "not speak",
            record.bInterfaceProtocol == 1 ? "A" : "B", record.bInterfaceProtocol);
        return r;
    }
    if (caps.level == ccid::ExchangeLevel::Character) {
        r.coverage = Coverage::CharacterLevel;
        r.not_emulated_reason =
            "character level (no exchange-level bit in dwFeatures): the host would have to time single "
            "characters; the driver refuses such readers (CharacterLevelUnsupported)";
        return r;
    }

    sim::ReaderSimConfig config = sim::reader_config_from_corpus(record);
    config.descriptor = behaviour_descriptor(record.descriptor, quirks);
    if (sim::simulated_level(config.descriptor) != caps.level) {
        // Only a contradictory level field gets here: the simulator would run character level.
        config.descriptor.dwFeatures = (config.descriptor.dwFeatures & ~ccid::kExchangeLevelMask) |
                                       (caps.level == ccid::ExchangeLevel::Tpdu        ? ccid::kLevelTpdu
                                        : caps.level == ccid::ExchangeLevel::ShortApdu ? ccid::kLevelShortApdu
                                                                                       : ccid::kLevelExtendedApdu);
        r.notes.push_back(fmt::format("simulated reader set to {} as well", level_label(caps.level)));
    }

    ccid::ReaderOptions reader_options = emulation_reader_options(quirks, r.bcd);
    auto owned = std::make_unique<sim::ReaderSim>(config);
    sim::ReaderSim* device = owned.get();
    auto reader = ccid::Reader::open(std::move(owned), record.descriptor, reader_options);
    if (!reader && reader.error().code == ccid::ReaderErrc::FirmwareRefused) {
        r.firmware_refusal = ccid::describe(reader.error());
        reader_options.quirks.min_firmware.reset();
        owned = std::make_unique<sim::ReaderSim>(config);
        device = owned.get();
        reader = ccid::Reader::open(std::move(owned), record.descriptor, reader_options);
    }
    if (!reader) {
        r.open_error = ccid::describe(reader.error());
        return r;
    }
    const auto seed = static_cast<std::uint8_t>(index * 31 + r.pid);
    for (const CardPlan& plan : plan_cards((*reader)->caps()))
        r.cards.push_back(run_card(**reader, *device, plan, caps.level, seed));
    return r;
}

inline CorpusRun emulate_corpus(const std::filesystem::path& dir) {
    CorpusRun run;
    auto paths = sim::list_corpus(dir);
    if (!paths) {
        run.load_errors.push_back(paths.error().message);
        return run;
    }
    run.files = paths->size();
    for (const auto& path : *paths) {
        auto file = sim::load_reader_file(path);
        if (!file) {
            run.load_errors.push_back(fmt::format("{}: {} ({})", path.filename().string(),
                                                  sim::to_string(file.error().kind), file.error().message));
            continue;
        }
        if (file->interfaces.empty()) continue;
        ++run.files_loaded;
        for (std::size_t i = 0; i < file->interfaces.size(); ++i)
            run.interfaces.push_back(emulate_interface(*file, i));
    }
    return run;
}

}  // namespace ccidkit::emulation

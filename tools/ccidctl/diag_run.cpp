#include "diag_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "ccid/descriptor_report.h"
#include "ccid/message_responses.h"
#include "ccid/quirks_lookup.h"
#include "ccid/slot.h"
#include "ccid/slot_error.h"
#include "ccid/timeouts.h"
#include "protocol/atr.h"

namespace ccidkit::ccidctl {
namespace {

using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point start) {
    return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

std::string ms(double v) { return fmt::format("{:.3f} ms", v); }

// The fields a failed check says a quirk would fix; turned into one suggested row at the end.
struct Suggestions {
    ccid::Quirks quirks;
    ccid::QuirkFieldSet fields;
    std::vector<std::string> why;

    void add(ccid::QuirkField f, std::string reason) {
        fields.set(ccid::index_of(f));
        why.push_back(fmt::format("{}: {}", ccid::key_name(f), std::move(reason)));
    }
};

struct Voltage {
    ccid::PowerSelect select;
    std::uint8_t reader_bit;  // bVoltageSupport
    std::uint8_t card_class;  // ISO 7816-3 class indicator bit
    std::string_view name;
    std::string_view id;  // check id suffix
};

// Lowest first (ISO/IEC 7816-3:2006 6.2.4): a card is never given more than it accepts.
constexpr Voltage kVoltages[] = {
    {ccid::PowerSelect::V1_8, ccid::kVoltage1V8, proto::kClassC, "1.8 V", "1v8"},
    {ccid::PowerSelect::V3_0, ccid::kVoltage3V, proto::kClassB, "3.0 V", "3v0"},
    {ccid::PowerSelect::V5_0, ccid::kVoltage5V, proto::kClassA, "5.0 V", "5v0"},
};

std::string presence_text(ccid::CardPresence p) { return std::string(to_string(p)); }

class Diagnosis {
public:
    Diagnosis(const Context& ctx, const ReaderInfo& info, const DiagOptions& options)
        : ctx_(ctx), info_(info), options_(options) {
        report_.reader = info.name;
        report_.location = info.location;
        report_.vendor_id = info.vendor_id;
        report_.product_id = info.product_id;
        report_.bcd_device = info.bcd_device;
    }

    DiagReport run() {
        if (check_descriptor() && open()) {
            commands_without_card();
            if (!options_.touch_card) {
                report_.add("card", "card checks", CheckStatus::Skip)
                    .details.push_back("--no-card: the card is left alone");
            } else if (card_present()) {
                power_on_per_voltage();
                if (negotiate()) {
                    parameters_round_trip();
                    apdus();
                    latency();
                    power_off();
                }
            }
            counters();
        }
        suggest();
        return std::move(report_);
    }

private:
    void progress(std::string_view step) {
        if (options_.progress) options_.progress(step);
    }

    // ---- Descriptor, interface, quirks (no I/O) ----

    bool check_descriptor() {
        progress("descriptor");
        auto parsed = ccid::parse_ccid_descriptor(info_.class_descriptor);
        if (!parsed) {
            auto& c = report_.add("descriptor.parse", "CCID class descriptor", CheckStatus::Fail);
            c.details.push_back(fmt::format("does not decode: {}", to_string(parsed.error())));
            c.details.push_back("bytes: " +
                                (info_.class_descriptor.empty() ? "(none)" : to_hex(info_.class_descriptor)));
            return false;
        }
        parsed_ = std::move(*parsed);
        const auto& d = parsed_.fields;
        auto& c = report_.add("descriptor.parse", "CCID class descriptor decodes");
        c.details.push_back(fmt::format("bcdCCID {}, {}, {} slot(s)", ccid::format_bcd_version(d.bcdCCID),
                                        to_string(parsed_.meaning.level), parsed_.meaning.slot_count));

        if (parsed_.warnings.empty()) {
            report_.add("descriptor.values", "descriptor values are plausible");
        } else {
            auto& w =
                report_.add("descriptor.values", "descriptor values the driver does not trust", CheckStatus::Warn);
            for (const auto& x : parsed_.warnings)
                w.details.push_back(fmt::format("{} = 0x{:X}: {}", x.field, x.value, x.reason));
            w.details.push_back("the driver replaces them with safe values (`ccidctl info` shows which)");
        }

        if (info_.interface_class == 0xFF) {
            auto& v = report_.add("interface.class", "vendor-class (FFh) interface with a CCID descriptor",
                                  ccid::is_vendor_class_reader(info_.vendor_id, info_.product_id, info_.bcd_device)
                                      ? CheckStatus::Info
                                      : CheckStatus::Fail);
            v.details.push_back(v.status == CheckStatus::Info ? "listed in the quirks table (vendor_class_ccid)"
                                                              : "not in the quirks table: enumeration skips it");
            if (v.status == CheckStatus::Fail) {
                suggestions_.add(ccid::QuirkField::vendor_class_ccid, "the interface is vendor class but speaks CCID");
                suggestions_.quirks.vendor_class_ccid = true;
            }
        } else if (info_.interface_protocol != 0) {
            auto& v =
                report_.add("interface.protocol", "ICCD interface (bInterfaceProtocol 1 or 2)", CheckStatus::Warn);
            v.details.push_back("ICCD tokens use the control pipe; ccidkit drives the bulk CCID protocol only");
        } else {
            report_.add("interface.class", "smart-card class (0Bh) interface, bulk CCID protocol");
        }

        if (info_.usb) {
            const auto& u = *info_.usb;
            if (!u.bulk_in || !u.bulk_out) {
                auto& e = report_.add("interface.endpoints", "bulk endpoints", CheckStatus::Fail);
                e.details.push_back("a CCID interface needs a bulk-IN and a bulk-OUT endpoint (CCID 1.1 section 5.2)");
                return false;
            }
            auto& e = report_.add("interface.endpoints", "endpoints");
            e.details.push_back(fmt::format("bulk-OUT {:02X}h, bulk-IN {:02X}h, wMaxPacketSize {}", u.bulk_out->address,
                                            u.bulk_in->address, u.bulk_in->max_packet_size));
            if (u.interrupt_in) {
                e.details.push_back(
                    fmt::format("interrupt-IN {:02X}h: card events by notification", u.interrupt_in->address));
            } else {
                e.status = CheckStatus::Info;
                e.details.push_back("no interrupt-IN endpoint: card events by GetSlotStatus polling");
            }
            if (u.class_descriptor_location == ccid::usb::ClassDescriptorLocation::Endpoint) {
                e.status = CheckStatus::Info;
                e.details.push_back("class descriptor placed after the endpoints (handled)");
            }
        }

        const auto rows = ccid::matching_rows(info_.vendor_id, info_.product_id, info_.bcd_device);
        if (rows.empty()) {
            report_.add("quirks", "no quirk row applies to this reader");
        } else {
            auto& q = report_.add("quirks", "quirk rows apply", CheckStatus::Info);
            for (const auto& m : rows) q.details.push_back(fmt::format("\"{}\": {}", m.name, m.reason));
            for (const auto& l : ccid::describe_quirks(quirks_of(info_))) q.details.push_back("  " + l);
        }
        return true;
    }

    // ---- Opening ----

    bool open() {
        progress("opening the reader");
        const auto start = SteadyClock::now();
        auto opened = open_reader(ctx_, info_);
        if (!opened) {
            auto& c = report_.add("open", "open the reader", CheckStatus::Fail);
            c.details.push_back(opened.error().message);
            return false;
        }
        opened_ = std::move(*opened);
        auto& c = report_.add("open", "open the reader (drain, GetSlotStatus on every slot, rate lists)");
        c.measurements.emplace_back("open_time", ms(ms_since(start)));

        const auto& caps = opened_.reader->caps();
        const auto& d = parsed_.fields;
        auto& lists = report_.add("class-requests", "GET_CLOCK_FREQUENCIES and GET_DATA_RATES");
        lists.details.push_back(
            fmt::format("{} clock frequencies, {} data rates", caps.clocks_khz.size(), caps.data_rates.size()));
        if (d.bNumClockSupported != 0 && caps.clocks_khz.size() != d.bNumClockSupported) {
            lists.status = CheckStatus::Warn;
            lists.details.push_back(fmt::format("bNumClockSupported announces {}, the reader returned {}",
                                                d.bNumClockSupported, caps.clocks_khz.size()));
        }
        if (d.bNumDataRatesSupported != 0 && caps.data_rates.empty()) {
            lists.status = CheckStatus::Warn;
            lists.details.push_back(
                fmt::format("bNumDataRatesSupported announces {}, GET_DATA_RATES gave none", d.bNumDataRatesSupported));
        }
        for (auto rate : caps.data_rates) {
            if (rate > d.dwMaxDataRate) {
                lists.status = CheckStatus::Warn;
                lists.details.push_back(fmt::format("data rate {} above dwMaxDataRate {}", rate, d.dwMaxDataRate));
                break;
            }
        }
        if (!caps.data_rates.empty()) {
            std::string s;
            for (auto r : caps.data_rates) s += fmt::format("{}{}", s.empty() ? "" : ", ", r);
            lists.details.push_back("data rates: " + s + " bps");
        }
        slot_ = opened_.reader->slot(options_.slot);
        if (slot_ == nullptr) {
            auto& s = report_.add("slot", fmt::format("slot {}", options_.slot), CheckStatus::Fail);
            s.details.push_back(fmt::format("the reader has {} slot(s)", opened_.reader->slot_count()));
            return false;
        }
        return true;
    }

    // ---- Commands that need no card ----

    void commands_without_card() {
        progress("commands without a card");
        auto& st = report_.add("command.GetSlotStatus", "PC_to_RDR_GetSlotStatus on every slot");
        for (unsigned s = 0; s < opened_.reader->slot_count(); ++s) {
            const auto start = SteadyClock::now();
            auto r = opened_.reader->slot(s)->status();
            if (!r) {
                st.status = CheckStatus::Fail;
                st.details.push_back(fmt::format("slot {}: {}", s, ccid::describe(r.error())));
                continue;
            }
            st.details.push_back(fmt::format("slot {}: card {}", s, presence_text(r->presence)));
            if (s == options_.slot) st.measurements.emplace_back("latency", ms(ms_since(start)));
        }

        auto esc = opened_.reader->escape(Bytes{});
        if (esc) {
            auto& e = report_.add("command.Escape", "PC_to_RDR_Escape (empty)", CheckStatus::Info);
            e.details.push_back(fmt::format("answered with {} byte(s)", esc->size()));
        } else if (esc.error().code == ccid::ReaderErrc::CommandNotSupported) {
            auto& e = report_.add("command.Escape", "PC_to_RDR_Escape (empty)", CheckStatus::Info);
            e.details.push_back("not supported (bError 00): fine, it is optional");
        } else {
            auto& e = report_.add("command.Escape", "PC_to_RDR_Escape (empty)", CheckStatus::Warn);
            e.details.push_back(ccid::describe(esc.error()));
        }
    }

    bool card_present() {
        auto st = slot_->status();
        if (st && st->presence != ccid::CardPresence::Absent) return true;
        auto& c = report_.add("card", fmt::format("card checks (slot {})", options_.slot), CheckStatus::Skip);
        c.details.push_back(st ? "no card in the slot: insert one and run diag again"
                               : "slot status unknown: " + ccid::describe(st.error()));
        return false;
    }

    // ---- Card: voltages ----

    void power_on_per_voltage() {
        progress("IccPowerOn at each voltage");
        const auto& caps = opened_.reader->caps();
        std::uint8_t allowed_classes = proto::kClassA | proto::kClassB | proto::kClassC;
        const auto slot = static_cast<std::uint8_t>(options_.slot);
        const auto timeout = ccid::power_on_timeout(caps.default_clock_khz);
        for (const Voltage& v : kVoltages) {
            const std::string id = fmt::format("card.power-on.{}", v.id);
            const std::string title = fmt::format("PC_to_RDR_IccPowerOn at {}", v.name);
            if ((caps.voltages & v.reader_bit) == 0) continue;
            if ((allowed_classes & v.card_class) == 0) {
                auto& c = report_.add(id, title, CheckStatus::Skip);
                c.details.push_back("the card's class indicator excludes it");
                continue;
            }
            const auto start = SteadyClock::now();
            auto r = opened_.reader->command(ccid::pc_to_rdr::IccPowerOn{slot, 0, v.select}, timeout);
            const double elapsed = ms_since(start);
            if (!r) {
                auto& c = report_.add(id, title, CheckStatus::Fail);
                c.details.push_back(ccid::describe(r.error()));
                continue;
            }
            const auto* block = std::get_if<ccid::rdr_to_pc::DataBlock>(&*r);
            if (block == nullptr) {
                auto& c = report_.add(id, title, CheckStatus::Fail);
                c.details.push_back("the reply is not RDR_to_PC_DataBlock");
                continue;
            }
            if (block->status.command() != ccid::CommandStatus::Ok) {
                // A card that does not work at this voltage is the card's business, not a fault.
                const std::uint8_t e = block->status.bError;
                const bool card_side =
                    e == ccid::slot_error_code::kIccMute || e == ccid::slot_error_code::kIccClassNotSupported;
                auto& c = report_.add(id, title, card_side ? CheckStatus::Info : CheckStatus::Warn);
                c.details.push_back(fmt::format("failed, bError {:02X}h{}", e,
                                                card_side ? " (the card does not answer at this voltage)" : ""));
            } else {
                auto& c = report_.add(id, title);
                c.details.push_back("ATR " + to_hex(block->abData));
                c.measurements.emplace_back("atr_time", ms(elapsed));
                const auto atr = proto::parse_atr(block->abData);
                if (atr.atr.t15_ta) allowed_classes = atr.atr.class_indicator;
            }
            (void)opened_.reader->command(ccid::pc_to_rdr::IccPowerOff{slot, 0}, ccid::kControlTimeout);
        }
    }

    // ---- Card: full power-on ----

    bool negotiate() {
        progress("power-on with protocol and rate negotiation");
        const auto start = SteadyClock::now();
        auto s = slot_->power_on();
        const double elapsed = ms_since(start);
        if (!s) {
            auto& c = report_.add("card.negotiation", "power-on with PPS and SetParameters", CheckStatus::Fail);
            c.details.push_back(ccid::describe(s.error()));
            if (s.error().code == ccid::ReaderErrc::NegotiationFailed) {
                suggestions_.add(ccid::QuirkField::no_pps, "the PPS exchange fails");
                suggestions_.quirks.no_pps = true;
            }
            return false;
        }
        auto& c = report_.add("card.negotiation", "power-on with PPS and SetParameters");
        c.details.push_back("ATR " + to_hex(s->atr));
        c.details.push_back(fmt::format("T={} after {} IccPowerOn", s->protocol, s->power_on_attempts));
        if (s->choice) {
            c.details.push_back(fmt::format("Fi {} / Di {}, {} kHz, {} bps{}", s->choice->f, s->choice->d,
                                            s->choice->clock_khz, s->choice->data_rate_bps,
                                            s->pps_exchanged ? ", PPS accepted" : ""));
        }
        if (s->parameters_from_reader) c.details.push_back("parameters chosen by the reader (GetParameters)");
        if (s->protocol == 1) {
            c.details.push_back(fmt::format("IFSD {}{}", s->ifsd, s->ifsd_exchanged ? " (S(IFS) exchanged)" : ""));
        }
        if (s->negotiation_fallback) {
            c.status = CheckStatus::Warn;
            c.details.push_back("the PPS failed: cold reset and the card's default protocol at Fd/Dd");
            suggestions_.add(ccid::QuirkField::no_pps, "the PPS exchange failed and needed a fallback");
            suggestions_.quirks.no_pps = true;
        }
        c.measurements.emplace_back("power_on_time", ms(elapsed));
        return true;
    }

    void parameters_round_trip() {
        progress("GetParameters / SetParameters");
        auto got = slot_->get_parameters();
        if (!got) {
            auto& c = report_.add("command.GetParameters", "PC_to_RDR_GetParameters", CheckStatus::Warn);
            c.details.push_back(ccid::describe(got.error()));
            return;
        }
        report_.add("command.GetParameters", "PC_to_RDR_GetParameters")
            .details.push_back("bProtocolNum " + std::to_string(ccid::protocol_num(*got)));
        auto set = slot_->set_parameters(*got);
        if (!set) {
            auto& c = report_.add("command.SetParameters", "PC_to_RDR_SetParameters (same values)", CheckStatus::Warn);
            c.details.push_back(ccid::describe(set.error()));
        } else if (*set != *got) {
            auto& c = report_.add("command.SetParameters", "PC_to_RDR_SetParameters (same values)", CheckStatus::Warn);
            c.details.push_back(
                "the reader reports other values than were set: " + to_hex(ccid::encode_protocol_data(*set)) +
                " instead of " + to_hex(ccid::encode_protocol_data(*got)));
        } else {
            report_.add("command.SetParameters", "PC_to_RDR_SetParameters (same values)");
        }
    }

    // ---- Card: APDUs ----

    // Any status word is a success here: the card rejecting a made-up command still proves that
    // the reader carried it both ways. Refusals by the driver (the APDU does not fit the
    // exchange level) are expected for some levels and reported as information.
    void apdu_check(const std::string& id, const std::string& title, const Bytes& apdu, bool must_work) {
        const auto start = SteadyClock::now();
        auto r = slot_->transmit(apdu);
        const double elapsed = ms_since(start);
        if (r && r->size() >= 2) {
            auto& c = report_.add(id, title);
            c.details.push_back(fmt::format("{} byte command, SW {:02X}{:02X}, {} response byte(s)", apdu.size(),
                                            (*r)[r->size() - 2], r->back(), r->size() - 2));
            c.measurements.emplace_back("time", ms(elapsed));
            return;
        }
        const ccid::ReaderError e = r ? ccid::make_error(ccid::ReaderErrc::ProtocolError, "no status word") : r.error();
        const bool refused = e.code == ccid::ReaderErrc::ApduTooLong || e.code == ccid::ReaderErrc::InvalidApdu;
        auto& c = report_.add(id, title, refused && !must_work ? CheckStatus::Info : CheckStatus::Fail);
        c.details.push_back(ccid::describe(e));
        if (c.status == CheckStatus::Fail && id == "card.apdu.extended" &&
            opened_.reader->caps().level == ccid::ExchangeLevel::ExtendedApdu) {
            suggestions_.add(ccid::QuirkField::level, "extended APDUs fail although the reader announces them");
            suggestions_.quirks.level = ccid::ExchangeLevelOverride::ShortApdu;
        }
        // A failed exchange may have ended the session: power the card on again for what follows.
        if (!slot_->active()) (void)slot_->power_on();
    }

    void apdus() {
        progress("APDUs");
        apdu_check("card.apdu.probe", "probe APDU " + to_hex(options_.probe_apdu), options_.probe_apdu, true);

        // Case 3 short APDU with the largest Lc (255): 261 bytes with the header, the short APDU
        // limit every level must carry (CCID 1.1 section 5.1, dwMaxCCIDMessageLength >= 271).
        Bytes short_max{0x00, 0xA4, 0x04, 0x00, 0xFF};
        short_max.resize(5 + 255, 0xA5);
        apdu_check("card.apdu.short-max", "short APDU, Lc = 255", short_max, true);

        // Case 3 extended APDU with Lc = 1024 (ISO/IEC 7816-4 5.1). Readers at extended APDU level
        // must carry it (chained over several messages when longer than dwMaxCCIDMessageLength);
        // at TPDU level T=1 chains it; short APDU readers and T=0 cannot.
        Bytes extended{0x00, 0xA4, 0x04, 0x00, 0x00, 0x04, 0x00};
        extended.resize(7 + 1024, 0x5A);
        const auto level = opened_.reader->caps().level;
        const auto s = slot_->session();
        const bool must =
            level == ccid::ExchangeLevel::ExtendedApdu || (level == ccid::ExchangeLevel::Tpdu && s && s->protocol == 1);
        apdu_check("card.apdu.extended", "extended APDU, Lc = 1024", extended, must);
    }

    void latency() {
        progress("latency");
        std::vector<double> times;
        for (unsigned i = 0; i < options_.iterations; ++i) {
            const auto start = SteadyClock::now();
            auto r = slot_->transmit(options_.probe_apdu);
            if (!r) {
                auto& c = report_.add("card.latency", "APDU round trips", CheckStatus::Fail);
                c.details.push_back(fmt::format("round trip {} failed: {}", i + 1, ccid::describe(r.error())));
                return;
            }
            times.push_back(ms_since(start));
        }
        if (times.empty()) return;
        std::sort(times.begin(), times.end());
        auto& c =
            report_.add("card.latency", fmt::format("{} probe APDU round trips", times.size()), CheckStatus::Info);
        c.measurements.emplace_back("min", ms(times.front()));
        c.measurements.emplace_back("median", ms(times[times.size() / 2]));
        c.measurements.emplace_back("max", ms(times.back()));
    }

    void power_off() {
        progress("power off");
        auto r = slot_->power_off();
        if (r) {
            report_.add("command.IccPowerOff", "PC_to_RDR_IccPowerOff");
        } else {
            report_.add("command.IccPowerOff", "PC_to_RDR_IccPowerOff", CheckStatus::Warn)
                .details.push_back(ccid::describe(r.error()));
        }
    }

    void counters() {
        const auto s = opened_.reader->exchange_stats();
        auto& c = report_.add("exchange", fmt::format("{} CCID commands exchanged", s.commands), CheckStatus::Info);
        c.measurements.emplace_back("time_extensions", std::to_string(s.time_extensions));
        c.measurements.emplace_back("stale_replies", std::to_string(s.stale_replies));
        c.measurements.emplace_back("aborts", std::to_string(s.aborts));
        c.measurements.emplace_back("malformed_replies", std::to_string(s.malformed_replies));
        c.measurements.emplace_back("busy_retries", std::to_string(s.busy_retries));
        if (s.time_extensions == 0) c.details.push_back("no time extension was needed (it depends on the card)");
        if (s.malformed_replies != 0 || s.aborts != 0) {
            c.status = CheckStatus::Warn;
            c.details.push_back("malformed replies or aborted commands: see CCIDKIT_LOG=debug");
        }
    }

    void suggest() {
        if (suggestions_.fields.none()) return;
        QuirkSuggestion s;
        s.row.vid = info_.vendor_id;
        s.row.pid = info_.product_id;
        s.row.bcd_min = info_.bcd_device;
        s.row.bcd_max = info_.bcd_device;
        s.row.name =
            info_.product.empty() ? fmt::format("{:04x}:{:04x}", info_.vendor_id, info_.product_id) : info_.product;
        s.row.reason = "suggested by ccidctl diag";
        s.row.quirks = suggestions_.quirks;
        s.fields = suggestions_.fields;
        s.why = suggestions_.why;
        report_.suggestion = std::move(s);
    }

    const Context& ctx_;
    const ReaderInfo& info_;
    const DiagOptions& options_;
    DiagReport report_;
    ccid::ParsedCcidDescriptor parsed_;
    OpenedReader opened_;
    ccid::Slot* slot_ = nullptr;
    Suggestions suggestions_;
};

}  // namespace

DiagReport run_diagnostics(const Context& ctx, const ReaderInfo& info, const DiagOptions& options) {
    return Diagnosis(ctx, info, options).run();
}

}  // namespace ccidkit::ccidctl

#include "ccid/message_trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "ccid/message_commands.h"
#include "ccid/message_framing.h"
#include "ccid/message_interrupts.h"
#include "ccid/message_responses.h"

namespace ccidkit::ccid {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// The trace shows what arrived, so no dwMaxCCIDMessageLength applies here.
constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

std::string data_text(ByteView data, std::size_t max_bytes) {
    std::string out = fmt::format(" len={}", data.size());
    if (data.empty()) return out;
    const std::size_t shown = std::min(data.size(), max_bytes);
    out += " data=" + to_hex(data.first(shown));
    if (shown < data.size()) out += fmt::format(" ...(+{})", data.size() - shown);
    return out;
}

std::string_view icc_label(IccStatus s) {
    switch (s) {
        case IccStatus::PresentActive: return "active";
        case IccStatus::PresentInactive: return "inactive";
        case IccStatus::Absent: return "absent";
        case IccStatus::Rfu: return "icc-rfu";
    }
    return "?";
}

std::string status_text(const Status& s) {
    std::string out = fmt::format(" status={:02X}[{},", s.bStatus, icc_label(s.icc()));
    switch (s.command()) {
        case CommandStatus::Ok: out += "ok]"; break;
        case CommandStatus::Failed: out += "failed] error=" + describe(*s.error()); return out;
        case CommandStatus::TimeExtension:
            out += fmt::format("time-extension x{}]", *s.time_extension_multiplier());
            return out;
        case CommandStatus::Rfu: out += "cmd-rfu]"; break;
    }
    return out + fmt::format(" error={:02X}", s.bError);
}

std::string protocol_text(const ProtocolParameters& p) {
    return std::visit(
        Overloaded{
            [](const T0Parameters& t0) {
                return fmt::format(
                    " protocol=T=0 bmFindexDindex={:02X} bmTCCKST0={:02X} bGuardTimeT0={:02X} "
                    "bWaitingIntegerT0={:02X} bClockStop={:02X}",
                    t0.bmFindexDindex, t0.bmTCCKST0, t0.bGuardTimeT0, t0.bWaitingIntegerT0, t0.bClockStop);
            },
            [](const T1Parameters& t1) {
                return fmt::format(
                    " protocol=T=1 bmFindexDindex={:02X} bmTCCKST1={:02X} bGuardTimeT1={:02X} "
                    "bmWaitingIntegersT1={:02X} bClockStop={:02X} bIFSC={:02X} bNadValue={:02X}",
                    t1.bmFindexDindex, t1.bmTCCKST1, t1.bGuardTimeT1, t1.bmWaitingIntegersT1, t1.bClockStop,
                    t1.bIFSC, t1.bNadValue);
            },
        },
        p);
}

template <class E>
std::string enum_text(std::string_view key, E value) {
    return fmt::format(" {}={}({})", key, static_cast<unsigned>(value), to_string(value));
}

std::string command_text(const Command& command, std::size_t max_bytes) {
    namespace m = pc_to_rdr;
    const std::string head = fmt::format("{} slot={} seq={}", message_type_name(message_type(command)),
                                         slot_of(command), seq_of(command));
    const std::string body = std::visit(
        Overloaded{
            [](const m::IccPowerOn& c) { return enum_text("bPowerSelect", c.bPowerSelect); },
            [max_bytes](const m::XfrBlock& c) {
                return fmt::format(" bBWI={} wLevel={:04X}", c.bBWI, c.wLevelParameter) +
                       data_text(c.abData, max_bytes);
            },
            [](const m::SetParameters& c) { return protocol_text(c.parameters); },
            [max_bytes](const m::Escape& c) { return data_text(c.abData, max_bytes); },
            [](const m::IccClock& c) { return enum_text("bClockCommand", c.bClockCommand); },
            [](const m::T0Apdu& c) {
                return fmt::format(" bmChanges={:02X} bClassGetResponse={:02X} bClassEnvelope={:02X}", c.bmChanges,
                                   c.bClassGetResponse, c.bClassEnvelope);
            },
            [max_bytes](const m::Secure& c) {
                std::string out = fmt::format(" bBWI={} wLevel={:04X}", c.bBWI, c.wLevelParameter);
                if (const auto op = c.pin_operation()) out += enum_text("bPINOperation", *op);
                return out + data_text(c.abData, max_bytes);
            },
            [](const m::Mechanical& c) { return enum_text("bFunction", c.bFunction); },
            [](const m::SetDataRateAndClockFrequency& c) {
                return fmt::format(" clock={}kHz rate={}bps", c.dwClockFrequency, c.dwDataRate);
            },
            [](const auto&) { return std::string(); },  // header-only commands
        },
        command);
    return head + body;
}

std::string response_text(const Response& response, std::size_t max_bytes) {
    namespace m = rdr_to_pc;
    const std::string head = fmt::format("{} slot={} seq={}", message_type_name(message_type(response)),
                                         slot_of(response), seq_of(response)) +
                             status_text(status_of(response));
    const std::string body = std::visit(
        Overloaded{
            [max_bytes](const m::DataBlock& r) {
                return fmt::format(" chain={:02X}", r.bChainParameter) + data_text(r.abData, max_bytes);
            },
            [](const m::SlotStatus& r) {
                const std::string_view clock =
                    r.bClockStatus <= 3 ? to_string(r.clock_status()) : std::string_view("undefined clock status");
                return fmt::format(" bClockStatus={:02X}({})", r.bClockStatus, clock);
            },
            [max_bytes](const m::Parameters& r) {
                if (const auto params = r.parameters()) return protocol_text(*params);
                return fmt::format(" bProtocolNum={:02X}", r.bProtocolNum) +
                       data_text(r.abProtocolDataStructure, max_bytes);
            },
            [max_bytes](const m::Escape& r) { return data_text(r.abData, max_bytes); },
            [](const m::DataRateAndClockFrequency& r) {
                return fmt::format(" clock={}kHz rate={}bps", r.dwClockFrequency, r.dwDataRate);
            },
        },
        response);
    return head + body;
}

std::string interrupt_text(const InterruptMessage& message) {
    return std::visit(
        Overloaded{
            [](const rdr_to_pc::NotifySlotChange& n) {
                std::string out = "RDR_to_PC_NotifySlotChange";
                for (std::size_t i = 0; i < n.slots.size(); ++i) {
                    out += fmt::format(" slot{}={}{}", i, n.slots[i].present ? "present" : "absent",
                                       n.slots[i].changed ? "(changed)" : "");
                }
                return out;
            },
            [](const rdr_to_pc::HardwareError& h) {
                const auto code = static_cast<HardwareErrorCode>(h.bHardwareErrorCode);
                return fmt::format("RDR_to_PC_HardwareError slot={} seq={} bHardwareErrorCode={:02X}({})", h.bSlot,
                                   h.bSeq, h.bHardwareErrorCode, to_string(code));
            },
        },
        message);
}

// What can be shown of a bulk message that failed to decode: its header and raw payload.
std::string malformed_bulk_text(std::string_view name, ByteView message, DecodeError error, std::size_t max_bytes) {
    std::string out(name);
    if (const auto h = decode_header(message)) {
        out += fmt::format(" slot={} seq={} dwLength={} bytes7-9={:02X} {:02X} {:02X}", h->bSlot, h->bSeq, h->dwLength,
                           h->specific[0], h->specific[1], h->specific[2]);
        out += data_text(message.subspan(kHeaderSize), max_bytes);
    } else {
        out += data_text(message, max_bytes);
    }
    return out + fmt::format(" [malformed: {}]", to_string(error));
}

}  // namespace

std::string trace_message(ByteView message, std::size_t max_data_bytes) {
    if (message.empty()) return "empty CCID message";
    const auto type = to_message_type(message[0]);
    if (!type) {
        return fmt::format("unknown CCID message type {:02X}", message[0]) + data_text(message, max_data_bytes);
    }
    switch (pipe_of(*type)) {
        case Pipe::BulkOut: {
            const auto command = decode_command(message, kNoLimit);
            if (command) return command_text(*command, max_data_bytes);
            return malformed_bulk_text(message_type_name(*type), message, command.error(), max_data_bytes);
        }
        case Pipe::BulkIn: {
            const auto response = decode_response(message, kNoLimit);
            if (response) return response_text(*response, max_data_bytes);
            return malformed_bulk_text(message_type_name(*type), message, response.error(), max_data_bytes);
        }
        case Pipe::InterruptIn: {
            const auto interrupt = decode_interrupt(message);
            if (interrupt) return interrupt_text(*interrupt);
            return std::string(message_type_name(*type)) + data_text(message.subspan(1), max_data_bytes) +
                   fmt::format(" [malformed: {}]", to_string(interrupt.error()));
        }
    }
    return "unknown CCID message";
}

}  // namespace ccidkit::ccid

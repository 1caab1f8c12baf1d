#include "readers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "api/ccid_backend_provider.h"
#include "api/reader_naming.h"
#include "ccid/pcapng_recorder.h"
#include "ccid/quirks_lookup.h"
#include "ccid/socket/socket_transport.h"
#include "ccid/usb/libusb_transport.h"
#include "ccid/usb/usb_enumerate.h"
#include "descriptor_source.h"
#include "fd_reader.h"
#include "release_on_close.h"
#include "sim/reader/reader_sim.h"

namespace ccidkit::ccidctl {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// file=PATH of --virtual: the first interface of any descriptor file ccidctl reads.
std::expected<sim::ReaderSimConfig, std::string> config_from_descriptor_file(const std::string& path) {
    auto file = load_descriptor_file(path);
    if (!file) return std::unexpected(file.error().message);
    if (file->interfaces.empty()) return std::unexpected(path + ": no reader interface");
    const DescribedInterface& d = file->interfaces.front();
    auto config = sim::reader_config_from_descriptor(d.class_descriptor);
    if (!config) return std::unexpected(fmt::format("{}: class descriptor: {}", path, to_string(config.error())));
    if (d.vendor_id) config->vendor_id = *d.vendor_id;
    if (d.product_id) config->product_id = *d.product_id;
    if (d.bcd_device) config->bcd_device = *d.bcd_device;
    if (d.manufacturer) config->manufacturer = *d.manufacturer;
    if (d.product) config->product = *d.product;
    config->interface_number = d.interface_number;
    config->has_interrupt = d.num_endpoints >= 3;
    for (auto c : d.clocks_khz)
        if (c > 0) config->clocks_khz.push_back(static_cast<std::uint32_t>(c));
    for (auto r : d.data_rates_bps)
        if (r > 0) config->data_rates_bps.push_back(static_cast<std::uint32_t>(r));
    return std::move(*config);
}

std::string usb_location(const ccid::usb::UsbReaderCandidate& c) { return "usb:" + ccid::usb::location_name(c); }

ReaderInfo info_from_usb(const ccid::usb::UsbReaderCandidate& c) {
    ReaderInfo r;
    r.location = usb_location(c);
    r.vendor_id = c.vendor_id;
    r.product_id = c.product_id;
    r.bcd_device = c.bcd_device;
    r.manufacturer = c.manufacturer;
    r.product = c.product;
    r.serial = c.serial_number;
    r.interface_name = c.interface_name;
    r.interface_number = c.interface_number;
    r.interface_class = c.interface_class;
    r.interface_protocol = c.interface_protocol;
    r.class_descriptor = c.class_descriptor;
    r.usb = c;
    return r;
}

ReaderInfo info_from_virtual(const VirtualReaderSpec& v, std::size_t index) {
    ReaderInfo r;
    r.location = fmt::format("virtual:{}", index);
    r.vendor_id = v.config.vendor_id;
    r.product_id = v.config.product_id;
    r.bcd_device = v.config.bcd_device;
    r.manufacturer = v.config.manufacturer;
    r.product = v.config.product;
    r.serial = sim::virtual_serial(v, index);
    r.interface_number = v.config.interface_number;
    r.class_descriptor = ccid::encode_ccid_descriptor(v.config.descriptor);
    r.simulated = v;
    return r;
}

// socket=PATH: the reader a ccid-simd process serves, described by its HELLO. A server that
// is not there leaves the reader out, as the SCard API does (so the indexes stay the same).
std::expected<ReaderInfo, std::string> info_from_served(const VirtualReaderSpec& v, std::size_t index) {
    auto transport = ccid::socket::SocketTransport::connect(v.socket_path);
    if (!transport)
        return std::unexpected(
            fmt::format("virtual reader {} ({}) is absent: {}", index, v.spec, transport.error().message));
    const auto& hello = (*transport)->hello();
    ReaderInfo r;
    r.location = fmt::format("virtual:{}", index);
    r.vendor_id = hello.vendor_id;
    r.product_id = hello.product_id;
    r.bcd_device = hello.bcd_device;
    r.manufacturer = hello.manufacturer;
    r.product = hello.product;
    r.serial = hello.serial;
    r.interface_number = hello.interface_number;
    r.class_descriptor = hello.class_descriptor;
    r.simulated = v;
    return r;
}

std::string name_of(const ReaderInfo& r, std::uint8_t index) {
    api::ReaderDescription d;
    d.vendor = r.manufacturer;
    d.model = r.product;
    d.interface_name = r.interface_name;
    d.serial = r.serial;
    d.vendor_id = r.vendor_id;
    d.product_id = r.product_id;
    return api::reader_full_name(api::reader_base_name(d), index, 0);
}

void assign_names(std::vector<ReaderInfo>& readers) {
    for (std::size_t i = 0; i < readers.size(); ++i)
        readers[i].name = name_of(readers[i], static_cast<std::uint8_t>(i));
}

std::optional<std::pair<std::uint16_t, std::uint16_t>> parse_vid_pid(std::string_view s) {
    if (s.size() != 9 || s[4] != ':') return std::nullopt;
    auto hex4 = [](std::string_view h) -> std::optional<std::uint16_t> {
        unsigned v = 0;
        for (char c : h) {
            if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
            v = v * 16 + static_cast<unsigned>(
                             std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10);
        }
        return static_cast<std::uint16_t>(v);
    };
    auto v = hex4(s.substr(0, 4));
    auto p = hex4(s.substr(5, 4));
    if (!v || !p) return std::nullopt;
    return std::pair{*v, *p};
}

}  // namespace

ReaderInfo reader_info_from_usb(const ccid::usb::UsbReaderCandidate& candidate, std::uint8_t index) {
    ReaderInfo r = info_from_usb(candidate);
    r.name = name_of(r, index);
    return r;
}

std::expected<std::vector<VirtualReaderSpec>, std::string> parse_virtual_spec(std::string_view spec) {
    return sim::parse_virtual_spec(spec, config_from_descriptor_file);
}

std::expected<std::vector<ReaderInfo>, ReaderFailure> virtual_readers(const Context& ctx) {
    std::expected<std::vector<VirtualReaderSpec>, std::string> specs;
    std::string source;
    if (ctx.virtual_readers) {
        specs = parse_virtual_spec(*ctx.virtual_readers);
        source = "--virtual";
    } else if (ctx.env_virtual_readers) {
        // The library's parser and file loader, not ccidctl's richer one: the same readers,
        // with the same names, as SCardListReaders in this environment.
        specs = sim::parse_virtual_readers_env(*ctx.env_virtual_readers);
        source = sim::kVirtualReadersEnvVar;
    } else {
        return std::vector<ReaderInfo>{};
    }
    if (!specs) return std::unexpected(ReaderFailure{ExitCode::Usage, source + ": " + specs.error()});
    std::vector<ReaderInfo> readers;
    for (std::size_t i = 0; i < specs->size(); ++i) {
        const VirtualReaderSpec& spec = (*specs)[i];
        if (!spec.served()) {
            readers.push_back(info_from_virtual(spec, i));
        } else if (auto served = info_from_served(spec, i)) {
            readers.push_back(std::move(*served));
        } else {
            ctx.err << "ccidctl: warning: " << served.error() << '\n';
        }
    }
    assign_names(readers);
    return readers;
}

bool usb_wanted(const Context& ctx) { return !ctx.usb_fd && !ctx.virtual_readers && ctx.usb; }

std::expected<std::vector<ReaderInfo>, ReaderFailure> fixed_readers(const Context& ctx) {
    // --fd: that reader alone (fd_reader.h).
    if (ctx.usb_fd) {
        auto info = reader_info_from_fd(*ctx.usb_fd);
        if (!info) return std::unexpected(info.error());
        return std::vector<ReaderInfo>{std::move(*info)};
    }
    return virtual_readers(ctx);
}

std::expected<std::vector<ReaderInfo>, ReaderFailure> list_readers(const Context& ctx) {
    auto readers = fixed_readers(ctx);
    if (!readers) return readers;
    if (usb_wanted(ctx)) {
        ccid::usb::EnumerateOptions options;
        options.is_vendor_class_reader = [](std::uint16_t v, std::uint16_t p, std::uint16_t b) {
            return ccid::is_vendor_class_reader(v, p, b);
        };
        auto found = ccid::usb::enumerate_readers(options);
        if (found) {
            for (const auto& c : *found) readers->push_back(info_from_usb(c));
        } else if (readers->empty()) {
            return std::unexpected(
                ReaderFailure{ExitCode::IoError, fmt::format("cannot list USB devices: {}", to_string(found.error()))});
        } else {
            // The simulated readers are still there, as they are for the SCard API.
            ctx.err << fmt::format("ccidctl: warning: cannot list USB devices: {}\n", to_string(found.error()));
        }
    }
    assign_names(*readers);
    return readers;
}

std::expected<ReaderInfo, ReaderFailure> select_reader(const Context& ctx, const std::vector<ReaderInfo>& readers) {
    if (readers.empty()) {
        std::string why = "no smart-card reader found on USB";
        if (ctx.virtual_readers) {
            why = "no virtual reader";
        } else if (!ctx.usb) {
            why = fmt::format("no reader ({}=0 and no {})", api::kUsbEnvVar, sim::kVirtualReadersEnvVar);
        }
        return std::unexpected(ReaderFailure{ExitCode::NoReader, why});
    }
    if (!ctx.reader) return readers.front();
    const std::string& want = *ctx.reader;

    if (!want.empty() && want.size() <= 3 &&
        std::all_of(want.begin(), want.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        const auto index = std::stoul(want);
        if (index < readers.size()) return readers[index];
        return std::unexpected(ReaderFailure{
            ExitCode::NoReader, fmt::format("no reader number {} ({} reader(s) found)", index, readers.size())});
    }
    for (const auto& r : readers)
        if (r.name == want) return r;

    std::vector<const ReaderInfo*> matches;
    if (auto id = parse_vid_pid(want)) {
        for (const auto& r : readers)
            if (r.vendor_id == id->first && r.product_id == id->second) matches.push_back(&r);
    } else if (want.starts_with("usb:") || want.starts_with("virtual:")) {
        // usb:1-1.4 matches usb:1-1.4:1.0 (the udev kernel name of the device), not usb:1-1.40.
        for (const auto& r : readers) {
            if (r.location == want ||
                (r.location.starts_with(want) && r.location.size() > want.size() && r.location[want.size()] == ':'))
                matches.push_back(&r);
        }
    } else {
        const std::string needle = lower(want);
        for (const auto& r : readers)
            if (lower(r.name).find(needle) != std::string::npos) matches.push_back(&r);
    }
    if (matches.size() == 1) return *matches.front();
    // usb:BUS-PORT names a device; a composite device with several reader interfaces is
    // taken at its first one (add :CONFIG.INTERFACE to pick another).
    if (want.starts_with("usb:") && !matches.empty() &&
        std::all_of(matches.begin(), matches.end(), [&](const ReaderInfo* m) {
            return m->usb && matches.front()->usb && m->usb->bus == matches.front()->usb->bus &&
                   m->usb->address == matches.front()->usb->address;
        }))
        return *matches.front();
    if (matches.empty()) return std::unexpected(ReaderFailure{ExitCode::NoReader, "no reader matches '" + want + "'"});
    std::string names;
    for (const auto* m : matches) names += "\n  " + m->name;
    return std::unexpected(
        ReaderFailure{ExitCode::NoReader, fmt::format("'{}' matches {} readers:{}", want, matches.size(), names)});
}

std::expected<ReaderInfo, ReaderFailure> find_reader(const Context& ctx) {
    auto readers = list_readers(ctx);
    if (!readers) return std::unexpected(readers.error());
    return select_reader(ctx, *readers);
}

ccid::Quirks quirks_of(const ReaderInfo& info) {
    return ccid::quirks_for(info.vendor_id, info.product_id, info.bcd_device);
}

std::expected<std::unique_ptr<ccid::Transport>, ReaderFailure> open_transport(const Context& ctx,
                                                                              const ReaderInfo& info,
                                                                              sim::ReaderSim** sim_out) {
    std::unique_ptr<ccid::Transport> transport;
    ccid::pcapng::RecordedDevice recorded;
    if (info.simulated && info.simulated->served()) {
        // Like a USB interface, the served reader is claimed for as long as ccidctl has it open.
        auto served = ccid::socket::SocketTransport::connect(info.simulated->socket_path);
        if (!served) {
            return std::unexpected(ReaderFailure{
                ExitCode::NoReader, fmt::format("{}: cannot connect: {}", info.name, served.error().message)});
        }
        if (auto claimed = (*served)->claim(); !claimed) {
            return std::unexpected(ReaderFailure{
                ExitCode::IoError, fmt::format("{}: cannot claim: {} (another process is using the reader)", info.name,
                                               to_string(claimed.error()))});
        }
        recorded.vendor_id = info.vendor_id;
        recorded.product_id = info.product_id;
        recorded.bcd_device = info.bcd_device;
        recorded.interface_number = info.interface_number;
        recorded.class_descriptor = info.class_descriptor;
        recorded.bulk_max_packet = (*served)->bulk_in_max_packet();
        if (!(*served)->has_interrupt_in()) recorded.interrupt_in.reset();
        transport = std::make_unique<ReleaseOnClose>(std::move(*served));
    } else if (info.simulated) {
        auto sim = sim::make_virtual_reader(*info.simulated);
        if (sim_out) *sim_out = sim.get();
        recorded.vendor_id = info.vendor_id;
        recorded.product_id = info.product_id;
        recorded.bcd_device = info.bcd_device;
        recorded.interface_number = info.interface_number;
        recorded.class_descriptor = info.class_descriptor;
        recorded.bulk_max_packet = info.simulated->config.max_packet_size;
        if (!info.simulated->config.has_interrupt) recorded.interrupt_in.reset();
        transport = std::move(sim);
    } else if (info.usb_fd) {
        auto opened = open_fd_transport(info);
        if (!opened) return std::unexpected(opened.error());
        recorded = ccid::pcapng::recorded_device((*opened)->reader());
        transport = std::move(*opened);
    } else if (info.usb) {
        auto opened = ccid::usb::open_transport(*info.usb);
        if (!opened) {
            const auto e = opened.error();
            std::string hint;
            if (e == ccid::TransportError::Access)
                hint = " (no permission on the USB device: install ccidkit's udev rules, see docs/BRINGUP.md)";
            if (e == ccid::TransportError::Busy) hint = " (another program or driver holds the interface)";
            return std::unexpected(
                ReaderFailure{e == ccid::TransportError::NoDevice ? ExitCode::NoReader : ExitCode::IoError,
                              fmt::format("{}: cannot open: {}{}", info.name, to_string(e), hint)});
        }
        recorded = ccid::pcapng::recorded_device((*opened)->reader());
        transport = std::move(*opened);
    } else {
        return std::unexpected(ReaderFailure{ExitCode::NoReader, info.name + ": not a USB or virtual reader"});
    }
    if (ctx.capture) {
        transport = std::make_unique<ccid::pcapng::PcapngRecorder>(std::move(transport), ctx.capture, recorded);
    }
    return transport;
}

std::expected<OpenedReader, ReaderFailure> open_reader(const Context& ctx, const ReaderInfo& info,
                                                       const OpenOptions& options) {
    auto descriptor = ccid::decode_ccid_descriptor(info.class_descriptor);
    if (!descriptor) {
        return std::unexpected(ReaderFailure{ExitCode::IoError, fmt::format("{}: unusable CCID class descriptor: {}",
                                                                            info.name, to_string(descriptor.error()))});
    }
    OpenedReader opened;
    opened.info = info;
    opened.quirks = quirks_of(info);
    auto transport = open_transport(ctx, info, &opened.sim);
    if (!transport) return std::unexpected(transport.error());
    ccid::ReaderOptions reader_options;
    reader_options.quirks = opened.quirks;
    reader_options.bcd_device = info.bcd_device;
    if (options.control_timeout) reader_options.control_timeout = *options.control_timeout;
    auto reader = ccid::Reader::open(std::move(*transport), *descriptor, reader_options);
    if (!reader) return std::unexpected(failure_from(reader.error(), info.name + ": opening the reader"));
    opened.reader = std::move(*reader);
    return opened;
}

ExitCode exit_code_for(const ccid::ReaderError& e) {
    using ccid::ReaderErrc;
    switch (e.code) {
        case ReaderErrc::CardRemoved:
        case ReaderErrc::CardChanged: return ExitCode::NoCard;
        case ReaderErrc::CardNotPowered:
        case ReaderErrc::CardMute:
        case ReaderErrc::CardCommunication:
        case ReaderErrc::InvalidAtr:
        case ReaderErrc::VoltageNotSupported:
        case ReaderErrc::UnsupportedCard:
        case ReaderErrc::NoCommonProtocol:
        case ReaderErrc::NegotiationFailed:
        case ReaderErrc::ProtocolError:
        case ReaderErrc::ResponseTooLong:
        case ReaderErrc::PinTimeout:
        case ReaderErrc::PinCancelled: return ExitCode::CardError;
        case ReaderErrc::InvalidApdu:
        case ReaderErrc::ApduTooLong:
        case ReaderErrc::InvalidSlot:
        case ReaderErrc::InvalidArgument: return ExitCode::Usage;
        case ReaderErrc::ReaderGone: return ExitCode::NoReader;
        case ReaderErrc::Timeout:
        case ReaderErrc::Cancelled:
        case ReaderErrc::TransportFailed:
        case ReaderErrc::MalformedReply:
        case ReaderErrc::UnexpectedReply:
        case ReaderErrc::TooManyStaleReplies:
        case ReaderErrc::FirmwareRefused:
        case ReaderErrc::TimeExtensionLimit:
        case ReaderErrc::CommandNotSupported:
        case ReaderErrc::BadParameter:
        case ReaderErrc::CommandAborted:
        case ReaderErrc::HardwareError:
        case ReaderErrc::SlotBusy:
        case ReaderErrc::ReaderFailure:
        case ReaderErrc::CharacterLevelUnsupported: return ExitCode::IoError;
    }
    return ExitCode::IoError;
}

ReaderFailure failure_from(const ccid::ReaderError& e, std::string_view what) {
    return ReaderFailure{exit_code_for(e), fmt::format("{}: {}", what, ccid::describe(e))};
}

}  // namespace ccidkit::ccidctl

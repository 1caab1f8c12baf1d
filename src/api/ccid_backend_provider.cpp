#include "api/ccid_backend_provider.h"
#include "api/socket_reader_source.h"

#include <fmt/format.h>
#include <cstdio>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "ccid/descriptor.h"
#include "ccid/logging.h"
#include "ccid/quirks_lookup.h"
#include "ccid/reader.h"
#include "ccid/usb/libusb_transport.h"
#include "ccid/usb/usb_enumerate.h"
#include "sim/reader/reader_sim.h"

namespace ccidkit::api {
namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

ccid::ReaderOptions reader_options(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd) {
    ccid::ReaderOptions o;
    o.quirks = ccid::quirks_for(vid, pid, bcd);
    o.bcd_device = bcd;
    return o;
}

bool is_vendor_class_reader(std::uint16_t v, std::uint16_t p, std::uint16_t b) {
    return ccid::is_vendor_class_reader(v, p, b);
}

}  // namespace

CcidProviderOptions ccid_provider_options_from_env() {
    CcidProviderOptions o;
    auto specs = sim::parse_virtual_readers_env(env(sim::kVirtualReadersEnvVar));
    if (!specs) throw std::runtime_error(fmt::format("{}: {}", sim::kVirtualReadersEnvVar, specs.error()));
    o.virtual_readers = std::move(*specs);
    o.usb = env(kUsbEnvVar) != "0";
    const std::string hotplug = env(kHotplugEnvVar);
    if (hotplug == "poll") {
        o.hotplug_mode = ccid::usb::HotplugMode::Polling;
    } else if (!hotplug.empty() && hotplug != "auto") {
        throw std::runtime_error(fmt::format("{}: \"{}\": expected auto or poll", kHotplugEnvVar, hotplug));
    }
    return o;
}

CcidDeviceIdentity identity_of_usb(const ccid::usb::UsbReaderCandidate& c) {
    CcidDeviceIdentity id;
    id.vendor = c.manufacturer;
    id.model = c.product;
    id.interface_name = c.interface_name;
    id.serial = c.serial_number;
    id.vendor_id = c.vendor_id;
    id.product_id = c.product_id;
    id.bcd_device = c.bcd_device;
    id.device_id = c.serial_number.empty()
                       ? fmt::format("{:04X}:{:04X}@{}", c.vendor_id, c.product_id, ccid::usb::location_name(c))
                       : fmt::format("{:04X}:{:04X}:{}", c.vendor_id, c.product_id, c.serial_number);
    // Two reader interfaces of one device (e.g. contact + contactless) share the serial number.
    if (!c.serial_number.empty() && c.interface_number != 0) id.device_id += fmt::format("/{}", c.interface_number);
    // pcsc-lite's channel id for USB (0x0020 = USB), as libccid reports it.
    id.channel_id = 0x00200000u | static_cast<std::uint32_t>(c.bus) << 8 | c.address;
    // libccid refuses PC_to_RDR_Escape unless its configuration allows it; so do we.
    id.escape_allowed = env("CCIDKIT_ALLOW_ESCAPE") == "1";
    return id;
}

CcidProvider::CcidProvider(CcidProviderOptions options) : virtual_specs_(options.virtual_readers) {
    for (std::size_t i = 0; i < virtual_specs_.size(); ++i) open_virtual(virtual_specs_[i], i);
    // Before enumeration: the enumerated twin of a descriptor's device then finds it claimed.
    fd_readers_->add_from_environment();
    if (!options.usb) return;

    ccid::usb::EnumerateOptions enumerate;
    enumerate.is_vendor_class_reader = is_vendor_class_reader;
    std::optional<std::vector<ccid::usb::UsbReaderCandidate>> known;
    if (auto found = ccid::usb::enumerate_readers(enumerate)) {
        for (const auto& c : *found) open_usb(c);
        known = std::move(*found);
    } else {
        ccid::logger()->info("api: no USB readers: {}", to_string(found.error()));
    }
    ccid::usb::HotplugOptions hotplug;
    hotplug.is_vendor_class_reader = is_vendor_class_reader;
    hotplug.mode = options.hotplug_mode;
    hotplug.poll_interval = options.usb_poll_interval;
    // The monitor's first scan repeats the enumeration above and reports what changed in
    // between (open_usb() skips known readers). Starting it from the enumerated list keeps it
    // from reading the string descriptors of readers that are already open and in use.
    hotplug.report_present = true;
    hotplug.known = std::move(known);
    auto monitor = ccid::usb::HotplugMonitor::start(
        std::move(hotplug),
        [this](ccid::usb::HotplugEvent e, const ccid::usb::UsbReaderCandidate& c) { usb_event(e, c); });
    if (monitor) {
        monitor_ = std::move(*monitor);
    } else {
        ccid::logger()->warn("api: USB hotplug monitor not started: {}", to_string(monitor.error()));
    }
}

CcidProvider::~CcidProvider() {
    if (monitor_) monitor_->stop();
    std::vector<Entry> devices;
    {
        std::lock_guard lock(mutex_);
        devices.swap(devices_);
    }
    for (auto& d : devices) d.device->stop();
}

void CcidProvider::open_virtual(const sim::VirtualReaderSpec& spec, std::size_t index) {
    if (spec.served()) {  // socket=PATH: a ccid-simd process has the reader (api/socket_reader_source.h)
        auto source = socket_device_source(spec.socket_path);
        auto device = source ? open_ccid_device(std::move(*source), [this] { changed(); })
                             : std::expected<std::shared_ptr<CcidDevice>, std::string>(std::unexpect, source.error());
        if (!device) {
            ccid::logger()->warn("api: virtual reader {} ({}) is absent: {}", index, spec.spec, device.error());
            return;
        }
        std::lock_guard lock(mutex_);
        devices_.push_back(Entry{std::move(*device), std::nullopt, nullptr, std::nullopt});
        simulators_.push_back(nullptr);  // simulator(index) stays aligned with the spec list
        return;
    }
    auto device = start_simulated(spec, index);
    std::lock_guard lock(mutex_);
    simulators_.push_back(device ? device->second : nullptr);
    if (device) devices_.push_back(Entry{std::move(device->first), std::nullopt, device->second, index});
}

std::optional<std::pair<std::shared_ptr<CcidDevice>, sim::ReaderSim*>> CcidProvider::start_simulated(
    const sim::VirtualReaderSpec& spec, std::size_t index) {
    auto simulator = sim::make_virtual_reader(spec);
    sim::ReaderSim* raw = simulator.get();
    const auto& config = spec.config;
    auto reader = ccid::Reader::open(std::move(simulator), config.descriptor,
                                     reader_options(config.vendor_id, config.product_id, config.bcd_device));
    if (!reader) {
        ccid::logger()->error("api: virtual reader {} ({}): {}", index, spec.spec, ccid::describe(reader.error()));
        return std::nullopt;
    }
    CcidDeviceIdentity id;
    id.vendor = config.manufacturer;
    id.model = config.product;
    id.serial = sim::virtual_serial(spec, index);
    id.vendor_id = config.vendor_id;
    id.product_id = config.product_id;
    id.bcd_device = config.bcd_device;
    id.device_id = id.serial.empty() ? fmt::format("virtual:{}", index)
                                     : fmt::format("{:04X}:{:04X}:{}", id.vendor_id, id.product_id, id.serial);
    id.escape_allowed = true;  // the simulator echoes (or runs its configured handler)
    return std::pair{CcidDevice::start(std::move(*reader), std::move(id), [this] { changed(); }), raw};
}

bool CcidProvider::unplug_virtual(std::size_t index) {
    std::shared_ptr<CcidDevice> gone;
    {
        std::lock_guard lock(mutex_);
        const auto it = std::find_if(devices_.begin(), devices_.end(),
                                     [&](const Entry& e) { return e.virtual_index == index; });
        if (it == devices_.end()) return false;
        // The simulator sees the unplug too: a call blocked in it ends with NoDevice.
        it->sim->disconnect();
        gone = std::move(it->device);
        devices_.erase(it);
        simulators_[index] = nullptr;
    }
    gone->mark_gone();
    gone->stop();
    changed();
    return true;
}

bool CcidProvider::plug_virtual(std::size_t index) {
    if (index >= virtual_specs_.size() || virtual_specs_[index].served()) return false;
    {
        std::lock_guard lock(mutex_);
        if (std::any_of(devices_.begin(), devices_.end(), [&](const Entry& e) { return e.virtual_index == index; }))
            return false;
    }
    auto device = start_simulated(virtual_specs_[index], index);
    if (!device) return false;
    {
        std::lock_guard lock(mutex_);
        simulators_[index] = device->second;
        devices_.push_back(Entry{std::move(device->first), std::nullopt, device->second, index});
    }
    changed();
    return true;
}

void CcidProvider::open_usb(const ccid::usb::UsbReaderCandidate& c) {
    const auto key = ccid::usb::key_of(c);
    {
        std::lock_guard lock(mutex_);
        if (std::any_of(devices_.begin(), devices_.end(), [&](const Entry& e) { return e.usb_key == key; })) return;
    }
    const std::string where = ccid::usb::location_name(c);
    auto descriptor = ccid::decode_ccid_descriptor(c.class_descriptor);
    if (!descriptor) {
        ccid::logger()->warn("api: USB reader {:04X}:{:04X} at {}: unusable CCID descriptor: {}", c.vendor_id,
                             c.product_id, where, to_string(descriptor.error()));
        return;
    }
    // Opened without the claim: other processes may be using the reader; open_ccid_device
    // takes it as the shared-device rules say (kept while this process is alone).
    ccid::usb::TransportOptions transport_options;
    transport_options.claim_on_open = false;
    auto transport = ccid::usb::open_transport(c, transport_options);
    if (!transport) {
        ccid::logger()->warn("api: USB reader {:04X}:{:04X} at {}: cannot open: {}", c.vendor_id, c.product_id,
                             where, to_string(transport.error()));
        return;
    }
    CcidDeviceSource source{std::move(*transport), *descriptor, reader_options(c.vendor_id, c.product_id, c.bcd_device),
                            identity_of_usb(c), true};
    auto opened = open_ccid_device(std::move(source), [this] { changed(); });
    if (!opened) {
        ccid::logger()->warn("api: USB reader {:04X}:{:04X} at {}: {}", c.vendor_id, c.product_id, where,
                             opened.error());
        return;
    }
    auto device = std::move(*opened);
    {
        std::lock_guard lock(mutex_);
        devices_.push_back(Entry{std::move(device), key, nullptr, std::nullopt});
    }
    changed();
}

void CcidProvider::usb_event(ccid::usb::HotplugEvent event, const ccid::usb::UsbReaderCandidate& c) {
    if (event == ccid::usb::HotplugEvent::Added) {
        open_usb(c);
        return;
    }
    const auto key = ccid::usb::key_of(c);
    std::shared_ptr<CcidDevice> gone;
    {
        std::lock_guard lock(mutex_);
        const auto it = std::find_if(devices_.begin(), devices_.end(), [&](const Entry& e) { return e.usb_key == key; });
        if (it == devices_.end()) return;
        gone = std::move(it->device);
        devices_.erase(it);
    }
    gone->mark_gone();
    gone->stop();
    changed();
}

std::vector<std::shared_ptr<ReaderBackend>> CcidProvider::readers() {
    std::vector<std::shared_ptr<CcidDevice>> devices;
    {
        std::lock_guard lock(mutex_);
        for (const auto& e : devices_) devices.push_back(e.device);
    }
    std::vector<std::shared_ptr<ReaderBackend>> out;
    for (const auto& d : devices)
        for (auto& b : d->backends()) out.push_back(std::move(b));
    for (auto& b : fd_readers_->backends()) out.push_back(std::move(b));
    return out;
}

void CcidProvider::set_listener(ChangeListener* listener) {
    std::lock_guard lock(listener_mutex_);
    listener_ = listener;
}

void CcidProvider::changed() {
    std::lock_guard lock(listener_mutex_);
    if (listener_) listener_->changed();
}

sim::ReaderSim* CcidProvider::simulator(std::size_t index) const {
    std::lock_guard lock(mutex_);
    return index < simulators_.size() ? simulators_[index] : nullptr;
}

std::shared_ptr<ReaderProvider> make_ccid_provider() {
    try {
        return std::make_shared<CcidProvider>(ccid_provider_options_from_env());
    } catch (const std::runtime_error& e) {
        // The caller turns the exception into SCARD_E_NO_SERVICE without a word: say why, once
        // per attempt, even with logging off (a misconfiguration, not a runtime event).
        fmt::print(stderr, "ccidkit: {}\n", e.what());
        throw;
    }
}

}  // namespace ccidkit::api

#include "ccid/pcapng_recorder.h"

#include <algorithm>
#include <limits>
#include <string>

#include "ccid/usb_config.h"

namespace ccidkit::ccid::pcapng {
namespace {

constexpr std::uint8_t kControlIn = 0x80;
constexpr std::uint8_t kControlOut = 0x00;

// USB 2.0 table 9-4 / 9-5.
constexpr std::uint8_t kGetDescriptor = 0x06;
constexpr std::uint8_t kClearFeature = 0x01;
constexpr std::uint8_t kDescriptorDevice = 0x01;
constexpr std::uint8_t kDescriptorConfiguration = 0x02;
constexpr std::uint8_t kRequestDeviceToHost = 0x80;
constexpr std::uint8_t kRecipientEndpoint = 0x02;
constexpr std::uint8_t kRecipientInterface = 0x01;

std::uint32_t clamp32(std::size_t n) {
    return static_cast<std::uint32_t>(std::min<std::size_t>(n, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

std::chrono::microseconds system_clock_now() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
}

// ---- UsbCapture ----

UsbCapture::UsbCapture(std::unique_ptr<PcapngWriter> writer, Clock clock)
    : writer_(std::move(writer)), clock_(clock ? std::move(clock) : Clock(system_clock_now)) {}

std::chrono::microseconds UsbCapture::now() const { return clock_(); }

std::uint64_t UsbCapture::next_urb_id() {
    std::lock_guard lock(mutex_);
    return next_urb_++;
}

void UsbCapture::write(const UsbmonPacket& packet, std::string_view comment) {
    const Bytes bytes = encode_usbmon(packet);
    std::lock_guard lock(mutex_);
    if (error_ || !writer_) return;
    if (auto r = writer_->write_packet(packet.timestamp, bytes, comment); !r) error_ = r.error();
}

void UsbCapture::flush() {
    std::lock_guard lock(mutex_);
    if (error_ || !writer_) return;
    if (auto r = writer_->flush(); !r) error_ = r.error();
}

std::optional<PcapngError> UsbCapture::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

std::uint64_t UsbCapture::packets_written() const {
    std::lock_guard lock(mutex_);
    return writer_ ? writer_->packets_written() : 0;
}

// ---- Device description ----

RecordedDevice recorded_device(const usb::UsbReaderCandidate& c) {
    RecordedDevice d;
    d.bus = c.bus;
    d.address = c.address;
    d.vendor_id = c.vendor_id;
    d.product_id = c.product_id;
    d.bcd_device = c.bcd_device;
    d.interface_number = c.interface_number;
    d.interface_class = c.interface_class;
    d.interface_subclass = c.interface_subclass;
    d.interface_protocol = c.interface_protocol;
    d.class_descriptor = c.class_descriptor;
    if (c.bulk_out) {
        d.bulk_out = c.bulk_out->address;
        d.bulk_max_packet = c.bulk_out->max_packet_size;
    }
    if (c.bulk_in) d.bulk_in = c.bulk_in->address;
    d.interrupt_in.reset();
    if (c.interrupt_in) {
        d.interrupt_in = c.interrupt_in->address;
        d.interrupt_max_packet = c.interrupt_in->max_packet_size;
    }
    return d;
}

Bytes device_descriptor_bytes(const RecordedDevice& d) {
    Bytes out(18, 0);
    out[0] = 18;
    out[1] = kDescriptorDevice;
    store_le16(&out[2], 0x0200);  // bcdUSB
    // bDeviceClass/SubClass/Protocol 0: the class is given per interface.
    out[7] = 64;  // bMaxPacketSize0
    store_le16(&out[8], d.vendor_id);
    store_le16(&out[10], d.product_id);
    store_le16(&out[12], d.bcd_device);
    // iManufacturer, iProduct, iSerialNumber: no string descriptors in the preamble.
    out[17] = 1;  // bNumConfigurations
    return out;
}

Bytes configuration_descriptor_bytes(const RecordedDevice& d, std::uint8_t interface_class) {
    UsbConfiguration config;
    config.bConfigurationValue = 1;
    UsbAltSetting alt;
    alt.bInterfaceNumber = d.interface_number;
    alt.bInterfaceClass = interface_class;
    alt.bInterfaceSubClass = d.interface_subclass;
    alt.bInterfaceProtocol = d.interface_protocol;
    alt.extra = d.class_descriptor;
    // CCID 1.1 section 5.2: bulk-OUT, bulk-IN, then interrupt-IN.
    alt.endpoints.push_back(UsbEndpoint{d.bulk_out, 0x02, d.bulk_max_packet, 0, {}});
    alt.endpoints.push_back(UsbEndpoint{d.bulk_in, 0x02, d.bulk_max_packet, 0, {}});
    if (d.interrupt_in) {
        alt.endpoints.push_back(UsbEndpoint{*d.interrupt_in, 0x03, d.interrupt_max_packet, d.interrupt_interval, {}});
    }
    UsbInterface iface;
    iface.number = d.interface_number;
    iface.alt_settings.push_back(std::move(alt));
    config.interfaces.push_back(std::move(iface));
    // Cannot fail: one interface, at most three endpoints, a class descriptor under 256 bytes.
    auto bytes = encode_usb_configuration(config);
    return bytes ? *bytes : Bytes{};
}

// ---- PcapngRecorder ----

PcapngRecorder::PcapngRecorder(std::unique_ptr<Transport> inner, std::shared_ptr<UsbCapture> capture,
                               RecordedDevice device, RecorderOptions options)
    : owned_(std::move(inner)),
      inner_(*owned_),
      capture_(std::move(capture)),
      device_(std::move(device)),
      options_(options) {
    announce();
}

PcapngRecorder::PcapngRecorder(Transport& inner, std::shared_ptr<UsbCapture> capture, RecordedDevice device,
                               RecorderOptions options)
    : inner_(inner), capture_(std::move(capture)), device_(std::move(device)), options_(options) {
    announce();
}

std::uint64_t PcapngRecorder::submit(UrbTransfer transfer, std::uint8_t endpoint, std::uint32_t length, ByteView data,
                                     const std::optional<std::array<std::uint8_t, 8>>& setup,
                                     std::chrono::microseconds at, std::string_view comment) {
    UsbmonPacket p;
    p.urb_id = capture_->next_urb_id();
    p.event = UrbEvent::Submit;
    p.transfer = transfer;
    p.endpoint = endpoint;
    p.device = device_.address;
    p.bus = device_.bus;
    p.setup = setup;
    p.timestamp = at;
    p.status = kUrbInProgress;
    p.urb_length = length;
    p.data = data;
    if (transfer == UrbTransfer::Interrupt) p.interval = device_.interrupt_interval;
    capture_->write(p, comment);
    return p.urb_id;
}

void PcapngRecorder::complete(std::uint64_t urb, UrbTransfer transfer, std::uint8_t endpoint, std::int32_t status,
                              std::uint32_t length, ByteView data, std::string_view comment) {
    UsbmonPacket p;
    p.urb_id = urb;
    p.event = UrbEvent::Complete;
    p.transfer = transfer;
    p.endpoint = endpoint;
    p.device = device_.address;
    p.bus = device_.bus;
    p.timestamp = capture_->now();
    p.status = status;
    p.urb_length = length;
    p.data = data;
    if (transfer == UrbTransfer::Interrupt) p.interval = device_.interrupt_interval;
    capture_->write(p, comment);
}

void PcapngRecorder::announce() {
    if (!capture_ || !options_.announce_device) return;
    const bool vendor = device_.interface_class != 0x0B;
    const std::uint8_t shown_class =
        vendor && options_.announce_vendor_class_as_ccid ? std::uint8_t{0x0B} : device_.interface_class;
    std::string note =
        "ccidkit: device and configuration descriptors rebuilt from what enumeration read, "
        "not captured from the bus";
    if (shown_class != device_.interface_class) {
        note += "; vendor-class (0xFF) interface announced as smart-card class 0x0B so the CCID dissector applies";
    }

    const Bytes device = device_descriptor_bytes(device_);
    const Bytes config = configuration_descriptor_bytes(device_, shown_class);
    struct Exchange {
        std::uint8_t type;
        const Bytes& reply;
    };
    bool first = true;
    for (const Exchange& e : {Exchange{kDescriptorDevice, device}, Exchange{kDescriptorConfiguration, config}}) {
        const ControlSetup setup{kRequestDeviceToHost, kGetDescriptor, static_cast<std::uint16_t>(e.type << 8), 0};
        const auto length = static_cast<std::uint16_t>(e.reply.size());
        const auto urb = submit(UrbTransfer::Control, kControlIn, length, {}, setup_packet(setup, length),
                                capture_->now(), first ? std::string_view(note) : std::string_view{});
        complete(urb, UrbTransfer::Control, kControlIn, 0, length, e.reply);
        first = false;
    }
}

std::expected<void, TransportError> PcapngRecorder::bulk_out(ByteView message, Millis timeout) {
    if (!capture_) return inner_.bulk_out(message, timeout);
    const auto urb =
        submit(UrbTransfer::Bulk, device_.bulk_out, clamp32(message.size()), message, std::nullopt, capture_->now());
    auto r = inner_.bulk_out(message, timeout);
    complete(urb, UrbTransfer::Bulk, device_.bulk_out, r ? 0 : urb_status(r.error()), r ? clamp32(message.size()) : 0,
             {});
    return r;
}

std::expected<std::size_t, TransportError> PcapngRecorder::bulk_in(std::span<std::uint8_t> buffer, Millis timeout) {
    if (!capture_) return inner_.bulk_in(buffer, timeout);
    const auto urb =
        submit(UrbTransfer::Bulk, device_.bulk_in, clamp32(buffer.size()), {}, std::nullopt, capture_->now());
    auto r = inner_.bulk_in(buffer, timeout);
    const std::size_t n = r ? std::min(*r, buffer.size()) : 0;
    complete(urb, UrbTransfer::Bulk, device_.bulk_in, r ? 0 : urb_status(r.error()), clamp32(n),
             ByteView(buffer.data(), n));
    return r;
}

std::expected<std::size_t, TransportError> PcapngRecorder::interrupt_in(std::span<std::uint8_t> buffer,
                                                                        Millis timeout) {
    if (!capture_ || !device_.interrupt_in) return inner_.interrupt_in(buffer, timeout);
    const std::uint8_t ep = *device_.interrupt_in;
    const auto started = capture_->now();
    auto r = inner_.interrupt_in(buffer, timeout);
    const bool idle = !r && (r.error() == TransportError::Timeout || r.error() == TransportError::Cancelled);
    if (idle && !options_.record_idle_interrupt_polls) return r;
    // Written after the fact (with the time it started) so idle polls can be left out.
    const auto urb = submit(UrbTransfer::Interrupt, ep, clamp32(buffer.size()), {}, std::nullopt, started);
    const std::size_t n = r ? std::min(*r, buffer.size()) : 0;
    complete(urb, UrbTransfer::Interrupt, ep, r ? 0 : urb_status(r.error()), clamp32(n), ByteView(buffer.data(), n));
    return r;
}

ControlSetup PcapngRecorder::on_wire(const ControlSetup& setup, bool in) const {
    ControlSetup s = setup;
    s.request_type =
        static_cast<std::uint8_t>((setup.request_type & 0x60) | (in ? kRequestDeviceToHost : 0) | kRecipientInterface);
    s.index = inner_.interface_number();
    return s;
}

std::expected<std::size_t, TransportError> PcapngRecorder::control_in(const ControlSetup& setup,
                                                                      std::span<std::uint8_t> buffer, Millis timeout) {
    if (!capture_) return inner_.control_in(setup, buffer, timeout);
    const auto length = static_cast<std::uint16_t>(std::min<std::size_t>(buffer.size(), 0xFFFF));
    const auto urb = submit(UrbTransfer::Control, kControlIn, length, {}, setup_packet(on_wire(setup, true), length),
                            capture_->now());
    auto r = inner_.control_in(setup, buffer, timeout);
    const std::size_t n = r ? std::min<std::size_t>(*r, length) : 0;
    complete(urb, UrbTransfer::Control, kControlIn, r ? 0 : urb_status(r.error()), clamp32(n),
             ByteView(buffer.data(), n));
    return r;
}

std::expected<void, TransportError> PcapngRecorder::control_out(const ControlSetup& setup, ByteView data,
                                                                Millis timeout) {
    if (!capture_) return inner_.control_out(setup, data, timeout);
    const auto length = static_cast<std::uint16_t>(std::min<std::size_t>(data.size(), 0xFFFF));
    const ByteView sent = data.first(length);
    const auto urb = submit(UrbTransfer::Control, kControlOut, length, sent,
                            setup_packet(on_wire(setup, false), length), capture_->now());
    auto r = inner_.control_out(setup, data, timeout);
    complete(urb, UrbTransfer::Control, kControlOut, r ? 0 : urb_status(r.error()), r ? length : 0, {});
    return r;
}

std::expected<void, TransportError> PcapngRecorder::clear_halt() {
    if (!capture_) return inner_.clear_halt();
    // A UsbTransport clears every endpoint of the interface with CLEAR_FEATURE(ENDPOINT_HALT)
    // (USB 2.0 clause 9.4.1); the wrapped transport's single result stands for all of them.
    const auto started = capture_->now();
    auto r = inner_.clear_halt();
    std::vector<std::uint8_t> endpoints{device_.bulk_in, device_.bulk_out};
    if (device_.interrupt_in) endpoints.push_back(*device_.interrupt_in);
    for (std::uint8_t ep : endpoints) {
        const ControlSetup setup{kRecipientEndpoint, kClearFeature, 0 /* ENDPOINT_HALT */, ep};
        const auto urb = submit(UrbTransfer::Control, kControlOut, 0, {}, setup_packet(setup, 0), started);
        complete(urb, UrbTransfer::Control, kControlOut, r ? 0 : urb_status(r.error()), 0, {});
    }
    return r;
}

}  // namespace ccidkit::ccid::pcapng

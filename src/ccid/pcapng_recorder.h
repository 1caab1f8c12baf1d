// Recording USB traffic of CCID readers into a pcapng file that Wireshark/tshark decode.
//
//   auto writer = ccid::pcapng::PcapngWriter::create("trace.pcapng");
//   auto capture = std::make_shared<ccid::pcapng::UsbCapture>(std::move(*writer));
//   auto transport = std::make_unique<ccid::pcapng::PcapngRecorder>(std::move(inner), capture, device);
//
// PcapngRecorder is a Transport decorator: every call on it is passed to the wrapped transport
// and recorded as a usbmon URB submission and completion (pcapng_usbmon.h). So that the file
// describes itself, a recorder starts with the standard GET_DESCRIPTOR(DEVICE) and
// GET_DESCRIPTOR(CONFIGURATION) exchanges of the device (rebuilt from RecordedDevice, marked
// with a packet comment): from them Wireshark learns that the bulk endpoints belong to a smart
// card (class 0x0B) interface and hands their payload to its USB CCID dissector, with no
// "decode as" setting needed.
//
// Control transfers are recorded the way a UsbTransport sends them (recipient = interface,
// wIndex = interface number). Recording never changes what the wrapped transport does or
// returns; a write failure stops the recording (see UsbCapture::error()), not the transfers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "ccid/pcapng_usbmon.h"
#include "ccid/pcapng_writer.h"
#include "ccid/transport.h"
#include "ccid/usb/usb_reader_candidate.h"
#include "common/bytes.h"

namespace ccidkit::ccid::pcapng {

using Clock = std::function<std::chrono::microseconds()>;

// Microseconds since the Unix epoch from the system clock.
std::chrono::microseconds system_clock_now();

// One capture file shared by any number of recorders (several readers into one file).
// Thread-safe.
class UsbCapture {
public:
    explicit UsbCapture(std::unique_ptr<PcapngWriter> writer, Clock clock = {});

    std::chrono::microseconds now() const;
    std::uint64_t next_urb_id();
    // Writes one packet; after the first failure every later write is dropped.
    void write(const UsbmonPacket& packet, std::string_view comment = {});
    void flush();

    std::optional<PcapngError> error() const;
    std::uint64_t packets_written() const;

private:
    mutable std::mutex mutex_;
    std::unique_ptr<PcapngWriter> writer_;
    Clock clock_;
    std::uint64_t next_urb_ = 1;
    std::optional<PcapngError> error_;
};

// What the capture says about the device: its bus position, identity and the one interface
// the transport talks to.
struct RecordedDevice {
    std::uint16_t bus = 1;
    std::uint8_t address = 1;
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;
    std::uint8_t interface_number = 0;
    std::uint8_t interface_class = 0x0B;
    std::uint8_t interface_subclass = 0;
    std::uint8_t interface_protocol = 0;
    Bytes class_descriptor;  // the CCID class descriptor (54 bytes), empty when unknown
    std::uint8_t bulk_out = 0x01;
    std::uint8_t bulk_in = 0x82;
    std::optional<std::uint8_t> interrupt_in = 0x83;
    std::uint16_t bulk_max_packet = 64;
    std::uint16_t interrupt_max_packet = 8;
    std::uint8_t interrupt_interval = 16;  // bInterval (ms at full speed)
};

// From what enumeration learned about a libusb reader interface.
RecordedDevice recorded_device(const usb::UsbReaderCandidate& candidate);

// The 18-byte device descriptor (USB 2.0 table 9-8) and the configuration (one interface, its
// class descriptor, its endpoints) the capture's preamble returns.
Bytes device_descriptor_bytes(const RecordedDevice& device);
Bytes configuration_descriptor_bytes(const RecordedDevice& device, std::uint8_t interface_class);

struct RecorderOptions {
    // Start with the GET_DESCRIPTOR exchanges (see above).
    bool announce_device = true;
    // Wireshark hands only class 0x0B interfaces to its CCID dissector: a vendor-class (0xFF)
    // reader is announced as class 0x0B (and the announcement's comment says so).
    bool announce_vendor_class_as_ccid = true;
    // Interrupt reads that end in a timeout without data are the idle card-event poll: leave
    // them out of the capture unless asked.
    bool record_idle_interrupt_polls = false;
};

class PcapngRecorder final : public Transport {
public:
    PcapngRecorder(std::unique_ptr<Transport> inner, std::shared_ptr<UsbCapture> capture, RecordedDevice device,
                   RecorderOptions options = {});
    // Non-owning: `inner` must outlive the recorder.
    PcapngRecorder(Transport& inner, std::shared_ptr<UsbCapture> capture, RecordedDevice device,
                   RecorderOptions options = {});

    std::expected<void, TransportError> bulk_out(ByteView message, Millis timeout) override;
    std::expected<std::size_t, TransportError> bulk_in(std::span<std::uint8_t> buffer, Millis timeout) override;
    std::expected<std::size_t, TransportError> interrupt_in(std::span<std::uint8_t> buffer, Millis timeout) override;
    std::expected<std::size_t, TransportError> control_in(const ControlSetup& setup, std::span<std::uint8_t> buffer,
                                                          Millis timeout) override;
    std::expected<void, TransportError> control_out(const ControlSetup& setup, ByteView data, Millis timeout) override;
    std::expected<void, TransportError> clear_halt() override;
    bool has_interrupt_in() const override { return inner_.has_interrupt_in(); }
    std::uint16_t bulk_in_max_packet() const override { return inner_.bulk_in_max_packet(); }
    std::uint8_t interface_number() const override { return inner_.interface_number(); }
    void cancel() override { inner_.cancel(); }
    // Passed through: the capture records the reply when bulk_in returns it, as before.
    void prepare_bulk_in(std::size_t length) override { inner_.prepare_bulk_in(length); }
    // The claim is the wrapped transport's: a recorded reader can still be shared between
    // processes (api/shared_device.h). Claims are not USB traffic, so nothing is recorded.
    std::expected<void, TransportError> claim() override { return inner_.claim(); }
    void release() override { inner_.release(); }
    bool claimed() const override { return inner_.claimed(); }

    Transport& inner() { return inner_; }
    const RecordedDevice& device() const { return device_; }
    const std::shared_ptr<UsbCapture>& capture() const { return capture_; }

private:
    void announce();
    // Writes the submission of a URB and returns its id.
    std::uint64_t submit(UrbTransfer transfer, std::uint8_t endpoint, std::uint32_t length, ByteView data,
                         const std::optional<std::array<std::uint8_t, 8>>& setup, std::chrono::microseconds at,
                         std::string_view comment = {});
    void complete(std::uint64_t urb, UrbTransfer transfer, std::uint8_t endpoint, std::int32_t status,
                  std::uint32_t length, ByteView data, std::string_view comment = {});
    ControlSetup on_wire(const ControlSetup& setup, bool in) const;

    std::unique_ptr<Transport> owned_;
    Transport& inner_;
    std::shared_ptr<UsbCapture> capture_;
    RecordedDevice device_;
    RecorderOptions options_;
};

}  // namespace ccidkit::ccid::pcapng

// pcapng writer, usbmon packets and the recording Transport decorator. The files are read
// back with a small pcapng reader written here, and, when tshark is installed, decoded by
// Wireshark's USB and USB CCID dissectors: no malformed packet, every CCID message recognised
// with the right bMessageType.
#include "ccid/pcapng_recorder.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ccid/message_types.h"
#include "ccid/reader.h"
#include "ccid/usb_config.h"
#include "sim/reader/reader_sim.h"
#include "sim/reader/shared_reader_sim.h"

using namespace ccidkit;
using namespace ccidkit::ccid;
using namespace ccidkit::ccid::pcapng;

namespace {

// ---- A minimal pcapng reader ----

struct Block {
    std::uint32_t type = 0;
    Bytes body;  // between the two length fields
};

// Splits a little-endian pcapng byte stream into blocks, checking the framing rules.
std::vector<Block> read_blocks(const std::string& bytes) {
    std::vector<Block> blocks;
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
    std::size_t at = 0;
    while (at < bytes.size()) {
        EXPECT_LE(at + 12, bytes.size());
        if (at + 12 > bytes.size()) break;
        const std::uint32_t type = load_le32(p + at);
        const std::uint32_t total = load_le32(p + at + 4);
        EXPECT_EQ(total % 4, 0u) << "block at " << at;
        EXPECT_GE(total, 12u);
        EXPECT_LE(at + total, bytes.size());
        if (total < 12 || total % 4 != 0 || at + total > bytes.size()) break;
        EXPECT_EQ(load_le32(p + at + total - 4), total) << "trailing length of block at " << at;
        blocks.push_back(Block{type, Bytes(p + at + 8, p + at + total - 4)});
        at += total;
    }
    return blocks;
}

struct Packet {
    std::uint64_t timestamp_us = 0;
    std::uint32_t original_length = 0;
    Bytes data;
    std::string comment;
};

Packet parse_epb(const Block& b) {
    Packet pk;
    EXPECT_EQ(b.type, kEnhancedPacketType);
    EXPECT_GE(b.body.size(), 20u);
    if (b.body.size() < 20) return pk;
    const std::uint8_t* p = b.body.data();
    EXPECT_EQ(load_le32(p), 0u);  // interface id
    pk.timestamp_us = (std::uint64_t{load_le32(p + 4)} << 32) | load_le32(p + 8);
    const std::uint32_t captured = load_le32(p + 12);
    pk.original_length = load_le32(p + 16);
    EXPECT_LE(20 + captured, b.body.size());
    pk.data.assign(p + 20, p + 20 + captured);
    std::size_t opt = 20 + (captured + 3) / 4 * 4;
    while (opt + 4 <= b.body.size()) {
        const std::uint16_t code = load_le16(p + opt);
        const std::uint16_t len = load_le16(p + opt + 2);
        if (code == kOptEnd) break;
        if (code == kOptComment) pk.comment.assign(reinterpret_cast<const char*>(p + opt + 4), len);
        opt += 4 + (len + 3u) / 4 * 4;
    }
    return pk;
}

std::vector<Packet> read_packets(const std::string& bytes) {
    auto blocks = read_blocks(bytes);
    std::vector<Packet> packets;
    EXPECT_GE(blocks.size(), 2u);
    if (blocks.size() < 2) return packets;
    EXPECT_EQ(blocks[0].type, kSectionHeaderType);
    EXPECT_EQ(load_le32(blocks[0].body.data()), kByteOrderMagic);
    EXPECT_EQ(blocks[1].type, kInterfaceDescriptionType);
    EXPECT_EQ(load_le16(blocks[1].body.data()), kLinktypeUsbLinuxMmapped);
    for (std::size_t i = 2; i < blocks.size(); ++i) packets.push_back(parse_epb(blocks[i]));
    return packets;
}

// The usbmon header fields the tests look at.
struct Urb {
    std::uint64_t id = 0;
    char event = 0;
    std::uint8_t transfer = 0, endpoint = 0, device = 0;
    std::uint16_t bus = 0;
    std::uint8_t flag_setup = 0, flag_data = 0;
    std::int32_t status = 0;
    std::uint32_t length = 0, captured = 0;
    std::array<std::uint8_t, 8> setup{};
    Bytes data;
};

Urb parse_urb(const Packet& pk) {
    Urb u;
    EXPECT_GE(pk.data.size(), kUsbmonHeaderLength);
    if (pk.data.size() < kUsbmonHeaderLength) return u;
    const std::uint8_t* h = pk.data.data();
    u.id = load_le32(h) | (std::uint64_t{load_le32(h + 4)} << 32);
    u.event = static_cast<char>(h[8]);
    u.transfer = h[9];
    u.endpoint = h[10];
    u.device = h[11];
    u.bus = load_le16(h + 12);
    u.flag_setup = h[14];
    u.flag_data = h[15];
    const std::uint64_t sec = load_le32(h + 16) | (std::uint64_t{load_le32(h + 20)} << 32);
    EXPECT_EQ(sec * 1'000'000 + load_le32(h + 24), pk.timestamp_us) << "header and block timestamps agree";
    u.status = static_cast<std::int32_t>(load_le32(h + 28));
    u.length = load_le32(h + 32);
    u.captured = load_le32(h + 36);
    for (std::size_t i = 0; i < 8; ++i) u.setup[i] = h[40 + i];
    u.data.assign(h + kUsbmonHeaderLength, h + pk.data.size());
    EXPECT_EQ(u.captured, u.data.size());
    return u;
}

std::vector<Urb> read_urbs(const std::string& bytes) {
    std::vector<Urb> urbs;
    for (const auto& pk : read_packets(bytes)) urbs.push_back(parse_urb(pk));
    return urbs;
}

// A deterministic clock: 1 ms per reading.
Clock stepping_clock(std::int64_t start_us = 1'700'000'000'000'000) {
    auto t = std::make_shared<std::int64_t>(start_us);
    return [t] { return std::chrono::microseconds(*t += 1000); };
}

// ---- Block encoders ----

TEST(PcapngBlocks, SectionHeaderIsLittleEndianVersion1WithUnknownLength) {
    const Bytes shb = section_header_block("test");
    ASSERT_EQ(shb.size() % 4, 0u);
    EXPECT_EQ(load_le32(shb.data()), kSectionHeaderType);
    EXPECT_EQ(load_le32(shb.data() + 4), shb.size());
    EXPECT_EQ(load_le32(shb.data() + shb.size() - 4), shb.size());
    EXPECT_EQ(load_le32(shb.data() + 8), kByteOrderMagic);
    EXPECT_EQ(load_le16(shb.data() + 12), 1);
    EXPECT_EQ(load_le16(shb.data() + 14), 0);
    for (std::size_t i = 16; i < 24; ++i) EXPECT_EQ(shb[i], 0xFF);
    // shb_userappl "test", then opt_endofopt.
    EXPECT_EQ(load_le16(shb.data() + 24), kOptShbUserAppl);
    EXPECT_EQ(load_le16(shb.data() + 26), 4);
    EXPECT_EQ(std::string(shb.begin() + 28, shb.begin() + 32), "test");
    EXPECT_EQ(load_le32(shb.data() + 32), 0u);
    EXPECT_EQ(shb.size(), 40u);
}

TEST(PcapngBlocks, InterfaceDescriptionCarriesLinktypeSnaplenAndMicroseconds) {
    const Bytes idb = interface_description_block(220, 1234, "u");
    ASSERT_EQ(idb.size() % 4, 0u);
    EXPECT_EQ(load_le32(idb.data()), kInterfaceDescriptionType);
    EXPECT_EQ(load_le16(idb.data() + 8), 220);
    EXPECT_EQ(load_le32(idb.data() + 12), 1234u);
    // if_name "u" padded to 4, then if_tsresol 6.
    EXPECT_EQ(load_le16(idb.data() + 16), kOptIfName);
    EXPECT_EQ(load_le16(idb.data() + 18), 1);
    EXPECT_EQ(idb[20], 'u');
    EXPECT_EQ(load_le16(idb.data() + 24), kOptIfTsresol);
    EXPECT_EQ(load_le16(idb.data() + 26), 1);
    EXPECT_EQ(idb[28], 6);
}

TEST(PcapngBlocks, EnhancedPacketPadsDataAndSplitsTheTimestamp) {
    const Bytes data{1, 2, 3, 4, 5};
    const std::uint64_t ts = 0x0001'0002'0003'0004ULL;
    const Bytes epb = enhanced_packet_block(0, ts, data, 9, "hi");
    ASSERT_EQ(epb.size() % 4, 0u);
    auto blocks = read_blocks(std::string(epb.begin(), epb.end()));
    ASSERT_EQ(blocks.size(), 1u);
    Packet pk = parse_epb(blocks[0]);
    EXPECT_EQ(pk.timestamp_us, ts);
    EXPECT_EQ(pk.original_length, 9u);
    EXPECT_EQ(pk.data, data);
    EXPECT_EQ(pk.comment, "hi");
}

TEST(PcapngWriter, WritesHeaderBlocksThenPacketsAndCutsAtSnapLength) {
    std::ostringstream out;
    WriterOptions o;
    o.snap_length = 70;
    PcapngWriter w(out, o);
    Bytes big(100, 0xAB);
    ASSERT_TRUE(w.write_packet(std::chrono::microseconds(5), big));
    ASSERT_TRUE(w.write_packet(std::chrono::microseconds(6), Bytes{1}));
    EXPECT_EQ(w.packets_written(), 2u);
    auto packets = read_packets(out.str());
    ASSERT_EQ(packets.size(), 2u);
    EXPECT_EQ(packets[0].data.size(), 70u);
    EXPECT_EQ(packets[0].original_length, 100u);
    EXPECT_EQ(packets[1].data, Bytes{1});
    EXPECT_EQ(packets[1].timestamp_us, 6u);
}

TEST(PcapngWriter, ReportsAFailingStream) {
    std::ostringstream out;
    PcapngWriter w(out);
    out.setstate(std::ios::badbit);
    auto r = w.write_packet(std::chrono::microseconds(1), Bytes{1});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), PcapngError::WriteFailed);
    EXPECT_FALSE(to_string(r.error()).empty());
}

TEST(PcapngWriter, CreateFailsOnAnUnwritablePath) {
    auto w = PcapngWriter::create("/nonexistent-dir-ccidkit/x.pcapng");
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error(), PcapngError::OpenFailed);
}

// ---- usbmon ----

TEST(Usbmon, HeaderLayoutOfABulkOutSubmission) {
    const Bytes data{0x62, 0, 0, 0, 0, 0, 7, 0, 0, 0};
    UsbmonPacket p;
    p.urb_id = 0x1122334455667788ULL;
    p.event = UrbEvent::Submit;
    p.transfer = UrbTransfer::Bulk;
    p.endpoint = 0x01;
    p.device = 5;
    p.bus = 3;
    p.timestamp = std::chrono::microseconds(12'000'345);
    p.status = kUrbInProgress;
    p.urb_length = 10;
    p.data = data;
    const Bytes b = encode_usbmon(p);
    ASSERT_EQ(b.size(), 74u);
    EXPECT_EQ(b[0], 0x88);
    EXPECT_EQ(b[7], 0x11);
    EXPECT_EQ(b[8], 'S');
    EXPECT_EQ(b[9], 3);
    EXPECT_EQ(b[10], 0x01);
    EXPECT_EQ(b[11], 5);
    EXPECT_EQ(load_le16(b.data() + 12), 3);
    EXPECT_EQ(b[14], '-');  // no setup packet
    EXPECT_EQ(b[15], 0);    // data present
    EXPECT_EQ(load_le32(b.data() + 16), 12u);
    EXPECT_EQ(load_le32(b.data() + 24), 345u);
    EXPECT_EQ(static_cast<std::int32_t>(load_le32(b.data() + 28)), -115);
    EXPECT_EQ(load_le32(b.data() + 32), 10u);
    EXPECT_EQ(load_le32(b.data() + 36), 10u);
    EXPECT_EQ(load_le32(b.data() + 56), 0u);  // OUT: no URB_DIR_IN
    EXPECT_EQ(Bytes(b.begin() + 64, b.end()), data);
}

TEST(Usbmon, DirectionFlagsWithoutData) {
    UsbmonPacket in_submit;
    in_submit.endpoint = 0x82;
    in_submit.event = UrbEvent::Submit;
    EXPECT_EQ(encode_usbmon(in_submit)[15], '<');
    EXPECT_EQ(load_le32(encode_usbmon(in_submit).data() + 56), kUrbDirIn);
    UsbmonPacket out_complete;
    out_complete.endpoint = 0x01;
    out_complete.event = UrbEvent::Complete;
    EXPECT_EQ(encode_usbmon(out_complete)[15], '>');
}

TEST(Usbmon, SetupPacketAndStatusMapping) {
    const auto s = setup_packet(ControlSetup{0xA1, 0x03, 0x0000, 0x0002}, 0x0100);
    EXPECT_EQ(s, (std::array<std::uint8_t, 8>{0xA1, 0x03, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01}));
    UsbmonPacket p;
    p.transfer = UrbTransfer::Control;
    p.endpoint = 0x80;
    p.setup = s;
    const Bytes b = encode_usbmon(p);
    EXPECT_EQ(b[14], 0);
    EXPECT_EQ(Bytes(b.begin() + 40, b.begin() + 48), Bytes(s.begin(), s.end()));
    EXPECT_EQ(urb_status(TransportError::Stall), -32);     // -EPIPE
    EXPECT_EQ(urb_status(TransportError::Timeout), -2);    // -ENOENT: killed at the timeout
    EXPECT_EQ(urb_status(TransportError::NoDevice), -19);  // -ENODEV
}

// ---- Recorder ----

TEST(PcapngDescriptors, DeviceAndConfigurationDescribeOneCcidInterface) {
    RecordedDevice d;
    d.vendor_id = 0x1234;
    d.product_id = 0x5678;
    d.interface_number = 1;
    d.class_descriptor = Bytes(54, 0);
    d.class_descriptor[0] = 54;
    d.class_descriptor[1] = 0x21;
    const Bytes dev = device_descriptor_bytes(d);
    ASSERT_EQ(dev.size(), 18u);
    EXPECT_EQ(load_le16(dev.data() + 8), 0x1234);
    EXPECT_EQ(load_le16(dev.data() + 10), 0x5678);
    const Bytes cfg = configuration_descriptor_bytes(d, 0x0B);
    auto parsed = parse_usb_configuration(cfg);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->notes.empty());
    ASSERT_EQ(parsed->interfaces.size(), 1u);
    const auto& alt = parsed->interfaces[0].alt_settings.at(0);
    EXPECT_EQ(alt.bInterfaceNumber, 1);
    EXPECT_EQ(alt.bInterfaceClass, 0x0B);
    EXPECT_EQ(alt.extra, d.class_descriptor);
    ASSERT_EQ(alt.endpoints.size(), 3u);
    EXPECT_EQ(alt.endpoints[0].bEndpointAddress, 0x01);
    EXPECT_EQ(alt.endpoints[1].bEndpointAddress, 0x82);
    EXPECT_EQ(alt.endpoints[2].bEndpointAddress, 0x83);
    EXPECT_EQ(alt.endpoints[2].transfer_type(), UsbTransferType::Interrupt);
}

RecordedDevice device_of(const sim::ReaderSimConfig& c) {
    RecordedDevice d;
    d.bus = 2;
    d.address = 7;
    d.vendor_id = c.vendor_id;
    d.product_id = c.product_id;
    d.bcd_device = c.bcd_device;
    d.interface_number = c.interface_number;
    d.class_descriptor = encode_ccid_descriptor(c.descriptor);
    d.bulk_max_packet = c.max_packet_size;
    if (!c.has_interrupt) d.interrupt_in.reset();
    return d;
}

ReaderOptions fast_options() {
    ReaderOptions o;
    o.control_timeout = Millis{300};
    o.power_on_timeout = Millis{1000};
    o.drain_read_timeout = Millis{2};
    return o;
}

// Runs a small session (open, power on, one APDU, a card removal event, power off) through a
// recorder and returns the capture bytes.
std::string record_session(sim::ReaderSimConfig config, RecorderOptions options = {}) {
    std::ostringstream out;
    auto capture = std::make_shared<UsbCapture>(std::make_unique<PcapngWriter>(out), stepping_clock());
    auto owned = std::make_unique<sim::ReaderSim>(config);
    sim::ReaderSim* sim = owned.get();
    sim->insert_card(0, sim::SimCard::t1_default());
    auto recorder = std::make_unique<PcapngRecorder>(std::move(owned), capture, device_of(config), options);
    {
        auto reader = Reader::open(std::move(recorder), config.descriptor, fast_options());
        EXPECT_TRUE(reader) << (reader ? "" : describe(reader.error()));
        if (!reader) return out.str();
        Slot* slot = (*reader)->slot(0);
        EXPECT_TRUE(slot->power_on());
        auto r = slot->transmit(Bytes{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00, 0x00});
        EXPECT_TRUE(r) << (r ? "" : describe(r.error()));
        sim->remove_card(0);
        auto events = (*reader)->poll_events(Millis{200});
        EXPECT_TRUE(events);
        (void)slot->power_off();  // the card is gone: either outcome is fine
    }
    capture->flush();
    EXPECT_FALSE(capture->error());
    return out.str();
}

TEST(PcapngRecorder, StartsWithTheDescriptorExchangesThenPairsEverySubmitWithItsCompletion) {
    const auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    const auto urbs = read_urbs(record_session(config));
    ASSERT_GT(urbs.size(), 8u);
    // GET_DESCRIPTOR(DEVICE), GET_DESCRIPTOR(CONFIGURATION).
    EXPECT_EQ(urbs[0].event, 'S');
    EXPECT_EQ(urbs[0].transfer, 2);
    EXPECT_EQ(urbs[0].endpoint, 0x80);
    EXPECT_EQ(urbs[0].flag_setup, 0);
    EXPECT_EQ(urbs[0].setup[1], 0x06);
    EXPECT_EQ(urbs[0].setup[3], 0x01);
    EXPECT_EQ(urbs[1].event, 'C');
    EXPECT_EQ(urbs[1].id, urbs[0].id);
    EXPECT_EQ(urbs[1].data.size(), 18u);
    EXPECT_EQ(urbs[2].setup[3], 0x02);
    auto cfg = parse_usb_configuration(urbs[3].data);
    ASSERT_TRUE(cfg);
    EXPECT_EQ(cfg->interfaces.at(0).alt_settings.at(0).bInterfaceClass, 0x0B);

    // Every submission completes exactly once, in order per URB; all on bus 2, device 7.
    std::map<std::uint64_t, int> open;
    for (const Urb& u : urbs) {
        EXPECT_EQ(u.bus, 2);
        EXPECT_EQ(u.device, 7);
        if (u.event == 'S') {
            EXPECT_EQ(u.status, kUrbInProgress);
            EXPECT_TRUE(open.emplace(u.id, 1).second) << "URB id reused";
        } else {
            ASSERT_EQ(u.event, 'C');
            EXPECT_EQ(open.erase(u.id), 1u) << "completion without submission";
        }
    }
    EXPECT_TRUE(open.empty());
}

// The claim goes through to the recorded transport (a shared reader hands it between
// processes), and leaves no trace in the capture.
TEST(PcapngRecorder, ClaimAndReleaseReachTheRecordedTransport) {
    const auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    sim::SharedReaderSim shared(config);
    std::ostringstream out;
    auto capture = std::make_shared<UsbCapture>(std::make_unique<PcapngWriter>(out), stepping_clock());
    RecorderOptions options;
    options.announce_device = false;
    PcapngRecorder recorder(shared.open_handle(), capture, device_of(config), options);
    EXPECT_FALSE(recorder.claimed()) << "a handle starts unclaimed";
    ASSERT_TRUE(recorder.claim());
    EXPECT_TRUE(recorder.claimed());
    EXPECT_TRUE(shared.claimed());
    auto other = shared.open_handle();
    EXPECT_FALSE(other->claim()) << "claimed through the recorder: busy for the others";
    recorder.release();
    EXPECT_FALSE(recorder.claimed());
    EXPECT_FALSE(shared.claimed());
    ASSERT_TRUE(other->claim()) << "released for real: another handle can claim";
    EXPECT_FALSE(recorder.claim());
    other->release();
    capture->flush();
    EXPECT_TRUE(read_urbs(out.str()).empty());
}

TEST(PcapngRecorder, BulkPayloadsAreTheCcidMessages) {
    const auto config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    const auto urbs = read_urbs(record_session(config));
    std::vector<std::uint8_t> out_types, in_types;
    bool saw_notify = false;
    for (const Urb& u : urbs) {
        if (u.transfer == 3 && u.endpoint == 0x01 && u.event == 'S') {
            ASSERT_GE(u.data.size(), 10u);
            EXPECT_EQ(u.data.size(), 10u + load_le32(u.data.data() + 1));
            out_types.push_back(u.data[0]);
        }
        if (u.transfer == 3 && u.endpoint == 0x82 && u.event == 'C' && u.status == 0) {
            ASSERT_GE(u.data.size(), 10u);
            in_types.push_back(u.data[0]);
        }
        if (u.transfer == 1 && u.event == 'C' && u.status == 0) {
            EXPECT_EQ(u.endpoint, 0x83);
            EXPECT_EQ(u.data.at(0), 0x50);  // RDR_to_PC_NotifySlotChange
            saw_notify = true;
        }
    }
    auto has = [](const std::vector<std::uint8_t>& v, std::uint8_t t) {
        return std::find(v.begin(), v.end(), t) != v.end();
    };
    EXPECT_TRUE(has(out_types, 0x62));  // PC_to_RDR_IccPowerOn
    EXPECT_TRUE(has(out_types, 0x6F));  // PC_to_RDR_XfrBlock
    EXPECT_TRUE(has(in_types, 0x80));   // RDR_to_PC_DataBlock
    EXPECT_TRUE(has(in_types, 0x81));   // RDR_to_PC_SlotStatus
    EXPECT_TRUE(saw_notify);
}

TEST(PcapngRecorder, IdleInterruptPollsAreLeftOutUnlessAsked) {
    sim::ReaderSimConfig config = sim::make_reader_config(ExchangeLevel::ShortApdu);
    std::ostringstream out;
    auto capture = std::make_shared<UsbCapture>(std::make_unique<PcapngWriter>(out), stepping_clock());
    sim::ReaderSim sim(config);
    std::array<std::uint8_t, 8> buf{};
    {
        PcapngRecorder quiet(sim, capture, device_of(config));
        (void)quiet.interrupt_in(buf, Millis{1});  // nothing pending: times out
    }
    const auto quiet_count = read_urbs(out.str()).size();
    EXPECT_EQ(quiet_count, 4u);  // the two descriptor exchanges only
    RecorderOptions verbose;
    verbose.record_idle_interrupt_polls = true;
    verbose.announce_device = false;
    PcapngRecorder loud(sim, capture, device_of(config), verbose);
    (void)loud.interrupt_in(buf, Millis{1});
    const auto urbs = read_urbs(out.str());
    ASSERT_EQ(urbs.size(), quiet_count + 2);
    EXPECT_EQ(urbs.back().status, -2);  // killed at the timeout
}

TEST(PcapngRecorder, FailedTransfersCarryTheErrorStatus) {
    sim::ReaderSimConfig config = sim::make_reader_config(ExchangeLevel::Tpdu);
    std::ostringstream out;
    auto capture = std::make_shared<UsbCapture>(std::make_unique<PcapngWriter>(out), stepping_clock());
    sim::ReaderSim sim(config);
    PcapngRecorder rec(sim, capture, device_of(config));
    sim.disconnect();
    const Bytes msg{0x65, 0, 0, 0, 0, 0, 1, 0, 0, 0};
    auto r = rec.bulk_out(msg, Millis{10});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), TransportError::NoDevice);
    const auto urbs = read_urbs(out.str());
    ASSERT_GE(urbs.size(), 2u);
    EXPECT_EQ(urbs.back().event, 'C');
    EXPECT_EQ(urbs.back().status, -19);
    EXPECT_EQ(urbs.back().length, 0u);
}

TEST(PcapngRecorder, ControlRequestsAreAddressedToTheInterface) {
    sim::ReaderSimConfig config = sim::make_reader_config(ExchangeLevel::Tpdu);
    config.interface_number = 1;
    config.data_rates_bps = {9600, 19200};
    std::ostringstream out;
    auto capture = std::make_shared<UsbCapture>(std::make_unique<PcapngWriter>(out), stepping_clock());
    sim::ReaderSim sim(config);
    RecorderOptions o;
    o.announce_device = false;
    PcapngRecorder rec(sim, capture, device_of(config), o);
    std::array<std::uint8_t, 64> buf{};
    auto n = rec.control_in(ControlSetup{0xA1, 0x03, 0, 1}, buf, Millis{100});
    ASSERT_TRUE(n);
    const auto urbs = read_urbs(out.str());
    ASSERT_EQ(urbs.size(), 2u);
    EXPECT_EQ(urbs[0].setup[0], 0xA1);
    EXPECT_EQ(load_le16(urbs[0].setup.data() + 4), 1);   // wIndex = interface number
    EXPECT_EQ(load_le16(urbs[0].setup.data() + 6), 64);  // wLength = buffer size
    EXPECT_EQ(urbs[1].data.size(), *n);
    EXPECT_EQ(load_le32(urbs[1].data.data()), 9600u);
}

TEST(PcapngRecorder, VendorClassReaderIsAnnouncedAsCcidWithAComment) {
    sim::ReaderSimConfig config = sim::make_reader_config(ExchangeLevel::Tpdu);
    std::ostringstream out;
    auto capture = std::make_shared<UsbCapture>(std::make_unique<PcapngWriter>(out), stepping_clock());
    sim::ReaderSim sim(config);
    RecordedDevice d = device_of(config);
    d.interface_class = 0xFF;
    PcapngRecorder rec(sim, capture, d);
    const auto packets = read_packets(out.str());
    ASSERT_EQ(packets.size(), 4u);
    EXPECT_NE(packets[0].comment.find("0xFF"), std::string::npos);
    auto cfg = parse_usb_configuration(parse_urb(packets[3]).data);
    ASSERT_TRUE(cfg);
    EXPECT_EQ(cfg->interfaces.at(0).alt_settings.at(0).bInterfaceClass, 0x0B);
}

// ---- Wireshark ----

// Output and error output of a shell command, without tshark's warning about running as root.
std::string run(const std::string& command) {
    std::string output;
    const std::string filtered = "(" + command + ") 2>&1 | grep -v 'Running as user'";
    FILE* pipe = popen(filtered.c_str(), "r");
    if (!pipe) return output;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
    pclose(pipe);
    return output;
}

bool have_tshark() { return std::system("tshark --version >/dev/null 2>&1") == 0; }

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

class TsharkDecode : public ::testing::TestWithParam<ExchangeLevel> {};

TEST_P(TsharkDecode, NoMalformedPacketsAndEveryCcidMessageRecognised) {
    if (!have_tshark()) GTEST_SKIP() << "tshark is not installed (Debian package tshark)";
    const std::string bytes = record_session(sim::make_reader_config(GetParam()));
    const auto path =
        std::filesystem::temp_directory_path() / ("ccidkit_pcapng_test_" + std::to_string(::getpid()) + ".pcapng");
    {
        std::ofstream f(path, std::ios::binary);
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    const std::string file = path.string();
    // -n: no name resolution.
    const std::string base = "tshark -n -r '" + file + "' ";

    EXPECT_EQ(run(base + "-Y '_ws.malformed || _ws.expert.severity >= error'"), "");

    // The descriptor preamble told Wireshark the class of every non-control endpoint, and the
    // CCID dissector decoded the bulk messages: one line per frame "type<TAB>class<TAB>msg".
    std::vector<std::string> got;
    bool classified = false;
    for (const auto& line : lines(run(base + "-T fields -e usb.transfer_type -e usb.bInterfaceClass "
                                             "-e usbccid.bMessageType"))) {
        std::istringstream fields(line);
        std::string transfer, cls, type;
        std::getline(fields, transfer, '\t');
        std::getline(fields, cls, '\t');
        std::getline(fields, type, '\t');
        if (transfer == "0x02") continue;  // control
        EXPECT_EQ(cls, "0x0b") << line;
        classified = true;
        if (!type.empty()) got.push_back(type);
    }
    EXPECT_TRUE(classified);

    // Our own account of the CCID messages, in file order: bulk OUT submissions and successful
    // bulk IN completions. Wireshark 4.0 hands only bulk transfers to its CCID dissector;
    // later versions may decode the interrupt pipe (NotifySlotChange) too.
    std::vector<std::string> bulk_only, with_interrupts;
    for (const Urb& u : read_urbs(bytes)) {
        const bool in = (u.endpoint & 0x80) != 0;
        const bool bulk_msg = u.transfer == 3 && ((u.event == 'S' && !in) || (u.event == 'C' && in && !u.data.empty()));
        const bool interrupt_msg = u.transfer == 1 && u.event == 'C' && !u.data.empty();
        if (!bulk_msg && !interrupt_msg) continue;
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", u.data[0]);
        if (bulk_msg) bulk_only.push_back(hex);
        with_interrupts.push_back(hex);
    }
    ASSERT_FALSE(bulk_only.empty());
    ASSERT_NE(bulk_only.size(), with_interrupts.size()) << "the session has card events";
    EXPECT_TRUE(got == bulk_only || got == with_interrupts) << ::testing::PrintToString(got);
    if (!HasFailure()) std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Levels, TsharkDecode,
                         ::testing::Values(ExchangeLevel::Tpdu, ExchangeLevel::ShortApdu, ExchangeLevel::ExtendedApdu));

}  // namespace

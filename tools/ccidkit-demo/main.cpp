// The main job in one command (`make run`): find a reader, power the card, decode its ATR and
// exchange a few APDUs. A USB CCID reader is used when one is plugged in; otherwise a virtual
// reader (the device-side CCID simulator holding a T=1 card in slot 0 and a T=0 card in slot 1)
// stands in, driven by exactly the same host code.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ccid/descriptor_report.h"
#include "ccid/quirks_lookup.h"
#include "ccid/reader.h"
#include "ccid/usb/libusb_transport.h"
#include "ccid/usb/usb_enumerate.h"
#include "common/bytes.h"
#include "protocol/atr.h"
#include "protocol/atr_explain.h"
#include "sim/card/sim_card.h"
#include "sim/reader/reader_config.h"
#include "sim/reader/reader_sim.h"

using namespace ccidkit;

namespace {

struct OpenedReader {
    std::unique_ptr<ccid::Reader> reader;
    std::string name;
};

std::unique_ptr<ccid::Reader> open_reader(std::unique_ptr<ccid::Transport> transport, ByteView descriptor_bytes,
                                          std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd) {
    auto descriptor = ccid::decode_ccid_descriptor(descriptor_bytes);
    if (!descriptor) {
        std::printf("  cannot decode the CCID descriptor: %s\n", std::string(ccid::to_string(descriptor.error())).c_str());
        return nullptr;
    }
    ccid::ReaderOptions options;
    options.quirks = ccid::quirks_for(vid, pid, bcd);
    options.bcd_device = bcd;
    auto reader = ccid::Reader::open(std::move(transport), *descriptor, options);
    if (!reader) {
        std::printf("  cannot open the reader: %s\n", ccid::describe(reader.error()).c_str());
        return nullptr;
    }
    return std::move(*reader);
}

std::optional<OpenedReader> open_usb_reader() {
    ccid::usb::EnumerateOptions options;
    options.is_vendor_class_reader = [](std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd) {
        return ccid::is_vendor_class_reader(vid, pid, bcd);
    };
    auto found = ccid::usb::enumerate_readers(options);
    if (!found || found->empty()) return std::nullopt;
    for (const auto& candidate : *found) {
        std::string name = candidate.manufacturer + " " + candidate.product;
        std::printf("USB reader %04X:%04X %s\n", candidate.vendor_id, candidate.product_id, name.c_str());
        auto transport = ccid::usb::open_transport(candidate);
        if (!transport) {
            std::printf("  cannot open: %s\n", std::string(ccid::to_string(transport.error())).c_str());
            continue;
        }
        auto reader = open_reader(std::move(*transport), candidate.class_descriptor, candidate.vendor_id,
                                  candidate.product_id, candidate.bcd_device);
        if (reader) return OpenedReader{std::move(reader), name};
    }
    return std::nullopt;
}

OpenedReader open_virtual_reader() {
    auto config = sim::make_reader_config(ccid::ExchangeLevel::Tpdu, 2);
    const Bytes descriptor = ccid::encode_ccid_descriptor(config.descriptor);
    const std::string name = config.product;
    auto device = std::make_unique<sim::ReaderSim>(config);
    device->insert_card(0, sim::SimCard::t1_default());
    device->insert_card(1, sim::SimCard::t0_default());
    auto reader = open_reader(std::move(device), descriptor, config.vendor_id, config.product_id, config.bcd_device);
    return OpenedReader{std::move(reader), name + " (virtual)"};
}

void print_descriptor_summary(const ccid::Reader& reader) {
    const Bytes raw = ccid::encode_ccid_descriptor(reader.caps().descriptor);
    auto parsed = ccid::parse_ccid_descriptor(raw);
    if (!parsed) return;
    const auto lines = ccid::describe_parsed_descriptor(*parsed);
    std::printf("CCID class descriptor (%zu lines; `ccidctl info` shows all):\n", lines.size());
    for (std::size_t i = 0; i < lines.size() && i < 8; ++i) std::printf("  %s\n", lines[i].c_str());
}

bool exchange(ccid::Slot& slot, const char* label, const Bytes& apdu) {
    std::printf("  > %-28s %s\n", label, to_hex(apdu).c_str());
    auto response = slot.transmit(apdu);
    if (!response) {
        std::printf("  ! %s\n", ccid::describe(response.error()).c_str());
        return false;
    }
    const Bytes& r = *response;
    std::string shown = r.size() > 34 ? to_hex(ByteView(r).first(32)) + " ..." : to_hex(r);
    std::printf("  < %-28s %s\n", "", shown.c_str());
    if (r.size() < 2) return false;
    // T=0: like pcsc-lite, the stack hands 61XX to the application, which fetches the data.
    if (r[r.size() - 2] == 0x61) {
        return exchange(slot, "GET RESPONSE", Bytes{0x00, 0xC0, 0x00, 0x00, r[r.size() - 1]});
    }
    return true;
}

bool run_slot(ccid::Slot& slot) {
    std::printf("\nSlot %u: powering the card on\n", slot.index());
    auto session = slot.power_on();
    if (!session) {
        std::printf("  ! %s\n", ccid::describe(session.error()).c_str());
        return false;
    }
    std::printf("  ATR %s  (protocol T=%u%s)\n", to_hex(session->atr).c_str(), session->protocol,
                session->pps_exchanged ? ", PPS exchanged" : "");
    const auto parsed = proto::parse_atr(session->atr);
    std::printf("%s", proto::render_atr_explanation(proto::explain_atr(parsed)).c_str());

    bool ok = true;
    ok &= exchange(slot, "SELECT MF", Bytes{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00});
    ok &= exchange(slot, "ECHO 16 bytes", Bytes{0x80, 0x10, 0x00, 0x00, 0x10, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                                0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10});
    ok &= exchange(slot, "PATTERN 200 bytes", Bytes{0x80, 0x12, 0x00, 0x00, 0xC8});
    if (auto off = slot.power_off(); !off) {
        std::printf("  ! power off: %s\n", ccid::describe(off.error()).c_str());
        ok = false;
    }
    return ok;
}

}  // namespace

int main() {
    std::printf("ccidkit demo: in-process CCID reader stack, no pcscd\n\n");
    auto opened = open_usb_reader();
    if (!opened) {
        std::printf("No USB CCID reader found: using a virtual reader (simulated CCID reader,\n"
                    "T=1 card in slot 0, T=0 card in slot 1).\n");
        opened = open_virtual_reader();
    }
    if (!opened->reader) return 2;
    std::printf("\nReader: %s, %u slot(s)\n", opened->name.c_str(), opened->reader->slot_count());
    print_descriptor_summary(*opened->reader);

    bool ok = true;
    for (unsigned i = 0; i < opened->reader->slot_count(); ++i) {
        if (!opened->reader->card_present(i)) {
            std::printf("\nSlot %u: no card\n", i);
            continue;
        }
        ok &= run_slot(*opened->reader->slot(i));
    }
    std::printf("\n%s\n", ok ? "Done: every exchange succeeded." : "Done, with errors (see above).");
    return ok ? 0 : 4;
}

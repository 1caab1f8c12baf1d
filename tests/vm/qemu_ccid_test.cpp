// ccidkit against an implementation it was not written with: QEMU's emulated USB CCID reader
// (-device usb-ccid, hw/usb/dev-smartcard-reader.c) with an emulated CAC card from libcacard
// (ccid-card-emulated). Runs only in a VM booted with `run-in-vm.sh --qemu-ccid`, which sets
// CCIDKIT_VM_QEMU_CCID=1 for it (test-usb.sh does); elsewhere every test skips.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "ccid/descriptor_meaning.h"
#include "ccid/message_interrupts.h"
#include "protocol/atr.h"
#include "vm_reader.h"

namespace ccidkit::vmtest {
namespace {

using ccid::Millis;

constexpr std::uint16_t kQemuVid = 0x08E6;  // Gemalto, as QEMU's reader presents itself
constexpr std::uint16_t kQemuPid = 0x4433;

#define QEMU_CCID_ONLY()                                                                              \
    do {                                                                                              \
        CCIDKIT_VM_ONLY();                                                                            \
        if (std::getenv("CCIDKIT_VM_QEMU_CCID") == nullptr)                                           \
            GTEST_SKIP() << "needs QEMU's usb-ccid (tests/vm/run-in-vm.sh --qemu-ccid)";              \
    } while (0)

std::optional<ccid::usb::UsbReaderCandidate> qemu_reader() {
    // QEMU's reader appears about 1.5 s after uhci_hcd loads.
    return wait_for_reader(kQemuVid, kQemuPid, Millis{15000});
}

TEST(QemuCcid, DescriptorIsReadAndUnderstood) {
    QEMU_CCID_ONLY();
    auto c = qemu_reader();
    ASSERT_TRUE(c) << "QEMU's usb-ccid did not show up";
    EXPECT_EQ(c->interface_class, 0x0B);
    ASSERT_TRUE(c->bulk_in && c->bulk_out && c->interrupt_in);
    EXPECT_EQ(c->bulk_in->max_packet_size, 64);  // full speed on UHCI
    auto d = ccid::decode_ccid_descriptor(c->class_descriptor);
    ASSERT_TRUE(d) << to_hex(c->class_descriptor);
    EXPECT_EQ(d->dwProtocols, 0x1u) << "T=0 only";
    EXPECT_EQ(ccid::exchange_level(d->dwFeatures), ccid::ExchangeLevel::Tpdu);
    std::printf("[   INFO   ] QEMU usb-ccid: %s / %s, descriptor %s\n", c->manufacturer.c_str(), c->product.c_str(),
                to_hex(c->class_descriptor).c_str());
}

TEST(QemuCcid, RawPowerOnGivesAParsableT0Atr) {
    QEMU_CCID_ONLY();
    auto c = qemu_reader();
    ASSERT_TRUE(c);
    auto t = open_candidate(*c);
    ASSERT_TRUE(t);
    const std::size_t max = max_message(*c);
    auto status = transact(*t, ccid::pc_to_rdr::GetSlotStatus{0, 1}, max);
    ASSERT_TRUE(status) << status.error();
    EXPECT_NE(ccid::status_of(*status).icc(), ccid::IccStatus::Absent);
    auto on = transact(*t, ccid::pc_to_rdr::IccPowerOn{0, 2, ccid::PowerSelect::Automatic}, max);
    ASSERT_TRUE(on) << on.error();
    const auto* block = std::get_if<ccid::rdr_to_pc::DataBlock>(&*on);
    ASSERT_NE(block, nullptr);
    ASSERT_TRUE(block->status.ok());
    auto atr = proto::parse_atr(block->abData);
    ASSERT_TRUE(atr.ok()) << to_hex(block->abData);
    std::printf("[   INFO   ] QEMU emulated card ATR: %s\n", to_hex(block->abData).c_str());
    auto off = transact(*t, ccid::pc_to_rdr::IccPowerOff{0, 3}, max);
    ASSERT_TRUE(off) << off.error();
}

TEST(QemuCcid, DriverExchangesT0ApdusWithTheEmulatedCacCard) {
    QEMU_CCID_ONLY();
    auto c = qemu_reader();
    ASSERT_TRUE(c);
    ccid::ReaderOptions options = vm_reader_options();
    options.auto_get_response = true;  // T=0: let the driver fetch 61XX responses
    auto reader = open_driver(*c, options);
    ASSERT_TRUE(reader);
    auto session = reader->slot(0)->power_on();
    ASSERT_TRUE(session) << ccid::describe(session.error());
    EXPECT_EQ(session->protocol, 0);

    // SELECT the first CAC PKI applet (GSC-IS 2.1), then GET PROPERTIES on it.
    const Bytes select_pki{0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x79, 0x01, 0x00};
    auto selected = reader->slot(0)->transmit(select_pki);
    ASSERT_TRUE(selected) << ccid::describe(selected.error());
    ASSERT_GE(selected->size(), 2u);
    // A case 3 command: libcacard answers 61XX (FCI available), which the driver passes on
    // as it is (ISO/IEC 7816-3 12.2.3: no Le, so no GET RESPONSE on the caller's behalf).
    const std::uint8_t sw1 = selected->at(selected->size() - 2);
    EXPECT_TRUE(sw1 == 0x90 || sw1 == 0x61) << to_hex(*selected);

    const Bytes get_properties{0x80, 0x56, 0x01, 0x00, 0x00};
    auto properties = reader->slot(0)->transmit(get_properties);
    ASSERT_TRUE(properties) << ccid::describe(properties.error());
    ASSERT_GE(properties->size(), 3u) << "GET PROPERTIES returned no data: " << to_hex(*properties);
    EXPECT_EQ(properties->at(properties->size() - 2), 0x90) << to_hex(*properties);

    // An applet that is not there.
    const Bytes select_missing{0x00, 0xA4, 0x04, 0x00, 0x05, 0xD2, 0x76, 0x00, 0x01, 0x99};
    auto missing = reader->slot(0)->transmit(select_missing);
    ASSERT_TRUE(missing) << ccid::describe(missing.error());
    ASSERT_EQ(missing->size(), 2u) << to_hex(*missing);
    EXPECT_EQ(missing->at(0), 0x6A) << to_hex(*missing);

    // A run of APDUs, timed (UHCI at full speed: 1 ms frames).
    const auto start = Clock::now();
    int n = 0;
    for (; n < 50; ++n) {
        auto r = reader->slot(0)->transmit(select_pki);
        ASSERT_TRUE(r) << ccid::describe(r.error());
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("[ MEASURE  ] QEMU usb-ccid, SELECT through the driver: %.0f APDU/s\n", n / seconds);
}

}  // namespace
}  // namespace ccidkit::vmtest

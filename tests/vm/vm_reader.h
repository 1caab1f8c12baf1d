// Host-side shortcuts for the VM tests: start a gadget and wait until the kernel enumerated
// it, open it through libusb, and exchange raw CCID messages with the codec.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ccid/descriptor.h"
#include "ccid/message_commands.h"
#include "ccid/message_responses.h"
#include "ccid/reader.h"
#include "ccid/usb/libusb_transport.h"
#include "gadget_process.h"

namespace ccidkit::vmtest {

struct PluggedGadget {
    std::unique_ptr<GadgetProcess> process;
    ccid::usb::UsbReaderCandidate candidate;
    explicit operator bool() const { return process != nullptr; }
};

// Starts ccid-gadget with `args` and waits for the reader to appear on the bus. Fails the
// current test (and returns an empty PluggedGadget) when either does not happen.
inline PluggedGadget plug_gadget(std::vector<std::string> args, std::uint16_t vid = kGadgetVid,
                                 std::uint16_t pid = kGadgetPid) {
    PluggedGadget g;
    std::string error;
    g.process = GadgetProcess::start(std::move(args), error);
    EXPECT_TRUE(g.process) << error;
    if (!g.process) return g;
    auto found = wait_for_reader(vid, pid);
    EXPECT_TRUE(found) << "the gadget never showed up on the bus";
    if (!found) {
        g.process.reset();
        return g;
    }
    g.candidate = *found;
    return g;
}

inline std::unique_ptr<ccid::usb::UsbTransport> open_candidate(const ccid::usb::UsbReaderCandidate& c) {
    auto t = ccid::usb::open_transport(c);
    EXPECT_TRUE(t) << "open_transport: " << (t ? "" : std::string(ccid::to_string(t.error())));
    return t ? std::move(*t) : nullptr;
}

inline std::size_t max_message(const ccid::usb::UsbReaderCandidate& c) {
    auto d = ccid::decode_ccid_descriptor(c.class_descriptor);
    return d ? d->dwMaxCCIDMessageLength : 271;
}

// One command, one reply, with the raw codec (no driver).
inline std::expected<ccid::Response, std::string> transact(ccid::Transport& t, const ccid::Command& command,
                                                            std::size_t max_message_length,
                                                            ccid::Millis timeout = ccid::Millis{10000}) {
    if (auto w = t.bulk_out(ccid::encode(command), timeout); !w) {
        return std::unexpected("bulk_out: " + std::string(ccid::to_string(w.error())));
    }
    std::vector<std::uint8_t> buffer(70 * 1024);
    auto n = t.bulk_in(buffer, timeout);
    if (!n) return std::unexpected("bulk_in: " + std::string(ccid::to_string(n.error())));
    auto r = ccid::decode_response(ByteView(buffer).first(*n), max_message_length);
    if (!r) return std::unexpected("decode_response failed on " + to_hex(ByteView(buffer).first(*n)));
    return *r;
}

inline ccid::ReaderOptions vm_reader_options() {
    ccid::ReaderOptions o;
    o.poll_interval = ccid::Millis{100};
    return o;
}

// Opens the driver on the candidate and powers the card in slot 0 on.
inline std::unique_ptr<ccid::Reader> open_driver(const ccid::usb::UsbReaderCandidate& c,
                                                 ccid::ReaderOptions options = vm_reader_options()) {
    auto transport = open_candidate(c);
    if (!transport) return nullptr;
    auto descriptor = ccid::decode_ccid_descriptor(c.class_descriptor);
    EXPECT_TRUE(descriptor) << "class descriptor of " << to_hex(c.class_descriptor);
    if (!descriptor) return nullptr;
    options.bcd_device = c.bcd_device;
    auto reader = ccid::Reader::open(std::move(transport), *descriptor, options);
    EXPECT_TRUE(reader) << (reader ? "" : ccid::describe(reader.error()));
    return reader ? std::move(*reader) : nullptr;
}

}  // namespace ccidkit::vmtest

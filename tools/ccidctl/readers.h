// Where ccidctl's readers come from, how --reader picks one, and how it is opened with the host
// CCID driver (ccid::Reader) — on USB through libusb, or simulated (--virtual).
//
// --virtual SPEC: a comma-separated list of simulated readers, each KIND[:CARD] (syntax in
// sim/virtual_spec.h; file=PATH takes any descriptor file of descriptor_source.h), e.g.
// `--virtual short:t1,tpdu:none`. Only these readers are used. socket=PATH items are readers
// a ccid-simd process serves: opened through its socket (claimed, released before closing),
// never replaced by a local simulator; one whose server is absent is left out with a warning.
//
// Without --virtual, the readers are those the SCard API lists, in its order and under its
// names: $CCID_VIRTUAL_READERS (parsed by the library's own parser, file=PATH included), then
// the USB readers unless $CCIDKIT_USB is "0". One difference: a USB reader that cannot be
// opened is listed here (with the reason), while the SCard API leaves it out, which shifts
// the index (RR) of the readers after it there.
//
// With `trace`, every transport opened here is wrapped in a pcapng recorder.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ccid/quirks.h"
#include "ccid/reader.h"
#include "ccid/reader_error.h"
#include "ccid/usb/usb_reader_candidate.h"
#include "command.h"
#include "common/bytes.h"
#include "exit_codes.h"
#include "sim/reader/reader_config.h"
#include "sim/virtual_spec.h"

namespace ccidkit::sim {
class ReaderSim;
}

namespace ccidkit::ccidctl {

// The spec syntax and its parser are shared with the SCard API ($CCID_VIRTUAL_READERS).
using VirtualReaderSpec = sim::VirtualReaderSpec;

// sim::parse_virtual_spec, with file=PATH read by load_descriptor_file (every format
// `ccidctl info --descriptor-file` accepts).
std::expected<std::vector<VirtualReaderSpec>, std::string> parse_virtual_spec(std::string_view spec);

struct ReaderInfo {
    std::string name;      // PC/SC-style: "Vendor Model [Interface] (Serial) RR 00"
    std::string location;  // "usb:1-1.4:1.0" or "virtual:0"
    std::uint16_t vendor_id = 0, product_id = 0, bcd_device = 0;
    std::string manufacturer, product, serial, interface_name;
    std::uint8_t interface_number = 0;
    std::uint8_t interface_class = 0x0B;
    std::uint8_t interface_protocol = 0;
    Bytes class_descriptor;
    std::optional<ccid::usb::UsbReaderCandidate> usb;  // USB readers
    std::optional<int> usb_fd;                         // --fd: opened through this descriptor
    std::optional<VirtualReaderSpec> simulated;        // --virtual readers
};

struct ReaderFailure {
    ExitCode code = ExitCode::IoError;
    std::string message;
};

// A USB interface as ccidctl shows it; `index` is the RR of the PC/SC-style name.
ReaderInfo reader_info_from_usb(const ccid::usb::UsbReaderCandidate& candidate, std::uint8_t index);

// The simulated readers: those of --virtual, else those of $CCID_VIRTUAL_READERS (possibly
// none), named with the indexes 0..N-1 they keep in list_readers.
std::expected<std::vector<ReaderInfo>, ReaderFailure> virtual_readers(const Context& ctx);

// Whether USB readers are looked for: not with --fd or --virtual, nor with CCIDKIT_USB=0.
bool usb_wanted(const Context& ctx);

// The readers that do not come and go (what `monitor` opens before watching USB hotplug):
// --fd's reader alone, else virtual_readers. Every command must honour --fd and --virtual the
// same way, so list_readers and monitor both start from here.
std::expected<std::vector<ReaderInfo>, ReaderFailure> fixed_readers(const Context& ctx);

// Every reader interface: the simulated ones first, then (usb_wanted) the USB ones (class 0Bh,
// and vendor-class interfaces of readers the quirks table knows), named in that order.
std::expected<std::vector<ReaderInfo>, ReaderFailure> list_readers(const Context& ctx);

// Applies --reader (index, exact name, VID:PID, usb:LOCATION prefix, unique part of a name);
// without it, the first reader. NoReader when nothing (or more than one reader) matches.
std::expected<ReaderInfo, ReaderFailure> select_reader(const Context& ctx, const std::vector<ReaderInfo>& readers);
// list_readers + select_reader.
std::expected<ReaderInfo, ReaderFailure> find_reader(const Context& ctx);

// The quirks that apply to the reader (built-in table, then the user's file).
ccid::Quirks quirks_of(const ReaderInfo& info);

// A transport on the reader's interface (recorded when ctx.capture is set). For virtual
// readers `sim` receives the simulator (owned by the transport chain).
std::expected<std::unique_ptr<ccid::Transport>, ReaderFailure> open_transport(const Context& ctx,
                                                                              const ReaderInfo& info,
                                                                              sim::ReaderSim** sim = nullptr);

struct OpenedReader {
    ReaderInfo info;
    ccid::Quirks quirks;
    std::unique_ptr<ccid::Reader> reader;
    sim::ReaderSim* sim = nullptr;  // virtual readers only; owned by `reader`
};

struct OpenOptions {
    // Shorter timeouts for `diag`, which must not hang on a broken reader for long.
    std::optional<ccid::Millis> control_timeout;
};

std::expected<OpenedReader, ReaderFailure> open_reader(const Context& ctx, const ReaderInfo& info,
                                                       const OpenOptions& options = {});

// The exit code a driver error stands for (no card, card error, I/O...).
ExitCode exit_code_for(const ccid::ReaderError& e);
ReaderFailure failure_from(const ccid::ReaderError& e, std::string_view what);

}  // namespace ccidkit::ccidctl

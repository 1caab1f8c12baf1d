// Command line of ccid-gadget: which reader to impersonate, which card to insert, where the
// control FIFO is, and the Linux gadget plumbing (configfs, FunctionFS mount point, UDC).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace ccidkit::gadget {

enum class CardKind : std::uint8_t { None, T0, T1 };

struct GadgetOptions {
    // Reader: a corpus record, or a built-in reader at `level` with `slots` slots.
    std::string corpus_file;
    unsigned corpus_interface = 0;  // which interface record of the corpus file
    std::string level = "tpdu";     // character | tpdu | short | extended
    unsigned slots = 1;
    bool no_interrupt = false;
    unsigned time_extensions = 0;
    std::optional<std::uint16_t> vendor_id;  // override the reader's identity
    std::optional<std::uint16_t> product_id;

    CardKind card = CardKind::T1;  // inserted into slot 0 at start

    // Raw mode: bulk-OUT transfers come straight back on bulk-IN (no simulator), for
    // measuring the USB path alone.
    bool echo = false;

    // Plumbing.
    std::string name = "ccidkit";                       // gadget and FunctionFS instance name
    std::string configfs = "/sys/kernel/config";
    std::string ffs_dir;                                // default /dev/ffs-NAME
    std::string udc;                                    // default: the first of /sys/class/udc
    std::string control_fifo;                           // commands, one per line
    std::string ack_file;                               // each handled command appended here
    std::string ready_file;                             // written once the gadget is bound
    bool verbose = false;
};

// Parses argv (without argv[0]). On error: a message naming the bad argument. "--help" yields
// an error whose message is the usage text.
std::expected<GadgetOptions, std::string> parse_options(const std::vector<std::string>& args);

const char* usage_text();

}  // namespace ccidkit::gadget

// Builds the USB configuration a simulated reader presents for corpus interface records, so a
// simulated device can impersonate any reader of the corpus, and so the corpus exercises the
// configuration walker (src/ccid/usb_config*.h) as well as the descriptor parser.
#pragma once

#include <span>

#include "ccid/usb_config.h"
#include "sim/reader_corpus.h"

namespace ccidkit::sim {

enum class DescriptorPlacement {
    AfterInterface,     // where CCID 1.1 section 5.1 puts the class descriptor
    AfterLastEndpoint,  // where O2Micro OZ776 and a few others put it
};

// One interface (alternate setting as recorded) per record, in order, each with the endpoints
// its bNumEndpoints names (CCID 1.1 section 5.2: bulk-OUT, bulk-IN, then interrupt-IN; one
// endpoint means interrupt-IN only) and its rebuilt class descriptor. Endpoint numbers are
// assigned 1, 2, 3... across the configuration. Records repeating an interface number and
// alternate setting produce a configuration the walker reports as odd: group them first.
ccid::UsbConfiguration make_usb_configuration(std::span<const CorpusInterface> records,
                                              DescriptorPlacement placement);

}  // namespace ccidkit::sim

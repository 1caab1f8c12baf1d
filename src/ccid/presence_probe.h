// After a transfer failed with a generic I/O error: is the device still there?
//
// On real USB an unplug ends the transfer in flight with a protocol error (Linux: -EPROTO or
// -EPIPE from the host controller, libusb: LIBUSB_TRANSFER_ERROR, so TransportError::Io)
// before the hub driver has processed the disconnect; only later calls fail NoDevice. Without
// a second look the call in flight would report a communication error where the reader is
// gone. One standard GET_STATUS to the interface settles it: every configured device answers
// it, and a vanished one fails NoDevice once the disconnect is processed.
#pragma once

#include "ccid/transport.h"

namespace ccidkit::ccid {

// True when the device turned out to be gone. Retries while the probe itself fails with Io
// (the disconnect not processed yet), for at most `budget`; any answer, stall, timeout or
// other error means "not known to be gone".
bool device_vanished(Transport& transport, Millis budget = Millis{600});

}  // namespace ccidkit::ccid

// Translation of libusb result codes and transfer statuses into TransportError. The values are
// plain ints so that this header does not drag libusb.h into its users.
#pragma once

#include <optional>

#include "ccid/transport.h"

namespace ccidkit::ccid::usb {

// `code` is a libusb_error value (negative). Codes that are not errors (>= 0) and codes this
// libusb version does not define map to TransportError::Io: callers only pass failures here.
TransportError from_libusb_error(int code);

// `status` is a libusb_transfer_status. nullopt for LIBUSB_TRANSFER_COMPLETED; unknown values
// map to TransportError::Io.
std::optional<TransportError> from_transfer_status(int status);

}  // namespace ccidkit::ccid::usb

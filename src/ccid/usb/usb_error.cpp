#include "ccid/usb/usb_error.h"

#include <libusb.h>

namespace ccidkit::ccid::usb {

TransportError from_libusb_error(int code) {
    switch (code) {
        case LIBUSB_ERROR_ACCESS: return TransportError::Access;
        case LIBUSB_ERROR_NO_DEVICE: return TransportError::NoDevice;
        case LIBUSB_ERROR_BUSY: return TransportError::Busy;
        case LIBUSB_ERROR_TIMEOUT: return TransportError::Timeout;
        case LIBUSB_ERROR_OVERFLOW: return TransportError::Overflow;
        case LIBUSB_ERROR_PIPE: return TransportError::Stall;
        // NOT_FOUND comes from claiming/selecting an interface or alternate setting that the
        // device does not have; the caller asked for something this interface cannot do.
        case LIBUSB_ERROR_NOT_FOUND: return TransportError::NotSupported;
        case LIBUSB_ERROR_NOT_SUPPORTED: return TransportError::NotSupported;
        // A signal interrupted a system call: not a cancel() by our caller, so not Cancelled.
        case LIBUSB_ERROR_INTERRUPTED: return TransportError::Io;
        case LIBUSB_ERROR_IO:
        case LIBUSB_ERROR_INVALID_PARAM:
        case LIBUSB_ERROR_NO_MEM:
        case LIBUSB_ERROR_OTHER:
        default: return TransportError::Io;
    }
}

std::optional<TransportError> from_transfer_status(int status) {
    switch (status) {
        case LIBUSB_TRANSFER_COMPLETED: return std::nullopt;
        case LIBUSB_TRANSFER_TIMED_OUT: return TransportError::Timeout;
        case LIBUSB_TRANSFER_CANCELLED: return TransportError::Cancelled;
        case LIBUSB_TRANSFER_STALL: return TransportError::Stall;
        case LIBUSB_TRANSFER_NO_DEVICE: return TransportError::NoDevice;
        case LIBUSB_TRANSFER_OVERFLOW: return TransportError::Overflow;
        case LIBUSB_TRANSFER_ERROR:
        default: return TransportError::Io;
    }
}

}  // namespace ccidkit::ccid::usb

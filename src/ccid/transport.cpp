#include "ccid/transport.h"

namespace ccidkit::ccid {

std::string_view to_string(TransportError e) {
    switch (e) {
        case TransportError::Timeout: return "USB transfer timed out";
        case TransportError::NoDevice: return "USB device is gone (unplugged or reset)";
        case TransportError::Stall: return "USB endpoint stalled";
        case TransportError::Overflow: return "USB device sent more data than requested";
        case TransportError::Busy: return "USB interface is claimed by another program or driver";
        case TransportError::Access: return "no permission to open the USB device";
        case TransportError::Cancelled: return "USB transfer cancelled";
        case TransportError::NotSupported: return "operation not supported by this USB interface";
        case TransportError::Io: return "USB input/output error";
    }
    return "unknown USB transport error";
}

}  // namespace ccidkit::ccid

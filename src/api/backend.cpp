#include "api/backend.h"

namespace ccidkit::api {

std::string_view to_string(BackendError e) {
    switch (e) {
        case BackendError::NoCard: return "no card in the slot";
        case BackendError::CardMute: return "the card did not answer to reset";
        case BackendError::ProtocolNotSupported: return "protocol not supported by the card or the reader";
        case BackendError::NegotiationFailed: return "protocol negotiation (PPS or parameters) failed";
        case BackendError::CommunicationError: return "communication with the card or the reader failed";
        case BackendError::Timeout: return "the card or the reader did not answer in time";
        case BackendError::ReaderGone: return "the reader is no longer available";
        case BackendError::NotSupported: return "request not supported by this reader";
        case BackendError::InvalidParameter: return "malformed request";
        case BackendError::Cancelled: return "operation cancelled";
    }
    return "unknown backend error";
}

}  // namespace ccidkit::api

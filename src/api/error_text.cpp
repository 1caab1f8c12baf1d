#include "api/error_text.h"

namespace ccidkit::api {

std::string_view error_text(LONG code) {
    switch (code) {
        case SCARD_S_SUCCESS: return "Success.";
        case SCARD_F_INTERNAL_ERROR: return "Internal consistency check failed.";
        case SCARD_E_CANCELLED: return "Cancelled by SCardCancel.";
        case SCARD_E_INVALID_HANDLE: return "Invalid handle.";
        case SCARD_E_INVALID_PARAMETER: return "A parameter could not be interpreted (NULL pointer?).";
        case SCARD_E_INVALID_TARGET: return "Invalid target.";
        case SCARD_E_NO_MEMORY: return "Out of memory.";
        case SCARD_F_WAITED_TOO_LONG: return "An internal timer expired.";
        case SCARD_E_INSUFFICIENT_BUFFER: return "The buffer is too small for the returned data.";
        case SCARD_E_UNKNOWN_READER: return "Unknown reader name.";
        case SCARD_E_TIMEOUT: return "The timeout expired.";
        case SCARD_E_SHARING_VIOLATION: return "Sharing violation: the reader or card is in use by another connection.";
        case SCARD_E_NO_SMARTCARD: return "No card in the reader.";
        case SCARD_E_UNKNOWN_CARD: return "Unknown card.";
        case SCARD_E_CANT_DISPOSE: return "The card cannot be disposed of as requested.";
        case SCARD_E_PROTO_MISMATCH: return "The requested protocol is not the one in use (or not supported).";
        case SCARD_E_NOT_READY: return "The reader or the card is not ready.";
        case SCARD_E_INVALID_VALUE: return "A parameter value is invalid.";
        case SCARD_E_SYSTEM_CANCELLED: return "Cancelled by the system.";
        case SCARD_F_COMM_ERROR: return "Internal communication error.";
        case SCARD_F_UNKNOWN_ERROR: return "Internal error of unknown origin.";
        case SCARD_E_INVALID_ATR: return "Invalid ATR.";
        case SCARD_E_NOT_TRANSACTED: return "The exchange with the card or the reader failed.";
        case SCARD_E_READER_UNAVAILABLE: return "The reader is not available (removed or not responding).";
        case SCARD_P_SHUTDOWN: return "The operation was aborted by a shutdown.";
        case SCARD_E_PCI_TOO_SMALL: return "The receive PCI buffer is too small.";
        case SCARD_E_READER_UNSUPPORTED: return "The reader is not supported.";
        case SCARD_E_DUPLICATE_READER: return "Duplicate reader name.";
        case SCARD_E_CARD_UNSUPPORTED: return "The card is not supported.";
        case SCARD_E_NO_SERVICE: return "The smart card service is not available.";
        case SCARD_E_SERVICE_STOPPED: return "The smart card service has stopped.";
        // 0x8010001F is both SCARD_E_UNEXPECTED and SCARD_E_UNSUPPORTED_FEATURE; only the
        // latter is ever returned.
        case SCARD_E_UNSUPPORTED_FEATURE: return "Not supported by this reader or card.";
        case SCARD_E_ICC_INSTALLATION: return "No primary provider can be found for the smart card.";
        case SCARD_E_ICC_CREATEORDER: return "The requested order of object creation is not supported.";
        case SCARD_E_DIR_NOT_FOUND: return "The identified directory does not exist in the smart card.";
        case SCARD_E_FILE_NOT_FOUND: return "The identified file does not exist in the smart card.";
        case SCARD_E_NO_DIR: return "The supplied path does not represent a smart card directory.";
        case SCARD_E_NO_FILE: return "The supplied path does not represent a smart card file.";
        case SCARD_E_NO_ACCESS: return "Access is denied to this file.";
        case SCARD_E_WRITE_TOO_MANY: return "The smart card does not have enough memory to store the information.";
        case SCARD_E_BAD_SEEK: return "There was an error trying to set the smart card file object pointer.";
        case SCARD_E_INVALID_CHV: return "The supplied PIN is incorrect.";
        case SCARD_E_UNKNOWN_RES_MNG: return "An unrecognized error code was returned from a layered component.";
        case SCARD_E_NO_SUCH_CERTIFICATE: return "The requested certificate does not exist.";
        case SCARD_E_CERTIFICATE_UNAVAILABLE: return "The requested certificate could not be obtained.";
        case SCARD_E_NO_READERS_AVAILABLE: return "Cannot find a smart card reader.";
        case SCARD_E_COMM_DATA_LOST: return "A communications error with the smart card has been detected.";
        case SCARD_E_NO_KEY_CONTAINER: return "The requested key container does not exist on the smart card.";
        case SCARD_E_SERVER_TOO_BUSY: return "The smart card resource manager is too busy to complete this operation.";
        case SCARD_W_UNSUPPORTED_CARD: return "The reader cannot communicate with this card (ATR conflict).";
        case SCARD_W_UNRESPONSIVE_CARD: return "The card does not answer.";
        case SCARD_W_UNPOWERED_CARD: return "The card is not powered.";
        case SCARD_W_RESET_CARD: return "The card was reset: shared state is lost, reconnect.";
        case SCARD_W_REMOVED_CARD: return "The card was removed.";
        case SCARD_W_SECURITY_VIOLATION: return "Access denied (security violation).";
        case SCARD_W_WRONG_CHV: return "The card cannot be accessed because the wrong PIN was presented.";
        case SCARD_W_CHV_BLOCKED: return "The card cannot be accessed because the maximum number of PIN attempts was reached.";
        case SCARD_W_EOF: return "The end of the smart card file has been reached.";
        case SCARD_W_CANCELLED_BY_USER: return "The user cancelled the operation.";
        case SCARD_W_CARD_NOT_AUTHENTICATED: return "No PIN was presented to the smart card.";
        default: return {};
    }
}

}  // namespace ccidkit::api

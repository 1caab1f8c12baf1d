// The exported ccidkit extensions (include/PCSC/ccidkit_ext.h): readers from usbfs file
// descriptors, added to the process-wide provider. Nothing escapes as an exception.

#define PCSC_API __attribute__((visibility("default")))

#include <memory>
#include <new>

#include "PCSC/ccidkit_ext.h"
#include "api/ccid_backend_provider.h"
#include "api/fd_readers.h"
#include "api/service.h"
#include "api/service_registry.h"

namespace {

using ccidkit::api::FdReaderError;

LONG scard_code(FdReaderError e) {
    switch (e) {
        case FdReaderError::InvalidDescriptor: return SCARD_E_INVALID_PARAMETER;
        case FdReaderError::NotOpen:
        case FdReaderError::NotUsbDevice: return SCARD_E_INVALID_VALUE;
        case FdReaderError::NotAReader: return SCARD_E_READER_UNSUPPORTED;
        case FdReaderError::Duplicate: return SCARD_E_DUPLICATE_READER;
        case FdReaderError::Busy: return SCARD_E_SHARING_VIOLATION;
        case FdReaderError::Access: return SCARD_E_NO_ACCESS;
        case FdReaderError::Gone:
        case FdReaderError::Unresponsive: return SCARD_E_READER_UNAVAILABLE;
        case FdReaderError::Unknown: return SCARD_E_UNKNOWN_READER;
    }
    return SCARD_F_INTERNAL_ERROR;
}

// Runs f(fd readers of the process) after the context check.
template <typename F>
LONG with_fd_readers(SCARDCONTEXT context, F&& f) noexcept {
    try {
        const std::shared_ptr<ccidkit::api::Service> service = ccidkit::api::current_service();
        if (!service) return SCARD_E_NO_SERVICE;
        if (!service->valid_context(context)) return SCARD_E_INVALID_HANDLE;
        auto* provider = dynamic_cast<ccidkit::api::CcidProvider*>(&service->provider());
        if (provider == nullptr) return SCARD_E_UNSUPPORTED_FEATURE;
        return f(provider->fd_readers());
    } catch (const std::bad_alloc&) {
        return SCARD_E_NO_MEMORY;
    } catch (...) {
        return SCARD_F_INTERNAL_ERROR;
    }
}

}  // namespace

extern "C" {

PCSC_API LONG ccidkit_SCardAddReaderFromFd(SCARDCONTEXT hContext, int fd, DWORD dwFlags) {
    if (fd < 0 || dwFlags != CCIDKIT_FD_READER_DEFAULT) return SCARD_E_INVALID_PARAMETER;
    return with_fd_readers(hContext, [&](ccidkit::api::FdReaderSet& readers) -> LONG {
        const auto added = readers.add(fd);
        return added ? SCARD_S_SUCCESS : scard_code(added.error());
    });
}

PCSC_API LONG ccidkit_SCardRemoveReaderFromFd(SCARDCONTEXT hContext, int fd) {
    return with_fd_readers(hContext, [&](ccidkit::api::FdReaderSet& readers) -> LONG {
        const auto removed = readers.remove(fd);
        return removed ? SCARD_S_SUCCESS : scard_code(removed.error());
    });
}

}  // extern "C"

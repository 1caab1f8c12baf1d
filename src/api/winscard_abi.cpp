// The exported C functions (winscard.h / pcsclite.h). Argument checks and buffer conventions
// (NULL size queries, SCARD_AUTOALLOCATE, SCARD_E_INSUFFICIENT_BUFFER) live here, the
// semantics in Service. Nothing escapes as an exception: std::bad_alloc becomes
// SCARD_E_NO_MEMORY, anything else SCARD_F_INTERNAL_ERROR.

// Exported with default visibility; everything else in the libraries is hidden.
#define PCSC_API __attribute__((visibility("default")))

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "PCSC/winscard.h"
#include "api/error_text.h"
#include "api/service.h"
#include "api/service_registry.h"

using ccidkit::Bytes;
using ccidkit::ByteView;
using ccidkit::api::current_service;
using ccidkit::api::Service;

extern "C" {
const SCARD_IO_REQUEST g_rgSCardT0Pci = {SCARD_PROTOCOL_T0, sizeof(SCARD_IO_REQUEST)};
const SCARD_IO_REQUEST g_rgSCardT1Pci = {SCARD_PROTOCOL_T1, sizeof(SCARD_IO_REQUEST)};
const SCARD_IO_REQUEST g_rgSCardRawPci = {SCARD_PROTOCOL_RAW, sizeof(SCARD_IO_REQUEST)};
}

namespace {

template <typename F>
LONG guarded(F&& f) noexcept {
    try {
        return f();
    } catch (const std::bad_alloc&) {
        return SCARD_E_NO_MEMORY;
    } catch (...) {
        return SCARD_F_INTERNAL_ERROR;
    }
}

// Runs f(service), or answers SCARD_E_NO_SERVICE when no service can be created.
template <typename F>
LONG with_service(F&& f) noexcept {
    return guarded([&]() -> LONG {
        const std::shared_ptr<Service> svc = current_service();
        if (!svc) return SCARD_E_NO_SERVICE;
        return f(*svc);
    });
}

// Output of a byte string through (buffer, length) with the PC/SC conventions:
// *len == SCARD_AUTOALLOCATE: the library allocates (buffer receives the pointer);
// buffer == NULL: size query; otherwise copy or SCARD_E_INSUFFICIENT_BUFFER. *len always
// receives the needed size.
LONG write_output(const void* data, std::size_t size, void* buffer, LPDWORD len) {
    const DWORD given = *len;
    *len = static_cast<DWORD>(size);
    if (given == SCARD_AUTOALLOCATE) {
        if (buffer == nullptr) return SCARD_E_INVALID_PARAMETER;
        void* p = std::malloc(size == 0 ? 1 : size);
        if (p == nullptr) return SCARD_E_NO_MEMORY;
        if (size != 0) std::memcpy(p, data, size);
        *static_cast<void**>(buffer) = p;
        return SCARD_S_SUCCESS;
    }
    if (buffer == nullptr) return SCARD_S_SUCCESS;
    if (given < size) return SCARD_E_INSUFFICIENT_BUFFER;
    if (size != 0) std::memcpy(buffer, data, size);
    return SCARD_S_SUCCESS;
}

std::string multi_string(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) {
        out += s;
        out.push_back('\0');
    }
    out.push_back('\0');
    return out;
}

}  // namespace

extern "C" {

PCSC_API LONG SCardEstablishContext(DWORD dwScope, LPCVOID pvReserved1, LPCVOID pvReserved2,
                                    LPSCARDCONTEXT phContext) {
    (void)pvReserved1;
    (void)pvReserved2;
    if (phContext == nullptr) return SCARD_E_INVALID_PARAMETER;
    *phContext = 0;
    if (dwScope != SCARD_SCOPE_USER && dwScope != SCARD_SCOPE_TERMINAL && dwScope != SCARD_SCOPE_SYSTEM &&
        dwScope != SCARD_SCOPE_GLOBAL)
        return SCARD_E_INVALID_VALUE;
    return with_service([&](Service& s) { return s.establish_context(*phContext); });
}

PCSC_API LONG SCardReleaseContext(SCARDCONTEXT hContext) {
    return with_service([&](Service& s) { return s.release_context(hContext); });
}

PCSC_API LONG SCardIsValidContext(SCARDCONTEXT hContext) {
    return with_service([&](Service& s) { return s.valid_context(hContext) ? SCARD_S_SUCCESS : SCARD_E_INVALID_HANDLE; });
}

PCSC_API LONG SCardListReaders(SCARDCONTEXT hContext, LPCSTR mszGroups, LPSTR mszReaders, LPDWORD pcchReaders) {
    (void)mszGroups;  // one group only: SCard$DefaultReaders
    if (pcchReaders == nullptr) return SCARD_E_INVALID_PARAMETER;
    return with_service([&](Service& s) -> LONG {
        std::vector<std::string> names;
        if (LONG rc = s.list_readers(hContext, names); rc != SCARD_S_SUCCESS) return rc;
        if (names.empty()) {
            *pcchReaders = 1;
            return SCARD_E_NO_READERS_AVAILABLE;
        }
        const std::string multi = multi_string(names);
        return write_output(multi.data(), multi.size(), mszReaders, pcchReaders);
    });
}

PCSC_API LONG SCardListReaderGroups(SCARDCONTEXT hContext, LPSTR mszGroups, LPDWORD pcchGroups) {
    if (pcchGroups == nullptr) return SCARD_E_INVALID_PARAMETER;
    return with_service([&](Service& s) -> LONG {
        if (!s.valid_context(hContext)) return SCARD_E_INVALID_HANDLE;
        static const char groups[] = "SCard$DefaultReaders\0";  // plus the literal's NUL: "\0\0"
        return write_output(groups, sizeof(groups), mszGroups, pcchGroups);
    });
}

PCSC_API LONG SCardFreeMemory(SCARDCONTEXT hContext, LPCVOID pvMem) {
    return with_service([&](Service& s) -> LONG {
        if (!s.valid_context(hContext)) return SCARD_E_INVALID_HANDLE;
        std::free(const_cast<void*>(pvMem));
        return SCARD_S_SUCCESS;
    });
}

PCSC_API LONG SCardCancel(SCARDCONTEXT hContext) {
    return with_service([&](Service& s) { return s.cancel(hContext); });
}

PCSC_API LONG SCardGetStatusChange(SCARDCONTEXT hContext, DWORD dwTimeout, SCARD_READERSTATE* rgReaderStates,
                                   DWORD cReaders) {
    if ((rgReaderStates == nullptr && cReaders > 0) || cReaders > PCSCLITE_MAX_READERS_CONTEXTS)
        return SCARD_E_INVALID_PARAMETER;
    for (DWORD i = 0; i < cReaders; ++i)
        if (rgReaderStates[i].szReader == nullptr) return SCARD_E_INVALID_VALUE;
    // pcsc-lite answers at once, before looking at the context, when there is nothing to watch.
    DWORD watched = 0;
    for (DWORD i = 0; i < cReaders; ++i)
        if (!(rgReaderStates[i].dwCurrentState & SCARD_STATE_IGNORE)) ++watched;
    if (watched == 0) return SCARD_S_SUCCESS;
    return with_service([&](Service& s) {
        return s.get_status_change(hContext, dwTimeout, std::span<SCARD_READERSTATE>(rgReaderStates, cReaders));
    });
}

PCSC_API LONG SCardConnect(SCARDCONTEXT hContext, LPCSTR szReader, DWORD dwShareMode, DWORD dwPreferredProtocols,
                           LPSCARDHANDLE phCard, LPDWORD pdwActiveProtocol) {
    if (phCard == nullptr || pdwActiveProtocol == nullptr) return SCARD_E_INVALID_PARAMETER;
    *phCard = 0;
    if (szReader == nullptr) return SCARD_E_UNKNOWN_READER;
    if (std::strlen(szReader) > MAX_READERNAME) return SCARD_E_INVALID_VALUE;
    return with_service([&](Service& s) -> LONG {
        SCARDHANDLE h = 0;
        DWORD protocol = SCARD_PROTOCOL_UNDEFINED;
        const LONG rc = s.connect(hContext, szReader, dwShareMode, dwPreferredProtocols, h, protocol);
        if (rc == SCARD_S_SUCCESS) {
            *phCard = h;
            *pdwActiveProtocol = protocol;
        }
        return rc;
    });
}

PCSC_API LONG SCardReconnect(SCARDHANDLE hCard, DWORD dwShareMode, DWORD dwPreferredProtocols,
                             DWORD dwInitialization, LPDWORD pdwActiveProtocol) {
    if (pdwActiveProtocol == nullptr) return SCARD_E_INVALID_PARAMETER;
    return with_service([&](Service& s) -> LONG {
        DWORD protocol = SCARD_PROTOCOL_UNDEFINED;
        const LONG rc = s.reconnect(hCard, dwShareMode, dwPreferredProtocols, dwInitialization, protocol);
        if (rc == SCARD_S_SUCCESS) *pdwActiveProtocol = protocol;
        return rc;
    });
}

PCSC_API LONG SCardDisconnect(SCARDHANDLE hCard, DWORD dwDisposition) {
    return with_service([&](Service& s) { return s.disconnect(hCard, dwDisposition); });
}

PCSC_API LONG SCardBeginTransaction(SCARDHANDLE hCard) {
    return with_service([&](Service& s) { return s.begin_transaction(hCard); });
}

PCSC_API LONG SCardEndTransaction(SCARDHANDLE hCard, DWORD dwDisposition) {
    return with_service([&](Service& s) { return s.end_transaction(hCard, dwDisposition); });
}

PCSC_API LONG SCardStatus(SCARDHANDLE hCard, LPSTR mszReaderName, LPDWORD pcchReaderLen, LPDWORD pdwState,
                          LPDWORD pdwProtocol, LPBYTE pbAtr, LPDWORD pcbAtrLen) {
    if (pdwState) *pdwState = 0;
    if (pdwProtocol) *pdwProtocol = 0;
    DWORD no_reader_len = 0;
    DWORD no_atr_len = 0;
    if (pcchReaderLen == nullptr) pcchReaderLen = &no_reader_len;
    if (pcbAtrLen == nullptr) pcbAtrLen = &no_atr_len;
    const DWORD reader_len = *pcchReaderLen;
    const DWORD atr_len = *pcbAtrLen;
    *pcchReaderLen = 0;
    *pcbAtrLen = 0;
    return with_service([&](Service& s) -> LONG {
        ccidkit::api::CardStatus st;
        if (LONG rc = s.status(hCard, st); rc != SCARD_S_SUCCESS) return rc;
        if (pdwState) *pdwState = st.state;
        if (pdwProtocol) *pdwProtocol = st.protocol;

        const std::string name = st.reader + '\0';
        *pcchReaderLen = reader_len;
        LONG rc = write_output(name.data(), name.size(), mszReaderName, pcchReaderLen);
        // pcsc-lite still fills what fits of a too small buffer; the name is then not terminated.
        if (rc == SCARD_E_INSUFFICIENT_BUFFER && mszReaderName && reader_len > 0)
            std::memcpy(mszReaderName, name.data(), reader_len);
        if (rc != SCARD_S_SUCCESS && rc != SCARD_E_INSUFFICIENT_BUFFER) return rc;

        *pcbAtrLen = atr_len;
        const LONG rc_atr = write_output(st.atr.data(), st.atr.size(), pbAtr, pcbAtrLen);
        if (rc_atr == SCARD_E_INSUFFICIENT_BUFFER && pbAtr && atr_len > 0) std::memcpy(pbAtr, st.atr.data(), atr_len);
        if (rc_atr != SCARD_S_SUCCESS && rc_atr != SCARD_E_INSUFFICIENT_BUFFER) return rc_atr;
        return rc != SCARD_S_SUCCESS ? rc : rc_atr;
    });
}

PCSC_API LONG SCardTransmit(SCARDHANDLE hCard, const SCARD_IO_REQUEST* pioSendPci, LPCBYTE pbSendBuffer,
                            DWORD cbSendLength, SCARD_IO_REQUEST* pioRecvPci, LPBYTE pbRecvBuffer,
                            LPDWORD pcbRecvLength) {
    // pioRecvPci is left as given: pcsc-lite's drivers echo it back unchanged.
    (void)pioRecvPci;
    if (pbSendBuffer == nullptr || pbRecvBuffer == nullptr || pcbRecvLength == nullptr || pioSendPci == nullptr)
        return SCARD_E_INVALID_PARAMETER;
    return with_service([&](Service& s) -> LONG {
        const DWORD room = *pcbRecvLength;
        *pcbRecvLength = 0;
        if (!s.valid_handle(hCard)) return SCARD_E_INVALID_HANDLE;
        if (cbSendLength > MAX_BUFFER_SIZE_EXTENDED) return SCARD_E_INSUFFICIENT_BUFFER;
        Bytes response;
        const LONG rc = s.transmit(hCard, pioSendPci->dwProtocol, ByteView(pbSendBuffer, cbSendLength), response);
        if (rc != SCARD_S_SUCCESS) return rc;
        // The command was executed; a too small buffer loses the answer, as with pcsc-lite.
        *pcbRecvLength = static_cast<DWORD>(response.size());
        if (response.size() > room) return SCARD_E_INSUFFICIENT_BUFFER;
        if (!response.empty()) std::memcpy(pbRecvBuffer, response.data(), response.size());
        return SCARD_S_SUCCESS;
    });
}

PCSC_API LONG SCardControl(SCARDHANDLE hCard, DWORD dwControlCode, LPCVOID pbSendBuffer, DWORD cbSendLength,
                           LPVOID pbRecvBuffer, DWORD cbRecvLength, LPDWORD lpBytesReturned) {
    if (lpBytesReturned) *lpBytesReturned = 0;
    return with_service([&](Service& s) -> LONG {
        if (!s.valid_handle(hCard)) return SCARD_E_INVALID_HANDLE;
        if (cbSendLength > MAX_BUFFER_SIZE_EXTENDED) return SCARD_E_INSUFFICIENT_BUFFER;
        if ((pbSendBuffer == nullptr && cbSendLength > 0) || (pbRecvBuffer == nullptr && cbRecvLength > 0))
            return SCARD_E_INVALID_PARAMETER;
        Bytes output;
        const auto* in = static_cast<const std::uint8_t*>(pbSendBuffer);
        const LONG rc = s.control(hCard, dwControlCode, ByteView(in, in ? cbSendLength : 0), output);
        if (rc != SCARD_S_SUCCESS) return rc;
        if (lpBytesReturned) *lpBytesReturned = static_cast<DWORD>(output.size());
        if (output.size() > cbRecvLength) return SCARD_E_INSUFFICIENT_BUFFER;
        if (!output.empty()) std::memcpy(pbRecvBuffer, output.data(), output.size());
        return SCARD_S_SUCCESS;
    });
}

PCSC_API LONG SCardGetAttrib(SCARDHANDLE hCard, DWORD dwAttrId, LPBYTE pbAttr, LPDWORD pcbAttrLen) {
    if (pcbAttrLen == nullptr) return SCARD_E_INVALID_PARAMETER;
    if (*pcbAttrLen == SCARD_AUTOALLOCATE && pbAttr == nullptr) return SCARD_E_INVALID_PARAMETER;
    return with_service([&](Service& s) -> LONG {
        if (!s.valid_handle(hCard)) return SCARD_E_INVALID_HANDLE;
        Bytes value;
        if (LONG rc = s.get_attrib(hCard, dwAttrId, value); rc != SCARD_S_SUCCESS) return rc;
        return write_output(value.data(), value.size(), pbAttr, pcbAttrLen);
    });
}

PCSC_API LONG SCardSetAttrib(SCARDHANDLE hCard, DWORD dwAttrId, LPCBYTE pbAttr, DWORD cbAttrLen) {
    if (pbAttr == nullptr || cbAttrLen == 0) return SCARD_E_INVALID_PARAMETER;
    return with_service([&](Service& s) -> LONG {
        if (!s.valid_handle(hCard)) return SCARD_E_INVALID_HANDLE;
        if (cbAttrLen > MAX_BUFFER_SIZE) return SCARD_E_INSUFFICIENT_BUFFER;
        return s.set_attrib(hCard, dwAttrId, ByteView(pbAttr, cbAttrLen));
    });
}

PCSC_API const char* pcsc_stringify_error(const LONG pcscError) {
    const std::string_view text = ccidkit::api::error_text(pcscError);
    if (!text.empty()) return text.data();  // literals: NUL terminated, static storage
    thread_local char unknown[48];
    std::snprintf(unknown, sizeof(unknown), "Unknown error: 0x%08lX", static_cast<unsigned long>(pcscError));
    return unknown;
}

}  // extern "C"

/*
 * ccidkit: the PC/SC "SCard" API, in-process (no daemon).
 *
 * Same prototypes as pcsc-lite's <winscard.h>. Every function may be called from any thread;
 * none of them throws or aborts. Differences from pcsc-lite and Windows are listed in
 * docs/design/api.md.
 */
#ifndef __winscard_h__
#define __winscard_h__

#include "pcsclite.h"

#ifdef __cplusplus
extern "C" {
#endif

PCSC_API LONG SCardEstablishContext(DWORD dwScope, LPCVOID pvReserved1, LPCVOID pvReserved2,
	LPSCARDCONTEXT phContext);

PCSC_API LONG SCardReleaseContext(SCARDCONTEXT hContext);

PCSC_API LONG SCardIsValidContext(SCARDCONTEXT hContext);

PCSC_API LONG SCardConnect(SCARDCONTEXT hContext, LPCSTR szReader, DWORD dwShareMode,
	DWORD dwPreferredProtocols, LPSCARDHANDLE phCard, LPDWORD pdwActiveProtocol);

PCSC_API LONG SCardReconnect(SCARDHANDLE hCard, DWORD dwShareMode, DWORD dwPreferredProtocols,
	DWORD dwInitialization, LPDWORD pdwActiveProtocol);

PCSC_API LONG SCardDisconnect(SCARDHANDLE hCard, DWORD dwDisposition);

PCSC_API LONG SCardBeginTransaction(SCARDHANDLE hCard);

PCSC_API LONG SCardEndTransaction(SCARDHANDLE hCard, DWORD dwDisposition);

PCSC_API LONG SCardStatus(SCARDHANDLE hCard, LPSTR mszReaderName, LPDWORD pcchReaderLen,
	LPDWORD pdwState, LPDWORD pdwProtocol, LPBYTE pbAtr, LPDWORD pcbAtrLen);

PCSC_API LONG SCardGetStatusChange(SCARDCONTEXT hContext, DWORD dwTimeout,
	SCARD_READERSTATE *rgReaderStates, DWORD cReaders);

PCSC_API LONG SCardControl(SCARDHANDLE hCard, DWORD dwControlCode, LPCVOID pbSendBuffer,
	DWORD cbSendLength, LPVOID pbRecvBuffer, DWORD cbRecvLength, LPDWORD lpBytesReturned);

PCSC_API LONG SCardTransmit(SCARDHANDLE hCard, const SCARD_IO_REQUEST *pioSendPci,
	LPCBYTE pbSendBuffer, DWORD cbSendLength, SCARD_IO_REQUEST *pioRecvPci,
	LPBYTE pbRecvBuffer, LPDWORD pcbRecvLength);

PCSC_API LONG SCardListReaderGroups(SCARDCONTEXT hContext, LPSTR mszGroups, LPDWORD pcchGroups);

PCSC_API LONG SCardListReaders(SCARDCONTEXT hContext, LPCSTR mszGroups, LPSTR mszReaders,
	LPDWORD pcchReaders);

PCSC_API LONG SCardFreeMemory(SCARDCONTEXT hContext, LPCVOID pvMem);

PCSC_API LONG SCardCancel(SCARDCONTEXT hContext);

PCSC_API LONG SCardGetAttrib(SCARDHANDLE hCard, DWORD dwAttrId, LPBYTE pbAttr,
	LPDWORD pcbAttrLen);

PCSC_API LONG SCardSetAttrib(SCARDHANDLE hCard, DWORD dwAttrId, LPCBYTE pbAttr,
	DWORD cbAttrLen);

#ifdef __cplusplus
}
#endif

#endif /* __winscard_h__ */

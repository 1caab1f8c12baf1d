/* Calls on handles that never existed, and pcsc_stringify_error. */
#include <stdio.h>
#include <string.h>

#include "conformance.h"
#include "conformance_report.h"

void check_bad_handles(struct conformance *c) {
    const SCARDHANDLE bad = 0x5A5A5A5;
    const BYTE apdu[] = {0x80, 0x12, 0x00, 0x01, 0x01};
    BYTE out[64];
    DWORD len = sizeof out;
    DWORD active = 0;
    expect_rc("bad_handle.transmit", SCardTransmit(bad, SCARD_PCI_T1, apdu, sizeof apdu, NULL, out, &len), SCARD_E_INVALID_HANDLE, NULL);
    expect_rc("bad_handle.status", SCardStatus(bad, NULL, NULL, NULL, NULL, NULL, NULL), SCARD_E_INVALID_HANDLE, NULL);
    expect_rc("bad_handle.reconnect", SCardReconnect(bad, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &active),
              SCARD_E_INVALID_HANDLE, NULL);
    expect_rc("bad_handle.disconnect", SCardDisconnect(bad, SCARD_LEAVE_CARD), SCARD_E_INVALID_HANDLE, NULL);
    expect_rc("bad_handle.begin", SCardBeginTransaction(bad), SCARD_E_INVALID_HANDLE, NULL);
    expect_rc("bad_handle.end", SCardEndTransaction(bad, SCARD_LEAVE_CARD), SCARD_E_INVALID_HANDLE, NULL);
    len = sizeof out;
    expect_rc("bad_handle.control", SCardControl(bad, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, out, sizeof out, &len),
              SCARD_E_INVALID_HANDLE, NULL);
    len = sizeof out;
    expect_rc("bad_handle.get_attrib", SCardGetAttrib(bad, SCARD_ATTR_ATR_STRING, out, &len), SCARD_E_INVALID_HANDLE, NULL);
    expect_rc("bad_handle.set_attrib", SCardSetAttrib(bad, SCARD_ATTR_VENDOR_NAME, out, 1), SCARD_E_INVALID_HANDLE, NULL);
    /* A context is not a card handle. */
    record("bad_handle.context_as_card", SCardStatus((SCARDHANDLE)c->context, NULL, NULL, NULL, NULL, NULL, NULL), NULL);
    expect_rc("bad_handle.cancel", SCardCancel(0x5A5A5A5), SCARD_E_INVALID_HANDLE, NULL);
    record("bad_handle.free_null", SCardFreeMemory(c->context, NULL), NULL);
}

void check_stringify(void) {
    static const LONG codes[] = {SCARD_S_SUCCESS, SCARD_E_TIMEOUT, SCARD_W_RESET_CARD, SCARD_E_NO_SERVICE, (LONG)0x7EADBEEF};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; ++i) {
        const char *text = pcsc_stringify_error(codes[i]);
        char value[300];
        snprintf(value, sizeof value, "%s", text ? text : "(null)");
        for (char *p = value; *p; ++p) {
            if (*p == ' ') *p = '_';
        }
        char check[64];
        snprintf(check, sizeof check, "stringify.0x%08lX", (unsigned long)codes[i]);
        expect_true(check, text != NULL && *text != '\0', value);
    }
}

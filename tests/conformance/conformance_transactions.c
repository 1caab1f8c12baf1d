/* SCardBeginTransaction / SCardEndTransaction: nesting, dispositions, what another handle
 * gets while the lock is held (only the calls that answer at once: the others wait). */
#include <stdio.h>

#include "conformance.h"
#include "conformance_report.h"

static LONG ping(SCARDHANDLE h, DWORD protocol) {
    const BYTE apdu[] = {0x80, 0x12, 0x00, 0x01, 0x01};
    BYTE reply[16];
    DWORD len = sizeof reply;
    return SCardTransmit(h, send_pci(protocol), apdu, sizeof apdu, NULL, reply, &len);
}

void check_transactions(struct conformance *c) {
    SCARDHANDLE a = connect_shared(c, "transaction.connect_a");
    SCARDHANDLE b = connect_shared(c, "transaction.connect_b");
    if (!a || !b) return;
    watchdog_arm("transaction", 60);
    expect_rc("transaction.begin", SCardBeginTransaction(a), SCARD_S_SUCCESS, NULL);
    expect_rc("transaction.begin.nested", SCardBeginTransaction(a), SCARD_S_SUCCESS, NULL);
    expect_rc("transaction.owner_transmit", ping(a, c->protocol), SCARD_S_SUCCESS, NULL);

    BYTE features[256];
    DWORD len = 0;
    record("transaction.other_control", SCardControl(b, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, features, sizeof features, &len), NULL);
    BYTE attr[64];
    DWORD attr_len = sizeof attr;
    record("transaction.other_get_attrib", SCardGetAttrib(b, SCARD_ATTR_ATR_STRING, attr, &attr_len), NULL);
    record("transaction.other_end", SCardEndTransaction(b, SCARD_LEAVE_CARD), NULL);
    /* Transmit, Status, Reconnect and Begin from another handle wait for the lock: not here. */
    DWORD active = 0;

    expect_rc("transaction.end.nested", SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS, NULL);
    expect_rc("transaction.end", SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS, NULL);
    record("transaction.end.not_begun", SCardEndTransaction(a, SCARD_LEAVE_CARD), NULL);
    expect_rc("transaction.other_transmit_after", ping(b, c->protocol), SCARD_S_SUCCESS, NULL);
    expect_rc("transaction.other_begin_after", SCardBeginTransaction(b), SCARD_S_SUCCESS, NULL);
    expect_rc("transaction.other_end_after", SCardEndTransaction(b, SCARD_LEAVE_CARD), SCARD_S_SUCCESS, NULL);

    static const struct {
        const char *name;
        DWORD disposition;
    } ends[] = {{"reset", SCARD_RESET_CARD}, {"unpower", SCARD_UNPOWER_CARD}};
    for (size_t i = 0; i < 2; ++i) {
        char check[80];
        SCardBeginTransaction(a);
        snprintf(check, sizeof check, "transaction.end_%s", ends[i].name);
        expect_rc(check, SCardEndTransaction(a, ends[i].disposition), SCARD_S_SUCCESS, NULL);
        snprintf(check, sizeof check, "transaction.end_%s.own_transmit", ends[i].name);
        record(check, ping(a, c->protocol), NULL);
        snprintf(check, sizeof check, "transaction.end_%s.other_transmit", ends[i].name);
        expect_rc(check, ping(b, c->protocol), SCARD_W_RESET_CARD, NULL);
        snprintf(check, sizeof check, "transaction.end_%s.other_begin_again", ends[i].name);
        expect_rc(check, SCardBeginTransaction(b), SCARD_W_RESET_CARD, NULL);
        SCardReconnect(a, SCARD_SHARE_SHARED, c->protocol, SCARD_LEAVE_CARD, &active);
        SCardReconnect(b, SCARD_SHARE_SHARED, c->protocol, SCARD_LEAVE_CARD, &active);
    }
    SCardBeginTransaction(a);
    expect_rc("transaction.end.bad_disposition", SCardEndTransaction(a, 42), SCARD_E_INVALID_VALUE, NULL);
    SCardEndTransaction(a, SCARD_LEAVE_CARD);
    record("transaction.end.eject", (SCardBeginTransaction(a), SCardEndTransaction(a, SCARD_EJECT_CARD)), NULL);
    SCardReconnect(a, SCARD_SHARE_SHARED, c->protocol, SCARD_LEAVE_CARD, &active);
    SCardReconnect(b, SCARD_SHARE_SHARED, c->protocol, SCARD_LEAVE_CARD, &active);

    /* An exclusive handle holds the card: its own transactions still nest. */
    SCardDisconnect(b, SCARD_LEAVE_CARD);
    expect_rc("transaction.exclusive.reconnect", SCardReconnect(a, SCARD_SHARE_EXCLUSIVE, c->protocol, SCARD_LEAVE_CARD, &active),
              SCARD_S_SUCCESS, NULL);
    expect_rc("transaction.exclusive.begin", SCardBeginTransaction(a), SCARD_S_SUCCESS, NULL);
    expect_rc("transaction.exclusive.end", SCardEndTransaction(a, SCARD_LEAVE_CARD), SCARD_S_SUCCESS, NULL);
    watchdog_disarm();
    SCardDisconnect(a, SCARD_LEAVE_CARD);
}

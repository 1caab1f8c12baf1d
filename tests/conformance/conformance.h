/* Sections of the PC/SC conformance program (pcsc_conformance.c). Each runs its checks on the
 * chosen reader and leaves no connection behind. */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#include <winscard.h>
#include <reader.h>

struct conformance {
    SCARDCONTEXT context;
    char reader[512];
    DWORD protocol; /* the card's protocol as negotiated by a shared connection (T=0 or T=1) */
};

void check_context(void);
void check_lists(struct conformance *c);
void check_status_change(struct conformance *c);
void check_connect(struct conformance *c);
void check_status(struct conformance *c);
void check_transmit(struct conformance *c);
void check_reconnect(struct conformance *c);
void check_transactions(struct conformance *c);
void check_control(struct conformance *c);
void check_attributes(struct conformance *c);
void check_bad_handles(struct conformance *c);
void check_disconnect(struct conformance *c);
void check_raw(struct conformance *c);
void check_stringify(void);

/* The send PCI for a protocol (T=0, T=1 or raw). */
const SCARD_IO_REQUEST *send_pci(DWORD protocol);
/* Shared connection with any protocol; 0 on failure (reported under `check`). */
SCARDHANDLE connect_shared(struct conformance *c, const char *check);

#endif

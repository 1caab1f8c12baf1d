/* SCardTransmit: APDU cases 1-4, short and extended, pioRecvPci, buffer and PCI errors. The
 * card's echo application (CLA 80): INS 10 echoes the data cut to Ne, INS 12 answers Ne bytes
 * of a pattern (byte i = seed + i + 31 * (i / 256)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "conformance_report.h"

static BYTE pattern_byte(size_t i, BYTE seed) { return (BYTE)(seed + i + 31 * (i / 256)); }

/* Builds 80 INS 00 P2 [Lc data] [Le] with short or extended length fields. */
static size_t build(BYTE *out, BYTE ins, BYTE p2, size_t nc, size_t ne, int extended) {
    size_t n = 0;
    out[n++] = 0x80;
    out[n++] = ins;
    out[n++] = 0x00;
    out[n++] = p2;
    if (nc) {
        if (extended) {
            out[n++] = 0x00;
            out[n++] = (BYTE)(nc >> 8);
            out[n++] = (BYTE)nc;
        } else {
            out[n++] = (BYTE)nc;
        }
        for (size_t i = 0; i < nc; ++i) out[n++] = (BYTE)(i * 7 + 3);
    }
    if (ne) {
        if (extended) {
            if (!nc) out[n++] = 0x00;
            out[n++] = (BYTE)(ne >> 8); /* 65536 -> 00 00 */
            out[n++] = (BYTE)ne;
        } else {
            out[n++] = (BYTE)ne; /* 256 -> 00 */
        }
    }
    return n;
}

static BYTE recv_buffer[65538 + 64];
static BYTE send_buffer[65544];

/* Sends the APDU and prints the response's length, status word and whether the data was the
 * expected one (echo of the command data, or the pattern). */
static void apdu_case(struct conformance *c, SCARDHANDLE h, const char *check, BYTE ins, size_t nc, size_t ne,
                      int extended, int hard) {
    const BYTE seed = 0x21;
    size_t n = build(send_buffer, ins, seed, nc, ne, extended);
    DWORD len = sizeof recv_buffer;
    LONG rc = SCardTransmit(h, send_pci(c->protocol), send_buffer, (DWORD)n, NULL, recv_buffer, &len);
    char detail[96];
    if (rc != SCARD_S_SUCCESS) {
        snprintf(detail, sizeof detail, "-");
    } else {
        size_t data = len >= 2 ? len - 2 : 0;
        int ok = 1;
        for (size_t i = 0; i < data; ++i) {
            BYTE want = ins == 0x12 ? pattern_byte(i, seed) : (BYTE)(i * 7 + 3);
            if (recv_buffer[i] != want) ok = 0;
        }
        snprintf(detail, sizeof detail, "len=%lu sw=%02X%02X data_ok=%d", (unsigned long)len, len >= 2 ? recv_buffer[len - 2] : 0,
                 len >= 2 ? recv_buffer[len - 1] : 0, ok);
    }
    if (hard) expect_rc(check, rc, SCARD_S_SUCCESS, detail);
    else record(check, rc, detail);
}

void check_transmit(struct conformance *c) {
    SCARDHANDLE h = connect_shared(c, "transmit.connect");
    if (!h) return;
    watchdog_arm("transmit", 120);
    apdu_case(c, h, "transmit.case1", 0x10, 0, 0, 0, 1);
    apdu_case(c, h, "transmit.case2.le16", 0x12, 0, 16, 0, 1);
    apdu_case(c, h, "transmit.case2.le256", 0x12, 0, 256, 0, 1);
    apdu_case(c, h, "transmit.case3.lc5", 0x10, 5, 0, 0, 1);
    apdu_case(c, h, "transmit.case3.lc255", 0x10, 255, 0, 0, 1);
    apdu_case(c, h, "transmit.case4.lc16_le16", 0x10, 16, 16, 0, 1);
    apdu_case(c, h, "transmit.case4.lc255_le256", 0x10, 255, 256, 0, 1);
    apdu_case(c, h, "transmit.ext.case2.le1000", 0x12, 0, 1000, 1, 0);
    apdu_case(c, h, "transmit.ext.case3.lc1000", 0x10, 1000, 0, 1, 0);
    apdu_case(c, h, "transmit.ext.case4.lc1000", 0x10, 1000, 1000, 1, 0);
    apdu_case(c, h, "transmit.ext.case2.le65536", 0x12, 0, 65536, 1, 0);
    apdu_case(c, h, "transmit.ext.case4.lc65535", 0x10, 65535, 65536, 1, 0);

    const BYTE apdu[] = {0x80, 0x12, 0x00, 0x21, 0x10};
    char detail[96];
    SCARD_IO_REQUEST recv_pci = {.dwProtocol = 0xAA, .cbPciLength = 0xBB};
    DWORD len = sizeof recv_buffer;
    LONG rc = SCardTransmit(h, send_pci(c->protocol), apdu, sizeof apdu, &recv_pci, recv_buffer, &len);
    snprintf(detail, sizeof detail, "recv_pci=%lu/%lu", (unsigned long)recv_pci.dwProtocol, (unsigned long)recv_pci.cbPciLength);
    expect_rc("transmit.recv_pci", rc, SCARD_S_SUCCESS, detail);

    const DWORD other = c->protocol == SCARD_PROTOCOL_T1 ? SCARD_PROTOCOL_T0 : SCARD_PROTOCOL_T1;
    len = sizeof recv_buffer;
    expect_rc("transmit.wrong_pci", SCardTransmit(h, send_pci(other), apdu, sizeof apdu, NULL, recv_buffer, &len),
              SCARD_E_PROTO_MISMATCH, NULL);
    len = sizeof recv_buffer;
    record("transmit.raw_pci", SCardTransmit(h, SCARD_PCI_RAW, apdu, sizeof apdu, NULL, recv_buffer, &len), NULL);
    len = sizeof recv_buffer;
    expect_rc("transmit.null_pci", SCardTransmit(h, NULL, apdu, sizeof apdu, NULL, recv_buffer, &len), SCARD_E_INVALID_PARAMETER, NULL);
    len = sizeof recv_buffer;
    expect_rc("transmit.null_send", SCardTransmit(h, send_pci(c->protocol), NULL, sizeof apdu, NULL, recv_buffer, &len),
              SCARD_E_INVALID_PARAMETER, NULL);
    expect_rc("transmit.null_recv_length", SCardTransmit(h, send_pci(c->protocol), apdu, sizeof apdu, NULL, recv_buffer, NULL),
              SCARD_E_INVALID_PARAMETER, NULL);
    len = 4;
    rc = SCardTransmit(h, send_pci(c->protocol), apdu, sizeof apdu, NULL, recv_buffer, &len);
    snprintf(detail, sizeof detail, "len=%lu", (unsigned long)len);
    expect_rc("transmit.small_recv_buffer", rc, SCARD_E_INSUFFICIENT_BUFFER, detail);
    len = sizeof recv_buffer;
    record("transmit.send_length_0", SCardTransmit(h, send_pci(c->protocol), apdu, 0, NULL, recv_buffer, &len), NULL);
    len = sizeof recv_buffer;
    record("transmit.send_length_3", SCardTransmit(h, send_pci(c->protocol), apdu, 3, NULL, recv_buffer, &len), NULL);
    len = sizeof recv_buffer;
    /* Lc says 16 bytes, only 2 follow: a malformed APDU goes to the card or is refused. */
    const BYTE malformed[] = {0x80, 0x10, 0x00, 0x00, 0x10, 0x01, 0x02};
    rc = SCardTransmit(h, send_pci(c->protocol), malformed, sizeof malformed, NULL, recv_buffer, &len);
    char sw[16] = "-";
    if (rc == SCARD_S_SUCCESS && len >= 2) snprintf(sw, sizeof sw, "sw=%02X%02X", recv_buffer[len - 2], recv_buffer[len - 1]);
    record("transmit.malformed_lc", rc, sw);
    len = sizeof recv_buffer;
    /* The card still answers after all of the above. */
    apdu_case(c, h, "transmit.after_errors", 0x10, 16, 16, 0, 1);
    watchdog_disarm();
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

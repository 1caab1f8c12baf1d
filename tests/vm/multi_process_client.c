/* One of several processes sharing the gadget's reader in tests/vm/multi-process-usb.sh, through
 * whichever libpcsclite.so.1 is loaded (ours: LD_LIBRARY_PATH). <winscard.h> only.
 *
 * Usage: multi_process_client MODE ID [ARG]
 *   traffic ID N    N rounds of: one echo APDU outside a transaction, then a transaction of
 *                   SELECT EF 0102, UPDATE BINARY (an 8-byte stamp: ID + round), two echoes,
 *                   READ BINARY of the stamp. Every process writes the same file, so a command
 *                   of another process between our UPDATE and READ shows as a foreign stamp.
 *   victim ID FILE  begins a transaction, writes its stamp, creates FILE, then sends echoes
 *                   inside the transaction until killed.
 *   wait ID DIR     two SCardGetStatusChange calls with an infinite timeout: from PRESENT until
 *                   the card is removed, then from EMPTY until one is inserted. Creates
 *                   DIR/ID.removal and DIR/ID.insertion just before each blocking call.
 *   holder ID FILE  connects, exchanges one echo, creates FILE, then waits to be killed.
 *   probe ID        lists the readers, connects, exchanges one echo; exit 0 when all worked,
 *                   3 when the reader could not be used (each result printed).
 *   unplug ID FILE  echoes in a loop, creates FILE after a few, and goes on until a call fails
 *                   (the script unplugs the gadget): exit 0 when that error says the reader is
 *                   gone, 4 otherwise.
 * Every line starts with "mp ID:"; exit 0 on success, 1 on a failed check. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <winscard.h>

static const char *id = "?";
static SCARDCONTEXT context;
static SCARDHANDLE card;
static DWORD protocol;
static char reader[4096];

static void say(const char *format, ...) {
    va_list args;
    va_start(args, format);
    printf("mp %s: ", id);
    vprintf(format, args);
    printf("\n");
    fflush(stdout);
    va_end(args);
}

static int fail(const char *what, LONG rc) {
    say("FAIL: %s: %s (0x%lx)", what, pcsc_stringify_error(rc), (unsigned long)rc);
    return 1;
}

static void touch(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) close(fd);
}

/* The first reader (the VM has only the gadget's); returns the SCard code. */
static LONG first_reader(void) {
    char names[4096];
    DWORD len = sizeof names;
    LONG rc = SCardListReaders(context, NULL, names, &len);
    if (rc != SCARD_S_SUCCESS) return rc;
    snprintf(reader, sizeof reader, "%s", names);
    return SCARD_S_SUCCESS;
}

static LONG connect_card(void) {
    LONG rc = first_reader();
    if (rc != SCARD_S_SUCCESS) return rc;
    return SCardConnect(context, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol);
}

/* Sends `apdu`; the response must be `expected` (data + SW) exactly. */
static LONG exchange(const unsigned char *apdu, DWORD length, const unsigned char *expected, DWORD expected_length,
                     const char *what) {
    unsigned char response[600];
    DWORD got = sizeof response;
    const SCARD_IO_REQUEST *pci = protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    LONG rc = SCardTransmit(card, pci, apdu, length, NULL, response, &got);
    if (rc != SCARD_S_SUCCESS) {
        fail(what, rc);
        return rc;
    }
    if (got != expected_length || memcmp(response, expected, got) != 0) {
        char text[80] = "";
        for (DWORD i = 0; i < got && i < 24; ++i) snprintf(text + 3 * i, 4, "%02X ", response[i]);
        say("FAIL: %s: unexpected response (%lu bytes) %s", what, (unsigned long)got, text);
        return SCARD_F_UNKNOWN_ERROR;
    }
    return SCARD_S_SUCCESS;
}

/* ECHO (CLA 80 INS 10, sim/card/echo_app.h) of `n` bytes derived from `salt`. */
static LONG echo(unsigned n, unsigned salt) {
    unsigned char apdu[5 + 255 + 1], expected[255 + 2];
    apdu[0] = 0x80, apdu[1] = 0x10, apdu[2] = 0, apdu[3] = 0, apdu[4] = (unsigned char)n;
    for (unsigned i = 0; i < n; ++i) apdu[5 + i] = expected[i] = (unsigned char)(i * 7 + salt);
    apdu[5 + n] = (unsigned char)n;
    expected[n] = 0x90, expected[n + 1] = 0x00;
    return exchange(apdu, 6 + n, expected, n + 2, "echo");
}

/* SELECT EF 0102 then UPDATE BINARY of the 8-byte stamp at offset 0 (sim/card/file_app.h). */
static LONG write_stamp(const unsigned char stamp[8]) {
    static const unsigned char select[] = {0x00, 0xA4, 0x00, 0x0C, 0x02, 0x01, 0x02};
    static const unsigned char ok[] = {0x90, 0x00};
    LONG rc = exchange(select, sizeof select, ok, 2, "SELECT EF 0102");
    if (rc != SCARD_S_SUCCESS) return rc;
    unsigned char update[5 + 8] = {0x00, 0xD6, 0x00, 0x00, 0x08};
    memcpy(update + 5, stamp, 8);
    return exchange(update, sizeof update, ok, 2, "UPDATE BINARY");
}

static void make_stamp(unsigned char stamp[8], unsigned round) {
    memset(stamp, 0, 8);
    strncpy((char *)stamp, id, 4);
    stamp[4] = (unsigned char)(round >> 24), stamp[5] = (unsigned char)(round >> 16);
    stamp[6] = (unsigned char)(round >> 8), stamp[7] = (unsigned char)round;
}

static int traffic(unsigned rounds) {
    LONG connected = connect_card();
    if (connected != SCARD_S_SUCCESS) return fail("connect", connected);
    say("connected to '%s', T=%d", reader, protocol == SCARD_PROTOCOL_T0 ? 0 : 1);
    for (unsigned round = 0; round < rounds; ++round) {
        if (echo(1 + (round * 37) % 250, round) != SCARD_S_SUCCESS) return 1;
        LONG rc = SCardBeginTransaction(card);
        if (rc != SCARD_S_SUCCESS) return fail("SCardBeginTransaction", rc);
        unsigned char stamp[8];
        make_stamp(stamp, round);
        if (write_stamp(stamp) != SCARD_S_SUCCESS) return 1;
        if (echo(64, round + 1) != SCARD_S_SUCCESS || echo(200, round + 2) != SCARD_S_SUCCESS) return 1;
        static const unsigned char read[] = {0x00, 0xB0, 0x00, 0x00, 0x08};
        unsigned char expected[10];
        memcpy(expected, stamp, 8);
        expected[8] = 0x90, expected[9] = 0x00;
        if (exchange(read, sizeof read, expected, sizeof expected, "READ BINARY of our stamp (interleaved?)") !=
            SCARD_S_SUCCESS)
            return 1;
        rc = SCardEndTransaction(card, SCARD_LEAVE_CARD);
        if (rc != SCARD_S_SUCCESS) return fail("SCardEndTransaction", rc);
        if ((round + 1) % 25 == 0) say("%u rounds", round + 1);
    }
    say("OK: %u rounds, %u APDUs", rounds, rounds * 6);
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    return 0;
}

static int victim(const char *ready) {
    LONG rc = connect_card();
    if (rc != SCARD_S_SUCCESS) return fail("connect", rc);
    rc = SCardBeginTransaction(card);
    if (rc != SCARD_S_SUCCESS) return fail("SCardBeginTransaction", rc);
    unsigned char stamp[8];
    make_stamp(stamp, 0);
    if (write_stamp(stamp) != SCARD_S_SUCCESS) return 1;
    say("holding a transaction");
    touch(ready);
    for (unsigned round = 0;; ++round)
        if (echo(250, round) != SCARD_S_SUCCESS) return 1;
}

/* Blocks in SCardGetStatusChange until the reader's state has `bit`. */
static int wait_for(DWORD current, DWORD bit, const char *ready, const char *what) {
    SCARD_READERSTATE rs = {.szReader = reader, .dwCurrentState = current};
    touch(ready);
    for (;;) {
        LONG rc = SCardGetStatusChange(context, INFINITE, &rs, 1);
        if (rc != SCARD_S_SUCCESS) return fail("SCardGetStatusChange", rc);
        if (rs.dwEventState & bit) break;
        rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
    }
    say("saw %s (state 0x%lx)", what, (unsigned long)rs.dwEventState);
    return 0;
}

static int waiter(const char *dir) {
    LONG rc = first_reader();
    if (rc != SCARD_S_SUCCESS) return fail("SCardListReaders", rc);
    SCARD_READERSTATE rs = {.szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    rc = SCardGetStatusChange(context, 0, &rs, 1);
    if (rc != SCARD_S_SUCCESS) return fail("SCardGetStatusChange", rc);
    if (!(rs.dwEventState & SCARD_STATE_PRESENT)) {
        say("FAIL: no card at start (0x%lx)", (unsigned long)rs.dwEventState);
        return 1;
    }
    char ready[600];
    snprintf(ready, sizeof ready, "%s/%s.removal", dir, id);
    if (wait_for(rs.dwEventState & ~SCARD_STATE_CHANGED, SCARD_STATE_EMPTY, ready, "the removal")) return 1;
    snprintf(ready, sizeof ready, "%s/%s.insertion", dir, id);
    return wait_for(SCARD_STATE_EMPTY, SCARD_STATE_PRESENT, ready, "the insertion");
}

static int holder(const char *ready) {
    LONG rc = connect_card();
    if (rc != SCARD_S_SUCCESS) return fail("connect", rc);
    if (echo(16, 1) != SCARD_S_SUCCESS) return 1;
    say("holding the reader");
    touch(ready);
    for (;;) pause();
}

/* Echoes until a call fails (the script unplugs the reader); the failure must say the reader
 * is gone (pcsc-lite: SCARD_E_READER_UNAVAILABLE, or SCARD_W_REMOVED_CARD), not a
 * communication error. */
static int until_unplugged(const char *ready) {
    LONG rc = connect_card();
    if (rc != SCARD_S_SUCCESS) return fail("connect", rc);
    static const unsigned char apdu[] = {0x80, 0x10, 0x00, 0x00, 0x04, 1, 2, 3, 4, 0x04};
    const SCARD_IO_REQUEST *pci = protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    unsigned done = 0;
    for (;; ++done) {
        unsigned char response[16];
        DWORD got = sizeof response;
        rc = SCardTransmit(card, pci, apdu, sizeof apdu, NULL, response, &got);
        if (rc != SCARD_S_SUCCESS) break;
        if (done == 3) touch(ready);
    }
    say("after %u exchanges: %s (0x%lx)", done, pcsc_stringify_error(rc), (unsigned long)rc);
    if (rc == SCARD_E_READER_UNAVAILABLE || rc == SCARD_W_REMOVED_CARD) return 0;
    say("FAIL: the unplug gave another error than 'reader unavailable' or 'card removed'");
    return 4;
}

static int probe(void) {
    LONG rc = first_reader();
    say("SCardListReaders: %s%s%s", pcsc_stringify_error(rc), rc == SCARD_S_SUCCESS ? ", first: " : "",
        rc == SCARD_S_SUCCESS ? reader : "");
    if (rc != SCARD_S_SUCCESS) return 3;
    rc = SCardConnect(context, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol);
    say("SCardConnect: %s", pcsc_stringify_error(rc));
    if (rc != SCARD_S_SUCCESS) return 3;
    rc = echo(16, 2);
    say("SCardTransmit: %s", pcsc_stringify_error(rc));
    return rc == SCARD_S_SUCCESS ? 0 : 3;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: multi_process_client traffic|victim|wait|holder|unplug|probe ID [ARG]\n");
        return 2;
    }
    const char *mode = argv[1];
    const char *arg = argc > 3 ? argv[3] : NULL;
    id = argv[2];
    LONG rc = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &context);
    if (rc != SCARD_S_SUCCESS) return fail("SCardEstablishContext", rc);
    if (strcmp(mode, "probe") == 0) return probe();
    if (arg == NULL) {
        fprintf(stderr, "multi_process_client: %s needs an argument\n", mode);
        return 2;
    }
    if (strcmp(mode, "traffic") == 0) return traffic((unsigned)atoi(arg));
    if (strcmp(mode, "victim") == 0) return victim(arg);
    if (strcmp(mode, "wait") == 0) return waiter(arg);
    if (strcmp(mode, "holder") == 0) return holder(arg);
    if (strcmp(mode, "unplug") == 0) return until_unplugged(arg);
    fprintf(stderr, "multi_process_client: unknown mode %s\n", mode);
    return 2;
}

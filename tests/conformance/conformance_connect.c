/* SCardConnect, SCardStatus, SCardReconnect, SCardDisconnect: sharing, protocols,
 * dispositions, and the reset seen by a second handle. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conformance.h"
#include "conformance_report.h"

const SCARD_IO_REQUEST *send_pci(DWORD protocol) {
    if (protocol == SCARD_PROTOCOL_T0) return SCARD_PCI_T0;
    if (protocol == SCARD_PROTOCOL_T1) return SCARD_PCI_T1;
    return SCARD_PCI_RAW;
}

static const char *protocol_name(DWORD p) {
    switch (p) {
        case SCARD_PROTOCOL_UNDEFINED: return "undefined";
        case SCARD_PROTOCOL_T0: return "T0";
        case SCARD_PROTOCOL_T1: return "T1";
        case SCARD_PROTOCOL_RAW: return "RAW";
        default: return "other";
    }
}

SCARDHANDLE connect_shared(struct conformance *c, const char *check) {
    SCARDHANDLE h = 0;
    DWORD active = 0;
    LONG rc = SCardConnect(c->context, c->reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &active);
    if (rc != SCARD_S_SUCCESS) {
        expect_rc(check, rc, SCARD_S_SUCCESS, NULL);
        return 0;
    }
    return h;
}

/* A one-byte case 2 echo (80 10 ... would need data): PATTERN with Le 1. */
static LONG ping(SCARDHANDLE h, DWORD protocol) {
    const BYTE apdu[] = {0x80, 0x12, 0x00, 0x01, 0x01};
    BYTE reply[16];
    DWORD len = sizeof reply;
    return SCardTransmit(h, send_pci(protocol), apdu, sizeof apdu, NULL, reply, &len);
}

static void connect_case(struct conformance *c, const char *check, DWORD share, DWORD protocols, int hard, LONG expected) {
    SCARDHANDLE h = 0;
    DWORD active = 0xFFFF;
    LONG rc = SCardConnect(c->context, c->reader, share, protocols, &h, &active);
    char detail[64];
    snprintf(detail, sizeof detail, "protocol=%s", rc == SCARD_S_SUCCESS ? protocol_name(active) : "-");
    if (hard) expect_rc(check, rc, expected, detail);
    else record(check, rc, detail);
    if (rc == SCARD_S_SUCCESS) SCardDisconnect(h, SCARD_LEAVE_CARD);
}

void check_connect(struct conformance *c) {
    SCARDHANDLE h = 0;
    DWORD active = 0;
    LONG rc = SCardConnect(c->context, c->reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &active);
    char detail[64];
    snprintf(detail, sizeof detail, "protocol=%s", protocol_name(active));
    expect_rc("connect.shared.any", rc, SCARD_S_SUCCESS, detail);
    if (rc != SCARD_S_SUCCESS) return;
    c->protocol = active;
    const DWORD other = active == SCARD_PROTOCOL_T1 ? SCARD_PROTOCOL_T0 : SCARD_PROTOCOL_T1;

    connect_case(c, "connect.shared.same_protocol", SCARD_SHARE_SHARED, active, 1, SCARD_S_SUCCESS);
    connect_case(c, "connect.shared.other_protocol", SCARD_SHARE_SHARED, other, 0, 0);
    connect_case(c, "connect.exclusive.while_shared", SCARD_SHARE_EXCLUSIVE, active, 1, SCARD_E_SHARING_VIOLATION);
    connect_case(c, "connect.direct.while_shared", SCARD_SHARE_DIRECT, 0, 0, 0);
    expect_rc("connect.disconnect", SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS, NULL);

    /* Preferred protocols from c->protocol; outputs of failing calls go to a scratch variable. */
    DWORD scratch = 0;
    connect_case(c, "connect.bad_share", 42, c->protocol, 1, SCARD_E_INVALID_VALUE);
    connect_case(c, "connect.no_protocol", SCARD_SHARE_SHARED, 0, 0, 0);
    connect_case(c, "connect.unknown_protocol", SCARD_SHARE_SHARED, 0x100, 0, 0);
    rc = SCardConnect(c->context, "No such reader 00 00", SCARD_SHARE_SHARED, c->protocol, &h, &scratch);
    expect_rc("connect.unknown_reader", rc, SCARD_E_UNKNOWN_READER, NULL);
    record("connect.null_reader", SCardConnect(c->context, NULL, SCARD_SHARE_SHARED, c->protocol, &h, &scratch), NULL);
    expect_rc("connect.null_handle", SCardConnect(c->context, c->reader, SCARD_SHARE_SHARED, c->protocol, NULL, &scratch),
              SCARD_E_INVALID_PARAMETER, NULL);
    record("connect.null_protocol", SCardConnect(c->context, c->reader, SCARD_SHARE_SHARED, c->protocol, &h, NULL), NULL);
    expect_rc("connect.bad_context", SCardConnect(0x5A5A5A5, c->reader, SCARD_SHARE_SHARED, c->protocol, &h, &scratch),
              SCARD_E_INVALID_HANDLE, NULL);

    /* Exclusive keeps everyone out, direct included. */
    SCARDHANDLE ex = 0;
    rc = SCardConnect(c->context, c->reader, SCARD_SHARE_EXCLUSIVE, c->protocol, &ex, &scratch);
    expect_rc("connect.exclusive", rc, SCARD_S_SUCCESS, NULL);
    if (rc == SCARD_S_SUCCESS) {
        connect_case(c, "connect.shared.while_exclusive", SCARD_SHARE_SHARED, c->protocol, 1, SCARD_E_SHARING_VIOLATION);
        connect_case(c, "connect.direct.while_exclusive", SCARD_SHARE_DIRECT, 0, 1, SCARD_E_SHARING_VIOLATION);
        expect_rc("connect.exclusive.transmit", ping(ex, c->protocol), SCARD_S_SUCCESS, NULL);
        SCardDisconnect(ex, SCARD_LEAVE_CARD);
    }

    /* Direct: no protocol needed; a direct handle does not block an exclusive one? (pcsc-lite
     * counts it as shared). */
    SCARDHANDLE direct = 0;
    DWORD direct_protocol = 0xFFFF;
    rc = SCardConnect(c->context, c->reader, SCARD_SHARE_DIRECT, 0, &direct, &direct_protocol);
    snprintf(detail, sizeof detail, "protocol=%s", protocol_name(direct_protocol));
    expect_rc("connect.direct", rc, SCARD_S_SUCCESS, detail);
    if (rc == SCARD_S_SUCCESS) {
        connect_case(c, "connect.exclusive.while_direct", SCARD_SHARE_EXCLUSIVE, c->protocol, 0, 0);
        SCardDisconnect(direct, SCARD_LEAVE_CARD);
    }
    rc = SCardConnect(c->context, c->reader, SCARD_SHARE_DIRECT, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &direct, &direct_protocol);
    snprintf(detail, sizeof detail, "protocol=%s", rc == SCARD_S_SUCCESS ? protocol_name(direct_protocol) : "-");
    record("connect.direct.with_protocols", rc, detail);
    if (rc == SCARD_S_SUCCESS) SCardDisconnect(direct, SCARD_LEAVE_CARD);
}

void check_status(struct conformance *c) {
    SCARDHANDLE h = connect_shared(c, "status.connect");
    if (!h) return;
    char name[600];
    DWORD name_len = sizeof name;
    DWORD state = 0, protocol = 0;
    BYTE atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof atr;
    LONG rc = SCardStatus(h, name, &name_len, &state, &protocol, atr, &atr_len);
    char value[300];
    char atr_hex[100];
    hex_into(atr_hex, sizeof atr_hex, atr, rc == SCARD_S_SUCCESS ? atr_len : 0);
    snprintf(value, sizeof value, "state=0x%04lX protocol=%lu atr=%s", (unsigned long)state, (unsigned long)protocol, atr_hex);
    expect_rc("status.basic", rc, SCARD_S_SUCCESS, value);
    /* The length counts one or two NULs (a multi-string of one name): recorded. */
    snprintf(value, sizeof value, "len=strlen+%ld", rc == SCARD_S_SUCCESS ? (long)name_len - (long)strlen(c->reader) : -1L);
    expect_true("status.name", rc == SCARD_S_SUCCESS && strcmp(name, c->reader) == 0, value);

    char *alloc_name = NULL;
    BYTE *alloc_atr = NULL;
    DWORD alloc_name_len = SCARD_AUTOALLOCATE, alloc_atr_len = SCARD_AUTOALLOCATE;
    rc = SCardStatus(h, (LPSTR)&alloc_name, &alloc_name_len, NULL, NULL, (LPBYTE)&alloc_atr, &alloc_atr_len);
    snprintf(value, sizeof value, "same=%d", rc == SCARD_S_SUCCESS && alloc_atr_len == atr_len && memcmp(alloc_atr, atr, atr_len) == 0 &&
                                                 strcmp(alloc_name, c->reader) == 0);
    record("status.autoallocate", rc, value);
    if (rc == SCARD_S_SUCCESS) {
        SCardFreeMemory(c->context, alloc_name);
        SCardFreeMemory(c->context, alloc_atr);
    }

    DWORD sizes_name = 0, sizes_atr = 0;
    rc = SCardStatus(h, NULL, &sizes_name, NULL, NULL, NULL, &sizes_atr);
    snprintf(value, sizeof value, "name_len_ok=%d atr_len=%lu", sizes_name == name_len, (unsigned long)sizes_atr);
    expect_rc("status.size_query", rc, SCARD_S_SUCCESS, value);
    expect_rc("status.all_null", SCardStatus(h, NULL, NULL, NULL, NULL, NULL, NULL), SCARD_S_SUCCESS, NULL);
    char tiny[4];
    DWORD tiny_len = sizeof tiny;
    rc = SCardStatus(h, tiny, &tiny_len, NULL, NULL, NULL, NULL);
    snprintf(value, sizeof value, "len_reported=%d", tiny_len == name_len);
    expect_rc("status.small_name_buffer", rc, SCARD_E_INSUFFICIENT_BUFFER, value);
    BYTE tiny_atr[2];
    DWORD tiny_atr_len = sizeof tiny_atr;
    rc = SCardStatus(h, NULL, NULL, NULL, NULL, tiny_atr, &tiny_atr_len);
    snprintf(value, sizeof value, "len_reported=%d", tiny_atr_len == atr_len);
    expect_rc("status.small_atr_buffer", rc, SCARD_E_INSUFFICIENT_BUFFER, value);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
    expect_rc("status.after_disconnect", SCardStatus(h, NULL, NULL, NULL, NULL, NULL, NULL), SCARD_E_INVALID_HANDLE, NULL);
}

struct blocking_call {
    LONG (*call)(void *arg);
    void *arg;
    LONG rc;
    int done;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
};

static void *run_blocking_call(void *arg) {
    struct blocking_call *b = arg;
    LONG rc = b->call(b->arg);
    pthread_mutex_lock(&b->mutex);
    b->rc = rc;
    b->done = 1;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->mutex);
    return NULL;
}

/* Runs call(arg) in a thread. A call that may wait (pcsc-lite's client retries some refusals
 * every 100 ms, forever) gets 2 s; then unblock(unblock_arg) runs, which must end the wait.
 * Recorded as "answered_at_once" or "waited_until_unblocked"; returns whether it waited. */
static int bounded_call(const char *check, LONG (*call)(void *), void *arg, void (*unblock)(void *), void *unblock_arg) {
    struct blocking_call b = {.call = call, .arg = arg, .mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_blocking_call, &b) != 0) return 0;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&b.mutex);
    while (!b.done && pthread_cond_timedwait(&b.cond, &b.mutex, &until) == 0) {
    }
    const int answered = b.done;
    pthread_mutex_unlock(&b.mutex);
    watchdog_arm(check, 30);
    if (!answered) unblock(unblock_arg);
    pthread_join(thread, NULL);
    watchdog_disarm();
    record(check, b.rc, answered ? "answered_at_once" : "waited_until_unblocked");
    return !answered;
}

struct handle_call {
    struct conformance *c;
    SCARDCONTEXT context;
    SCARDHANDLE handle;
    DWORD share;
};

static LONG reconnect_call(void *arg) {
    struct handle_call *h = arg;
    DWORD active = 0;
    return SCardReconnect(h->handle, h->share, h->c->protocol, SCARD_LEAVE_CARD, &active);
}

/* On a context of its own: pcsc-lite's client holds a context's mutex during a call, so
 * another call on the same context (the unblocking one) would wait behind it. */
static LONG connect_call(void *arg) {
    struct handle_call *h = arg;
    DWORD active = 0;
    return SCardConnect(h->context, h->c->reader, h->share, h->c->protocol, &h->handle, &active);
}

static void disconnect_handle(void *arg) { SCardDisconnect(*(SCARDHANDLE *)arg, SCARD_LEAVE_CARD); }

/* Reconnecting to exclusive while another handle shares the card: refused at once, or waiting
 * until the other handle leaves (then disconnected to end the wait). */
static void check_exclusive_reconnect_while_shared(struct conformance *c, SCARDHANDLE *a, SCARDHANDLE *b) {
    struct handle_call call = {.c = c, .handle = *a, .share = SCARD_SHARE_EXCLUSIVE};
    if (bounded_call("reconnect.exclusive.while_shared", reconnect_call, &call, disconnect_handle, b)) {
        /* a became exclusive once b left. */
        DWORD active = 0;
        SCardReconnect(*a, SCARD_SHARE_SHARED, c->protocol, SCARD_LEAVE_CARD, &active);
        SCardDisconnect(*a, SCARD_LEAVE_CARD);
        *a = connect_shared(c, "reconnect.connect_a_again");
        *b = connect_shared(c, "reconnect.connect_b_again");
    }
}

/* After exclusive -> shared on a handle alone, may a new connection join? (pcsc-lite keeps the
 * lock the exclusive connection took until that handle leaves.) Disconnects *a. */
static void check_connect_after_exclusive_to_shared(struct conformance *c, SCARDHANDLE *a) {
    struct handle_call join = {.c = c, .share = SCARD_SHARE_SHARED};
    SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &join.context);
    if (!bounded_call("reconnect.to_shared.then_connect", connect_call, &join, disconnect_handle, a)) {
        SCardDisconnect(*a, SCARD_LEAVE_CARD);
    }
    SCardReleaseContext(join.context); /* ends join.handle too */
}

void check_reconnect(struct conformance *c) {
    SCARDHANDLE a = connect_shared(c, "reconnect.connect_a");
    SCARDHANDLE b = connect_shared(c, "reconnect.connect_b");
    if (!a || !b) return;
    DWORD p = c->protocol;
    DWORD active = 0;
    char detail[64];
    LONG rc = SCardReconnect(a, SCARD_SHARE_SHARED, p, SCARD_LEAVE_CARD, &active);
    snprintf(detail, sizeof detail, "protocol=%s", protocol_name(active));
    expect_rc("reconnect.leave", rc, SCARD_S_SUCCESS, detail);
    expect_rc("reconnect.leave.other_handle", ping(b, p), SCARD_S_SUCCESS, NULL);

    static const struct {
        const char *name;
        DWORD disposition;
    } resets[] = {{"reset", SCARD_RESET_CARD}, {"unpower", SCARD_UNPOWER_CARD}};
    for (size_t i = 0; i < 2; ++i) {
        char check[80];
        snprintf(check, sizeof check, "reconnect.%s", resets[i].name);
        rc = SCardReconnect(a, SCARD_SHARE_SHARED, p, resets[i].disposition, &active);
        snprintf(detail, sizeof detail, "protocol=%s", protocol_name(active));
        expect_rc(check, rc, SCARD_S_SUCCESS, detail);
        snprintf(check, sizeof check, "reconnect.%s.own_transmit", resets[i].name);
        expect_rc(check, ping(a, p), SCARD_S_SUCCESS, NULL);
        snprintf(check, sizeof check, "reconnect.%s.other_transmit", resets[i].name);
        expect_rc(check, ping(b, p), SCARD_W_RESET_CARD, NULL);
        snprintf(check, sizeof check, "reconnect.%s.other_status", resets[i].name);
        expect_rc(check, SCardStatus(b, NULL, NULL, NULL, NULL, NULL, NULL), SCARD_W_RESET_CARD, NULL);
        snprintf(check, sizeof check, "reconnect.%s.other_reconnect", resets[i].name);
        expect_rc(check, SCardReconnect(b, SCARD_SHARE_SHARED, p, SCARD_LEAVE_CARD, &active), SCARD_S_SUCCESS, NULL);
        snprintf(check, sizeof check, "reconnect.%s.other_transmit_after", resets[i].name);
        expect_rc(check, ping(b, p), SCARD_S_SUCCESS, NULL);
    }

    check_exclusive_reconnect_while_shared(c, &a, &b);
    expect_rc("reconnect.bad_disposition", SCardReconnect(a, SCARD_SHARE_SHARED, p, 42, &active), SCARD_E_INVALID_VALUE, NULL);
    expect_rc("reconnect.bad_share", SCardReconnect(a, 42, p, SCARD_LEAVE_CARD, &active), SCARD_E_INVALID_VALUE, NULL);
    record("reconnect.null_protocol", SCardReconnect(a, SCARD_SHARE_SHARED, p, SCARD_LEAVE_CARD, NULL), NULL);
    rc = SCardReconnect(a, SCARD_SHARE_SHARED, p, SCARD_EJECT_CARD, &active);
    record("reconnect.eject", rc, NULL);
    record("reconnect.eject.other_transmit", ping(b, p), NULL);
    SCardDisconnect(b, SCARD_LEAVE_CARD);

    /* Alone, a handle can become exclusive and back. */
    rc = SCardReconnect(a, SCARD_SHARE_EXCLUSIVE, p, SCARD_LEAVE_CARD, &active);
    expect_rc("reconnect.to_exclusive", rc, SCARD_S_SUCCESS, NULL);
    SCARDHANDLE third = 0;
    rc = SCardConnect(c->context, c->reader, SCARD_SHARE_SHARED, p, &third, &active);
    expect_rc("reconnect.to_exclusive.keeps_out", rc, SCARD_E_SHARING_VIOLATION, NULL);
    if (rc == SCARD_S_SUCCESS) SCardDisconnect(third, SCARD_LEAVE_CARD);
    expect_rc("reconnect.to_shared", SCardReconnect(a, SCARD_SHARE_SHARED, p, SCARD_LEAVE_CARD, &active), SCARD_S_SUCCESS, NULL);
    check_connect_after_exclusive_to_shared(c, &a);
}

void check_disconnect(struct conformance *c) {
    static const struct {
        const char *check;
        DWORD disposition;
    } cases[] = {{"disconnect.leave", SCARD_LEAVE_CARD},
                 {"disconnect.reset", SCARD_RESET_CARD},
                 {"disconnect.unpower", SCARD_UNPOWER_CARD},
                 {"disconnect.eject", SCARD_EJECT_CARD}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        SCARDHANDLE observer = connect_shared(c, "disconnect.connect");
        SCARDHANDLE h = connect_shared(c, "disconnect.connect");
        if (!h || !observer) return;
        LONG rc = SCardDisconnect(h, cases[i].disposition);
        if (cases[i].disposition == SCARD_EJECT_CARD) record(cases[i].check, rc, NULL);
        else expect_rc(cases[i].check, rc, SCARD_S_SUCCESS, NULL);
        char check[80];
        snprintf(check, sizeof check, "%s.other_transmit", cases[i].check);
        if (cases[i].disposition == SCARD_LEAVE_CARD) expect_rc(check, ping(observer, c->protocol), SCARD_S_SUCCESS, NULL);
        else if (cases[i].disposition == SCARD_EJECT_CARD) record(check, ping(observer, c->protocol), NULL);
        else expect_rc(check, ping(observer, c->protocol), SCARD_W_RESET_CARD, NULL);
        SCardDisconnect(observer, SCARD_LEAVE_CARD);
    }
    SCARDHANDLE h = connect_shared(c, "disconnect.connect");
    if (!h) return;
    expect_rc("disconnect.bad_disposition", SCardDisconnect(h, 42), SCARD_E_INVALID_VALUE, NULL);
    expect_rc("disconnect.ok", SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS, NULL);
    expect_rc("disconnect.twice", SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_E_INVALID_HANDLE, NULL);

    /* Releasing a context ends its handles. */
    SCARDCONTEXT other = 0;
    SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &other);
    DWORD active = 0;
    LONG rc = SCardConnect(other, c->reader, SCARD_SHARE_SHARED, c->protocol, &h, &active);
    expect_rc("disconnect.release_context.connect", rc, SCARD_S_SUCCESS, NULL);
    SCARDHANDLE observer = connect_shared(c, "disconnect.connect");
    SCardReleaseContext(other);
    expect_rc("disconnect.release_context.handle", SCardStatus(h, NULL, NULL, NULL, NULL, NULL, NULL), SCARD_E_INVALID_HANDLE, NULL);
    record("disconnect.release_context.other_transmit", ping(observer, c->protocol), NULL);
    SCardDisconnect(observer, SCARD_LEAVE_CARD);
}

/* Last: SCARD_PROTOCOL_RAW may switch the card's protocol for everyone; a reset ends it. */
void check_raw(struct conformance *c) {
    SCARDHANDLE h = connect_shared(c, "raw.connect");
    if (!h) return;
    SCARDHANDLE raw = 0;
    DWORD active = 0xFFFF;
    LONG rc = SCardConnect(c->context, c->reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_RAW, &raw, &active);
    char detail[64];
    snprintf(detail, sizeof detail, "protocol=%s", rc == SCARD_S_SUCCESS ? protocol_name(active) : "-");
    record("raw.while_t_handle", rc, detail);
    record("raw.t_handle_transmit", ping(h, c->protocol), NULL);
    if (rc == SCARD_S_SUCCESS) SCardDisconnect(raw, SCARD_LEAVE_CARD);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
    rc = SCardConnect(c->context, c->reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_RAW, &raw, &active);
    snprintf(detail, sizeof detail, "protocol=%s", rc == SCARD_S_SUCCESS ? protocol_name(active) : "-");
    record("raw.alone", rc, detail);
    if (rc == SCARD_S_SUCCESS) record("raw.alone.disconnect_reset", SCardDisconnect(raw, SCARD_RESET_CARD), NULL);
    rc = SCardConnect(c->context, c->reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &active);
    snprintf(detail, sizeof detail, "protocol=%s", rc == SCARD_S_SUCCESS ? protocol_name(active) : "-");
    record("raw.then_t0_t1", rc, detail);
    if (rc == SCARD_S_SUCCESS) SCardDisconnect(h, SCARD_LEAVE_CARD);
}

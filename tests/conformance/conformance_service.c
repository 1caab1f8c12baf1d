/* Contexts, reader and group lists, SCardGetStatusChange and SCardCancel. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "conformance.h"
#include "conformance_report.h"

static const char pnp_name[] = "\\\\?PnP?\\Notification";

void check_context(void) {
    SCARDCONTEXT ctx = 0;
    LONG rc = SCardEstablishContext(SCARD_SCOPE_USER, NULL, NULL, &ctx);
    expect_rc("context.establish.user", rc, SCARD_S_SUCCESS, NULL);
    expect_rc("context.is_valid", SCardIsValidContext(ctx), SCARD_S_SUCCESS, NULL);
    expect_rc("context.release", SCardReleaseContext(ctx), SCARD_S_SUCCESS, NULL);
    expect_rc("context.is_valid.released", SCardIsValidContext(ctx), SCARD_E_INVALID_HANDLE, NULL);
    expect_rc("context.release.twice", SCardReleaseContext(ctx), SCARD_E_INVALID_HANDLE, NULL);
    expect_rc("context.is_valid.bogus", SCardIsValidContext(0x5A5A5A5), SCARD_E_INVALID_HANDLE, NULL);

    SCARDCONTEXT other = 0;
    expect_rc("context.establish.bad_scope", SCardEstablishContext(42, NULL, NULL, &other),
              SCARD_E_INVALID_VALUE, NULL);
    expect_rc("context.establish.null", SCardEstablishContext(SCARD_SCOPE_USER, NULL, NULL, NULL),
              SCARD_E_INVALID_PARAMETER, NULL);
    rc = SCardEstablishContext(SCARD_SCOPE_TERMINAL, NULL, NULL, &other);
    record("context.establish.terminal", rc, NULL);
    if (rc == SCARD_S_SUCCESS) SCardReleaseContext(other);
}

void check_lists(struct conformance *c) {
    char value[1200];
    DWORD len = 0;
    LONG rc = SCardListReaders(c->context, NULL, NULL, &len);
    snprintf(value, sizeof value, "len_ok=%d", len == strlen(c->reader) + 2 || len > strlen(c->reader) + 2);
    expect_rc("list.readers.size", rc, SCARD_S_SUCCESS, value);

    char readers[4096];
    DWORD full = sizeof readers;
    rc = SCardListReaders(c->context, NULL, readers, &full);
    expect_rc("list.readers.buffer", rc, SCARD_S_SUCCESS, NULL);
    expect_true("list.readers.size_matches", full == len, "-");
    expect_true("list.readers.double_nul", full >= 2 && readers[full - 1] == '\0' && readers[full - 2] == '\0', "-");
    char name[600];
    multistring_into(name, sizeof name, c->reader, strlen(c->reader) + 2);
    record_text("list.readers.chosen", name);

    char small[8];
    DWORD small_len = len - 1;
    rc = SCardListReaders(c->context, NULL, small_len < sizeof small ? small : readers, &small_len);
    snprintf(value, sizeof value, "len_reported=%d", small_len == len);
    expect_rc("list.readers.small_buffer", rc, SCARD_E_INSUFFICIENT_BUFFER, value);

    char *alloc = NULL;
    DWORD alloc_len = SCARD_AUTOALLOCATE;
    rc = SCardListReaders(c->context, NULL, (LPSTR)&alloc, &alloc_len);
    snprintf(value, sizeof value, "same=%d", rc == SCARD_S_SUCCESS && alloc_len == len && memcmp(alloc, readers, len) == 0);
    expect_rc("list.readers.autoallocate", rc, SCARD_S_SUCCESS, value);
    if (rc == SCARD_S_SUCCESS) expect_rc("list.readers.free", SCardFreeMemory(c->context, alloc), SCARD_S_SUCCESS, NULL);

    len = sizeof readers;
    record("list.readers.default_group", SCardListReaders(c->context, "SCard$DefaultReaders\0", readers, &len), NULL);
    len = sizeof readers;
    record("list.readers.unknown_group", SCardListReaders(c->context, "NoSuchGroup\0", readers, &len), NULL);
    len = sizeof readers;
    expect_rc("list.readers.bad_context", SCardListReaders(0x5A5A5A5, NULL, readers, &len), SCARD_E_INVALID_HANDLE, NULL);
    expect_rc("list.readers.null_length", SCardListReaders(c->context, NULL, readers, NULL), SCARD_E_INVALID_PARAMETER, NULL);

    char groups[256];
    len = 0;
    rc = SCardListReaderGroups(c->context, NULL, &len);
    snprintf(value, sizeof value, "len=%lu", (unsigned long)len);
    expect_rc("list.groups.size", rc, SCARD_S_SUCCESS, value);
    len = sizeof groups;
    rc = SCardListReaderGroups(c->context, groups, &len);
    multistring_into(value, sizeof value, groups, rc == SCARD_S_SUCCESS ? len : 0);
    expect_rc("list.groups.buffer", rc, SCARD_S_SUCCESS, value);
    alloc = NULL;
    alloc_len = SCARD_AUTOALLOCATE;
    rc = SCardListReaderGroups(c->context, (LPSTR)&alloc, &alloc_len);
    expect_rc("list.groups.autoallocate", rc, SCARD_S_SUCCESS, NULL);
    if (rc == SCARD_S_SUCCESS) SCardFreeMemory(c->context, alloc);
    len = 4;
    expect_rc("list.groups.small_buffer", SCardListReaderGroups(c->context, groups, &len), SCARD_E_INSUFFICIENT_BUFFER, NULL);
}

/* dwEventState as "flags=0x... events=N" (the event counter, bits 16-31, printed apart). */
static void state_into(char *out, size_t size, DWORD state) {
    snprintf(out, size, "flags=0x%04lX events=%lu", (unsigned long)(state & 0xFFFF), (unsigned long)(state >> 16));
}

struct waiter {
    SCARDCONTEXT context;
    SCARD_READERSTATE state;
    LONG rc;
    volatile int done;
};

static void *wait_forever(void *arg) {
    struct waiter *w = arg;
    w->rc = SCardGetStatusChange(w->context, INFINITE, &w->state, 1);
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void check_cancel(struct conformance *c, DWORD current) {
    expect_rc("cancel.nobody_waiting", SCardCancel(c->context), SCARD_S_SUCCESS, NULL);
    struct waiter w = {.context = c->context};
    w.state.szReader = c->reader;
    w.state.dwCurrentState = current;
    pthread_t thread;
    if (pthread_create(&thread, NULL, wait_forever, &w) != 0) {
        expect_true("cancel.thread", 0, "-");
        return;
    }
    /* The waiter's start cannot be observed through the API: cancel until it has returned
     * (a cancel with nobody waiting is a no-op), bounded by the watchdog. */
    watchdog_arm("cancel.waiting_call", 30);
    SCARD_READERSTATE pace = {.szReader = pnp_name, .dwCurrentState = SCARD_STATE_UNAWARE};
    SCARDCONTEXT pacer = 0;
    SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &pacer);
    while (!__atomic_load_n(&w.done, __ATOMIC_SEQ_CST)) {
        SCardCancel(c->context);
        /* 50 ms pause on another context (a timeout, not a synchronisation). */
        pace.dwCurrentState = SCARD_STATE_UNAWARE;
        SCardGetStatusChange(pacer, 0, &pace, 1);
        pace.dwCurrentState = pace.dwEventState;
        SCardGetStatusChange(pacer, 50, &pace, 1);
    }
    pthread_join(thread, NULL);
    SCardReleaseContext(pacer);
    watchdog_disarm();
    expect_rc("cancel.waiting_call", w.rc, SCARD_E_CANCELLED, NULL);
}

void check_status_change(struct conformance *c) {
    char value[160];
    SCARD_READERSTATE s = {.szReader = c->reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    watchdog_arm("status_change", 60);
    LONG rc = SCardGetStatusChange(c->context, 0, &s, 1);
    state_into(value, sizeof value, s.dwEventState);
    expect_rc("status_change.unaware", rc, SCARD_S_SUCCESS, value);
    expect_true("status_change.present", (s.dwEventState & SCARD_STATE_PRESENT) != 0, "-");
    expect_true("status_change.changed", (s.dwEventState & SCARD_STATE_CHANGED) != 0, "-");
    char atr[100];
    hex_into(atr, sizeof atr, s.rgbAtr, s.cbAtr);
    record_text("status_change.atr", atr);

    s.dwCurrentState = s.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
    rc = SCardGetStatusChange(c->context, 0, &s, 1);
    state_into(value, sizeof value, s.dwEventState);
    expect_rc("status_change.timeout_zero", rc, SCARD_E_TIMEOUT, value);
    rc = SCardGetStatusChange(c->context, 200, &s, 1);
    expect_rc("status_change.timeout_200ms", rc, SCARD_E_TIMEOUT, NULL);

    /* A current state without the event counter: the counter alone makes a change when
     * it is non-zero in dwCurrentState only. */
    SCARD_READERSTATE no_counter = s;
    no_counter.dwCurrentState = s.dwEventState & 0xFFFF & ~(DWORD)SCARD_STATE_CHANGED;
    rc = SCardGetStatusChange(c->context, 0, &no_counter, 1);
    state_into(value, sizeof value, no_counter.dwEventState);
    record("status_change.without_counter", rc, value);

    SCARD_READERSTATE wrong = s;
    wrong.dwCurrentState = SCARD_STATE_EMPTY;
    rc = SCardGetStatusChange(c->context, 0, &wrong, 1);
    state_into(value, sizeof value, wrong.dwEventState);
    expect_rc("status_change.stale_empty", rc, SCARD_S_SUCCESS, value);

    SCARD_READERSTATE ignore = {.szReader = c->reader, .dwCurrentState = SCARD_STATE_IGNORE};
    record("status_change.ignored_only", SCardGetStatusChange(c->context, 0, &ignore, 1), NULL);
    record("status_change.empty_list", SCardGetStatusChange(c->context, 0, NULL, 0), NULL);
    record("status_change.null_list", SCardGetStatusChange(c->context, 0, NULL, 1), NULL);

    SCARD_READERSTATE unknown = {.szReader = "No such reader 00 00", .dwCurrentState = SCARD_STATE_UNAWARE};
    rc = SCardGetStatusChange(c->context, 0, &unknown, 1);
    state_into(value, sizeof value, unknown.dwEventState);
    record("status_change.unknown_reader", rc, value);

    SCARD_READERSTATE many[17];
    for (int i = 0; i < 17; ++i) many[i] = s;
    record("status_change.17_entries", SCardGetStatusChange(c->context, 0, many, 17), NULL);

    SCARD_READERSTATE pnp = {.szReader = pnp_name, .dwCurrentState = SCARD_STATE_UNAWARE};
    rc = SCardGetStatusChange(c->context, 0, &pnp, 1);
    state_into(value, sizeof value, pnp.dwEventState);
    record("status_change.pnp.unaware", rc, value);
    pnp.dwCurrentState = pnp.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
    rc = SCardGetStatusChange(c->context, 200, &pnp, 1);
    expect_rc("status_change.pnp.no_change", rc, SCARD_E_TIMEOUT, NULL);

    SCARD_READERSTATE both[2] = {pnp, s};
    both[0].dwCurrentState = SCARD_STATE_UNAWARE;
    rc = SCardGetStatusChange(c->context, 0, both, 2);
    state_into(value, sizeof value, both[1].dwEventState);
    record("status_change.pnp_and_reader", rc, value);

    expect_rc("status_change.bad_context", SCardGetStatusChange(0x5A5A5A5, 0, &s, 1), SCARD_E_INVALID_HANDLE, NULL);
    watchdog_disarm();

    check_cancel(c, s.dwEventState & ~(DWORD)SCARD_STATE_CHANGED);
}

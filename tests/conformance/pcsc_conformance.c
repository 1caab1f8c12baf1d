/* PC/SC conformance program: exercises every SCard function through <winscard.h> only, on the
 * first reader (or the first whose name contains argv[1]), so that the same binary runs on
 * pcsc-lite's libpcsclite.so.1 + pcscd or on ccidkit's drop-in library (LD_LIBRARY_PATH).
 * Output: one line per check (conformance_report.h); exit status: failed hard expectations.
 * The card must be one of ccidkit's simulated cards (echo application, CLA 80). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance.h"
#include "conformance_report.h"

static int pick_reader(struct conformance *c, const char *wanted) {
    /* Readers may appear a moment after the service starts (pcscd's USB scan): wait for the
     * named one through the PnP notification instead of polling with sleeps. */
    const time_t deadline = time(NULL) + 30;
    while (time(NULL) < deadline) {
        char readers[4096];
        DWORD len = sizeof readers;
        LONG rc = SCardListReaders(c->context, NULL, readers, &len);
        if (rc == SCARD_S_SUCCESS) {
            for (const char *r = readers; *r; r += strlen(r) + 1) {
                if (!wanted || strstr(r, wanted)) {
                    if (strlen(r) >= sizeof c->reader) continue;
                    memcpy(c->reader, r, strlen(r) + 1);
                    return 1;
                }
            }
        }
        SCARD_READERSTATE pnp = {.szReader = "\\\\?PnP?\\Notification", .dwCurrentState = SCARD_STATE_UNAWARE};
        SCardGetStatusChange(c->context, 0, &pnp, 1);
        pnp.dwCurrentState = pnp.dwEventState;
        SCardGetStatusChange(c->context, 1000, &pnp, 1);
    }
    return 0;
}

/* Waits until the reader reports a card (it may still be powering up). */
static void wait_for_card(struct conformance *c) {
    SCARD_READERSTATE state = {.szReader = c->reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    for (int round = 0; round < 10; ++round) {
        if (SCardGetStatusChange(c->context, 0, &state, 1) != SCARD_S_SUCCESS) return;
        if (state.dwEventState & SCARD_STATE_PRESENT) return;
        state.dwCurrentState = state.dwEventState;
        SCardGetStatusChange(c->context, 1000, &state, 1);
    }
}

int main(int argc, char **argv) {
    const char *wanted = argc > 1 ? argv[1] : NULL;
    struct conformance c = {0};

    check_context();

    watchdog_arm("setup", 60);
    LONG rc = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c.context);
    expect_rc("setup.establish", rc, SCARD_S_SUCCESS, NULL);
    if (rc != SCARD_S_SUCCESS) return conformance_failures();
    if (!pick_reader(&c, wanted)) {
        expect_true("setup.reader", 0, wanted ? wanted : "(any)");
        return conformance_failures();
    }
    wait_for_card(&c);
    watchdog_disarm();

    check_lists(&c);
    check_status_change(&c);
    check_connect(&c);
    check_status(&c);
    check_transmit(&c);
    check_reconnect(&c);
    check_transactions(&c);
    check_control(&c);
    check_attributes(&c);
    check_bad_handles(&c);
    check_disconnect(&c);
    check_raw(&c);
    check_stringify();

    expect_rc("teardown.release", SCardReleaseContext(c.context), SCARD_S_SUCCESS, NULL);
    printf("conformance: %d failure(s)\n", conformance_failures());
    return conformance_failures();
}

#include "conformance_report.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

int conformance_failures(void) { return failures; }

#define NAME(code) { code, #code }
static const struct {
    LONG code;
    const char *name;
} names[] = {
    NAME(SCARD_S_SUCCESS), NAME(SCARD_F_INTERNAL_ERROR), NAME(SCARD_E_CANCELLED),
    NAME(SCARD_E_INVALID_HANDLE), NAME(SCARD_E_INVALID_PARAMETER), NAME(SCARD_E_INVALID_TARGET),
    NAME(SCARD_E_NO_MEMORY), NAME(SCARD_F_WAITED_TOO_LONG), NAME(SCARD_E_INSUFFICIENT_BUFFER),
    NAME(SCARD_E_UNKNOWN_READER), NAME(SCARD_E_TIMEOUT), NAME(SCARD_E_SHARING_VIOLATION),
    NAME(SCARD_E_NO_SMARTCARD), NAME(SCARD_E_UNKNOWN_CARD), NAME(SCARD_E_CANT_DISPOSE),
    NAME(SCARD_E_PROTO_MISMATCH), NAME(SCARD_E_NOT_READY), NAME(SCARD_E_INVALID_VALUE),
    NAME(SCARD_E_SYSTEM_CANCELLED), NAME(SCARD_F_COMM_ERROR), NAME(SCARD_F_UNKNOWN_ERROR),
    NAME(SCARD_E_INVALID_ATR), NAME(SCARD_E_NOT_TRANSACTED), NAME(SCARD_E_READER_UNAVAILABLE),
    NAME(SCARD_P_SHUTDOWN), NAME(SCARD_E_PCI_TOO_SMALL), NAME(SCARD_E_READER_UNSUPPORTED),
    NAME(SCARD_E_DUPLICATE_READER), NAME(SCARD_E_CARD_UNSUPPORTED), NAME(SCARD_E_NO_SERVICE),
    NAME(SCARD_E_SERVICE_STOPPED), NAME(SCARD_E_UNSUPPORTED_FEATURE),
    NAME(SCARD_E_NO_READERS_AVAILABLE), NAME(SCARD_E_COMM_DATA_LOST),
    NAME(SCARD_W_UNSUPPORTED_CARD), NAME(SCARD_W_UNRESPONSIVE_CARD), NAME(SCARD_W_UNPOWERED_CARD),
    NAME(SCARD_W_RESET_CARD), NAME(SCARD_W_REMOVED_CARD),
};

const char *rc_name(LONG rc) {
    static char unknown[32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        if (names[i].code == rc) return names[i].name;
    }
    snprintf(unknown, sizeof unknown, "0x%08lX", (unsigned long)rc);
    return unknown;
}

static void line(const char *check, const char *result, const char *value, const char *detail) {
    printf("%s %s %s%s%s\n", check, result, value, detail && *detail ? " " : "", detail ? detail : "");
    fflush(stdout);
}

void expect_rc(const char *check, LONG rc, LONG expected, const char *detail) {
    if (rc == expected) {
        line(check, "ok", rc_name(rc), detail);
        return;
    }
    ++failures;
    char value[96];
    snprintf(value, sizeof value, "%s", rc_name(rc));
    char wanted[160];
    snprintf(wanted, sizeof wanted, "(expected %s)%s%s", rc_name(expected), detail ? " " : "", detail ? detail : "");
    line(check, "FAIL", value, wanted);
}

void expect_true(const char *check, int condition, const char *value) {
    if (!condition) ++failures;
    line(check, condition ? "ok" : "FAIL", value, NULL);
}

void record(const char *check, LONG rc, const char *detail) { line(check, "info", rc_name(rc), detail); }

void record_text(const char *check, const char *value) { line(check, "info", value, NULL); }

void hex_into(char *out, size_t out_size, const unsigned char *bytes, size_t n) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; ++i) {
        if (used + 6 >= out_size) {
            snprintf(out + used, out_size - used, "...");
            return;
        }
        used += (size_t)snprintf(out + used, out_size - used, "%02X", bytes[i]);
    }
    if (n == 0) snprintf(out, out_size, "-");
}

void multistring_into(char *out, size_t out_size, const char *multi, size_t n) {
    size_t used = 0;
    for (size_t i = 0; i < n && used + 1 < out_size; ++i) {
        if (multi[i] == '\0') {
            if (i + 1 >= n || multi[i + 1] == '\0') break;
            out[used++] = '|';
        } else {
            /* Names are printed on one line: a space would split the value of the check. */
            out[used++] = multi[i] == ' ' ? '_' : multi[i];
        }
    }
    out[used] = '\0';
}

static const char *watched_check = "";

static void on_alarm(int signo) {
    (void)signo;
    /* Only async-signal-safe calls here. */
    const char prefix[] = "\nwatchdog: blocked in check ";
    ssize_t ignored = write(STDOUT_FILENO, prefix, sizeof prefix - 1);
    ignored = write(STDOUT_FILENO, watched_check, strlen(watched_check));
    ignored = write(STDOUT_FILENO, "\n", 1);
    (void)ignored;
    _exit(100);
}

void watchdog_arm(const char *check, unsigned seconds) {
    watched_check = check;
    signal(SIGALRM, on_alarm);
    alarm(seconds);
}

void watchdog_disarm(void) { alarm(0); }

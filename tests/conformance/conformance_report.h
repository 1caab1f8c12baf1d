/* Output of the PC/SC conformance program: one line per check,
 *   check-name result value
 * result is "ok" or "FAIL" for hard expectations and "info" for recorded behaviour, value
 * the return code's symbolic name and the relevant output. Nothing in a line depends on the
 * time or the process, so that two runs (our library, pcsc-lite) can be diffed line by line. */
#ifndef CONFORMANCE_REPORT_H
#define CONFORMANCE_REPORT_H

#include <stddef.h>
#include <winscard.h>

/* Number of failed hard expectations so far (the exit code). */
int conformance_failures(void);

/* Symbolic name of a return code ("SCARD_E_TIMEOUT"), or its hex value when unknown. */
const char *rc_name(LONG rc);

/* Hard expectation: rc must be `expected`; `detail` (may be NULL) is appended. */
void expect_rc(const char *check, LONG rc, LONG expected, const char *detail);
/* Hard expectation on a condition, value printed as given. */
void expect_true(const char *check, int condition, const char *value);
/* Recorded only. */
void record(const char *check, LONG rc, const char *detail);
void record_text(const char *check, const char *value);

/* Hex of bytes into a static-size caller buffer (cut with "..." when too long). */
void hex_into(char *out, size_t out_size, const unsigned char *bytes, size_t n);
/* A multi-string ("a\0b\0\0") as "a|b" into out. */
void multistring_into(char *out, size_t out_size, const char *multi, size_t n);

/* Watchdog: a check that blocks longer than this ends the program (status 100) naming it. */
void watchdog_arm(const char *check, unsigned seconds);
void watchdog_disarm(void);

#endif

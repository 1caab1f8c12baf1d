/* SCardTransmit round trips for tests/vm/bench-usb.sh, through whichever libpcsclite.so.1 is
 * loaded (ours with LD_LIBRARY_PATH, or pcsc-lite + pcscd). <winscard.h> only.
 * Usage: pcsc_bench LABEL [SECONDS_PER_SIZE]   full measurement, bench_stats.h lines
 *        pcsc_bench --cold LABEL               one APDU as soon as the reader is there;
 *                                              prints "cold LABEL answered_ns=<CLOCK_REALTIME>"
 * Both end with "rss LABEL client_kb=<peak RSS>". The reader is the first whose name contains
 * "ccidkit". */
#include <string.h>
#include <sys/resource.h>
#include <winscard.h>

#include "bench_stats.h"

enum { kMaxSamples = 200000 };

static SCARDCONTEXT context;
static SCARDHANDLE card;
static DWORD protocol;

static const SCARD_IO_REQUEST *pci(void) { return protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1; }

/* Waits (PnP notification, no polling loop with sleeps) for a ccidkit reader and connects. */
static int connect_reader(void) {
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &context) != SCARD_S_SUCCESS) return 0;
    SCARD_READERSTATE pnp = {.szReader = "\\\\?PnP?\\Notification", .dwCurrentState = SCARD_STATE_UNAWARE};
    for (int round = 0; round < 60; ++round) {
        char readers[4096];
        DWORD len = sizeof readers;
        if (SCardListReaders(context, NULL, readers, &len) == SCARD_S_SUCCESS) {
            for (const char *r = readers; *r; r += strlen(r) + 1) {
                if (strstr(r, "ccidkit") &&
                    SCardConnect(context, r, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol) ==
                        SCARD_S_SUCCESS) {
                    return 1;
                }
            }
        }
        SCardGetStatusChange(context, 0, &pnp, 1);
        pnp.dwCurrentState = pnp.dwEventState;
        SCardGetStatusChange(context, 500, &pnp, 1);
    }
    return 0;
}

static unsigned char reply[65538];

static int transmit(const struct bench_apdu *a) {
    DWORD len = sizeof reply;
    LONG rc = SCardTransmit(card, pci(), a->bytes, (DWORD)a->length, NULL, reply, &len);
    return rc == SCARD_S_SUCCESS && len == a->response_length && reply[len - 2] == 0x90;
}

static void print_rss(const char *label) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("rss %s client_kb=%ld\n", label, usage.ru_maxrss);
}

int main(int argc, char **argv) {
    const int cold = argc > 1 && strcmp(argv[1], "--cold") == 0;
    const char *label = argc > 1 + cold ? argv[1 + cold] : "pcsc";
    const double seconds = !cold && argc > 2 ? atof(argv[2]) : 2.0;
    struct bench_apdu apdus[3];
    const size_t count = bench_apdus(apdus);
    if (!connect_reader()) {
        fprintf(stderr, "pcsc_bench: no ccidkit reader\n");
        return 2;
    }
    if (cold) {
        if (!transmit(&apdus[0])) return 1;
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        printf("cold %s answered_ns=%lld\n", label, (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
        print_rss(label);
        return 0;
    }
    static double samples[kMaxSamples];
    for (size_t k = 0; k < count; ++k) {
        for (int i = 0; i < 20; ++i) transmit(&apdus[k]); /* warm-up */
        size_t n = 0;
        const double start = bench_now_us();
        while (n < kMaxSamples && bench_now_us() - start < seconds * 1e6) {
            const double t0 = bench_now_us();
            if (!transmit(&apdus[k])) {
                fprintf(stderr, "pcsc_bench: %s failed\n", apdus[k].name);
                return 1;
            }
            samples[n++] = bench_now_us() - t0;
        }
        bench_report(label, apdus[k].name, samples, n, bench_now_us() - start);
    }
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    SCardReleaseContext(context);
    print_rss(label);
    return 0;
}

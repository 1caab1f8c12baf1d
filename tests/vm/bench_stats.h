/* Shared by the USB round-trip benchmarks (raw_ccid_bench.c, pcsc_bench.c): latency samples,
 * percentiles and the one-line result format that tests/vm/bench-usb.sh collects:
 *   bench PATH SIZE rate=N/s p50=Nus p90=Nus p99=Nus n=N
 * Header-only: the two programs are single-file C. */
#ifndef CCIDKIT_BENCH_STATS_H
#define CCIDKIT_BENCH_STATS_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static inline int bench_compare(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static inline double bench_percentile(const double *sorted, size_t n, double p) {
    if (n == 0) return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.5);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

/* Sorts the samples and prints the result line; `elapsed_us` is the whole loop's time. */
static inline void bench_report(const char *path, const char *size, double *samples, size_t n, double elapsed_us) {
    qsort(samples, n, sizeof samples[0], bench_compare);
    printf("bench %s %s rate=%.0f/s p50=%.0fus p90=%.0fus p99=%.0fus n=%zu\n", path, size,
           elapsed_us > 0 ? (double)n * 1e6 / elapsed_us : 0.0, bench_percentile(samples, n, 50),
           bench_percentile(samples, n, 90), bench_percentile(samples, n, 99), n);
    fflush(stdout);
}

/* The APDUs measured, all for the simulated card's echo application (CLA 80). */
struct bench_apdu {
    const char *name;
    unsigned char bytes[261];
    size_t length;
    size_t response_length; /* data + SW */
};

static inline size_t bench_apdus(struct bench_apdu *out) {
    /* 5-byte command, case 2: PATTERN, Le 5 -> 7-byte response. */
    struct bench_apdu a = {"cmd5", {0x80, 0x12, 0x00, 0x00, 0x05}, 5, 7};
    /* 5-byte command, case 2: PATTERN, Le 00 (256) -> 258-byte response. */
    struct bench_apdu b = {"cmd5_resp258", {0x80, 0x12, 0x00, 0x00, 0x00}, 5, 258};
    /* 261-byte command, case 4, Lc 255 Le 00: the largest short APDU -> 257-byte response. */
    struct bench_apdu c = {"cmd261_resp257", {0x80, 0x10, 0x00, 0x00, 0xFF}, 261, 257};
    for (size_t i = 0; i < 255; ++i) c.bytes[5 + i] = (unsigned char)i;
    c.bytes[260] = 0x00;
    out[0] = a;
    out[1] = b;
    out[2] = c;
    return 3;
}

#endif

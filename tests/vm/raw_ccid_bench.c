/* Host-side limit for tests/vm/bench-usb.sh: the CCID messages that SCardTransmit causes at
 * short-APDU level (one XfrBlock, one DataBlock per APDU), sent with synchronous libusb bulk
 * transfers straight to ccid-gadget, no driver. Prints bench_stats.h lines.
 * Usage: raw_ccid_bench [SECONDS_PER_SIZE]   (device 1209:CC1D, interface 0, slot 0) */
#include <libusb.h>
#include <stdint.h>
#include <string.h>

#include "bench_stats.h"

enum { kTimeoutMs = 5000, kMaxSamples = 200000 };

static libusb_device_handle *device;
static unsigned char out_ep, in_ep;
static unsigned char reply[70 * 1024];
static uint8_t seq;

static int find_endpoints(void) {
    struct libusb_config_descriptor *config = NULL;
    if (libusb_get_active_config_descriptor(libusb_get_device(device), &config) != 0) return 0;
    const struct libusb_interface_descriptor *alt = &config->interface[0].altsetting[0];
    for (int i = 0; i < alt->bNumEndpoints; ++i) {
        const struct libusb_endpoint_descriptor *e = &alt->endpoint[i];
        if ((e->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK) continue;
        if (e->bEndpointAddress & 0x80) in_ep = e->bEndpointAddress;
        else out_ep = e->bEndpointAddress;
    }
    libusb_free_config_descriptor(config);
    return in_ep && out_ep;
}

/* One command message, its reply (time extensions skipped); returns the reply length or -1. */
static int exchange(uint8_t type, const unsigned char *data, size_t n, uint8_t param) {
    unsigned char message[10 + 261];
    message[0] = type;
    message[1] = (unsigned char)n;
    message[2] = (unsigned char)(n >> 8);
    message[3] = message[4] = 0;
    message[5] = 0; /* slot */
    message[6] = ++seq;
    message[7] = param;
    message[8] = message[9] = 0;
    memcpy(message + 10, data, n);
    int done = 0;
    if (libusb_bulk_transfer(device, out_ep, message, (int)(10 + n), &done, kTimeoutMs) != 0) return -1;
    for (;;) {
        if (libusb_bulk_transfer(device, in_ep, reply, sizeof reply, &done, kTimeoutMs) != 0 || done < 10) return -1;
        if (reply[6] != seq) return -1;
        if ((reply[7] >> 6) == 2) continue; /* time extension */
        if ((reply[7] >> 6) != 0) return -1;
        return done;
    }
}

static void LIBUSB_CALL mark_done(struct libusb_transfer *t) { *(int *)t->user_data = 1; }

/* The same exchange with the bulk-IN transfer submitted before the bulk-OUT one (both async,
 * events handled on this thread): the reply never waits for the host to ask for it. */
static int exchange_preposted(const unsigned char *data, size_t n) {
    static struct libusb_transfer *out_t, *in_t;
    if (!out_t) {
        out_t = libusb_alloc_transfer(0);
        in_t = libusb_alloc_transfer(0);
    }
    unsigned char message[10 + 261] = {0x6F, (unsigned char)n, (unsigned char)(n >> 8), 0, 0, 0, ++seq, 0, 0, 0};
    memcpy(message + 10, data, n);
    int out_done = 0, in_done = 0;
    libusb_fill_bulk_transfer(in_t, device, in_ep, reply, sizeof reply, mark_done, &in_done, kTimeoutMs);
    libusb_fill_bulk_transfer(out_t, device, out_ep, message, (int)(10 + n), mark_done, &out_done, kTimeoutMs);
    if (libusb_submit_transfer(in_t) != 0) return -1;
    if (libusb_submit_transfer(out_t) != 0) return -1;
    while (!out_done) libusb_handle_events_completed(NULL, &out_done);
    while (!in_done) libusb_handle_events_completed(NULL, &in_done);
    if (in_t->status != LIBUSB_TRANSFER_COMPLETED || in_t->actual_length < 10 || reply[6] != seq) return -1;
    return in_t->actual_length;
}

int main(int argc, char **argv) {
    const double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (libusb_init(NULL) != 0) return 2;
    device = libusb_open_device_with_vid_pid(NULL, 0x1209, 0xCC1D);
    if (!device || libusb_claim_interface(device, 0) != 0 || !find_endpoints()) {
        fprintf(stderr, "raw_ccid_bench: cannot open 1209:CC1D\n");
        return 2;
    }
    if (exchange(0x62, NULL, 0, 0) < 0) { /* IccPowerOn, automatic voltage */
        fprintf(stderr, "raw_ccid_bench: power on failed\n");
        return 2;
    }
    static double samples[kMaxSamples];
    struct bench_apdu apdus[3];
    const size_t count = bench_apdus(apdus);
    for (size_t k = 0; k < count; ++k) {
        for (int i = 0; i < 20; ++i) exchange(0x6F, apdus[k].bytes, apdus[k].length, 0); /* warm-up */
        size_t n = 0;
        const double start = bench_now_us();
        while (n < kMaxSamples && bench_now_us() - start < seconds * 1e6) {
            const double t0 = bench_now_us();
            const int got = exchange(0x6F, apdus[k].bytes, apdus[k].length, 0);
            if (got != (int)(10 + apdus[k].response_length)) {
                fprintf(stderr, "raw_ccid_bench: %s: reply of %d bytes\n", apdus[k].name, got);
                return 1;
            }
            samples[n++] = bench_now_us() - t0;
        }
        bench_report("raw-libusb", apdus[k].name, samples, n, bench_now_us() - start);
    }
    /* Not one of the compared paths: shows what pre-posting the IN transfer would gain. */
    for (size_t k = 0; k < count; ++k) {
        size_t n = 0;
        const double start = bench_now_us();
        while (n < kMaxSamples && bench_now_us() - start < seconds * 1e6) {
            const double t0 = bench_now_us();
            if (exchange_preposted(apdus[k].bytes, apdus[k].length) != (int)(10 + apdus[k].response_length)) {
                fprintf(stderr, "raw_ccid_bench: preposted %s failed\n", apdus[k].name);
                return 1;
            }
            samples[n++] = bench_now_us() - t0;
        }
        bench_report("raw-libusb-prepost-in", apdus[k].name, samples, n, bench_now_us() - start);
    }
    libusb_release_interface(device, 0);
    libusb_close(device);
    libusb_exit(NULL);
    return 0;
}

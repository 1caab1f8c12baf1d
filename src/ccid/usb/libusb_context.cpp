#include "ccid/usb/libusb_context.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <system_error>

#include "ccid/logging.h"
#include "ccid/usb/usb_error.h"

namespace ccidkit::ccid::usb {

namespace {

// libusb_init_context and per-context options arrived in libusb 1.0.27 (API 0x0100010A).
#if defined(LIBUSB_API_VERSION) && LIBUSB_API_VERSION >= 0x0100010A
int init_without_discovery(libusb_context** ctx) {
    libusb_init_option option{};
    option.option = LIBUSB_OPTION_NO_DEVICE_DISCOVERY;
    return libusb_init_context(ctx, &option, 1);
}
#else
int init_without_discovery(libusb_context** ctx) {
    // 1.0.26: a plain context can wrap a file descriptor too; use it whenever it can be made.
    int r = libusb_init(ctx);
    if (r == LIBUSB_SUCCESS) return r;
    ccid::logger()->debug("usb: libusb_init failed ({}); retrying without device discovery (process-wide in libusb 1.0.26)",
                  libusb_error_name(r));
    r = libusb_set_option(nullptr, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
    if (r != LIBUSB_SUCCESS) return r;
    return libusb_init(ctx);
}
#endif

}  // namespace

std::expected<std::unique_ptr<LibusbContext>, TransportError> LibusbContext::create(Discovery discovery,
                                                                                     EventThread events) {
    libusb_context* raw = nullptr;
    const int r = discovery == Discovery::Enabled ? libusb_init(&raw) : init_without_discovery(&raw);
    if (r != LIBUSB_SUCCESS) {
        ccid::logger()->debug("usb: libusb_init failed: {}", libusb_error_name(r));
        return std::unexpected(from_libusb_error(r));
    }
    std::unique_ptr<LibusbContext> ctx(new LibusbContext(raw));
    if (events == EventThread::Dedicated) {
        try {
            ctx->thread_ = std::thread([c = ctx.get()] { c->run_events(); });
        } catch (const std::system_error& e) {
            ccid::logger()->debug("usb: cannot start the libusb event thread: {}", e.what());
            return std::unexpected(TransportError::Io);  // ~LibusbContext calls libusb_exit
        }
    }
    return ctx;
}

void LibusbContext::run_events() {
    while (!stop_.load(std::memory_order_acquire)) {
        // The timeout only bounds how long a lost wake-up could delay shutdown;
        // libusb_interrupt_event_handler normally ends the wait at once.
        timeval tv{1, 0};
        const int r = libusb_handle_events_timeout_completed(ctx_, &tv, nullptr);
        if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED) {
            ccid::logger()->debug("usb: libusb_handle_events failed: {}", libusb_error_name(r));
            // Avoid spinning if the event source itself is broken.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
}

LibusbContext::~LibusbContext() {
    if (thread_.joinable()) {
        stop_.store(true, std::memory_order_release);
        libusb_interrupt_event_handler(ctx_);
        thread_.join();
    }
    libusb_exit(ctx_);
}

}  // namespace ccidkit::ccid::usb

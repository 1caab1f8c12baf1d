// RAII owner of one libusb_context, optionally with a dedicated event thread. Internal to
// src/ccid/usb.
//
// Threading: asynchronous transfers and hotplug callbacks complete only while some thread
// handles libusb events. With EventThread::Dedicated this object runs that thread for the
// context's whole life, so callers just submit transfers and wait on their own condition
// variables; libusb allows submitting and cancelling from any thread. The destructor stops the
// thread (libusb_interrupt_event_handler wakes it at once) and then calls libusb_exit; every
// device handle of the context must be closed before.
#pragma once

#include <libusb.h>

#include <atomic>
#include <expected>
#include <memory>
#include <thread>

#include "ccid/transport.h"

namespace ccidkit::ccid::usb {

class LibusbContext {
public:
    enum class Discovery {
        Enabled,   // normal: libusb scans the bus and can list devices
        Disabled,  // only for wrapping an already-open file descriptor (see create())
    };
    enum class EventThread { None, Dedicated };

    // Discovery::Disabled asks for LIBUSB_OPTION_NO_DEVICE_DISCOVERY. libusb >= 1.0.27 sets it
    // on this context alone. In libusb 1.0.26 the Linux backend keeps that option in a
    // process-wide variable, so setting it would silently stop enumeration and hotplug for every
    // context created afterwards; there a plain context is made first and the option is only
    // used when a plain context cannot be created at all (sandbox without usbfs/netlink).
    static std::expected<std::unique_ptr<LibusbContext>, TransportError> create(Discovery discovery,
                                                                                 EventThread events);

    ~LibusbContext();
    LibusbContext(const LibusbContext&) = delete;
    LibusbContext& operator=(const LibusbContext&) = delete;

    libusb_context* get() const noexcept { return ctx_; }
    bool has_event_thread() const noexcept { return thread_.joinable(); }

private:
    explicit LibusbContext(libusb_context* ctx) : ctx_(ctx) {}
    void run_events();

    libusb_context* ctx_ = nullptr;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace ccidkit::ccid::usb

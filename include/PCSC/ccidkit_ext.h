/*
 * ccidkit extensions to the PC/SC API (not in pcsc-lite). The names start with "ccidkit_" so
 * that they can never clash with a pcsc-lite function; both libccidkit.so and the drop-in
 * libpcsclite.so.1 export them. A program that may run on the real pcsc-lite should look them
 * up with dlsym(RTLD_DEFAULT, "ccidkit_SCardAddReaderFromFd") rather than link to them.
 *
 * Readers handed over as a file descriptor
 * ----------------------------------------
 * A program that cannot open /dev/bus/usb itself (Android: UsbManager.openDevice() then
 * UsbDeviceConnection.getFileDescriptor(); Flatpak: the org.freedesktop.portal.Usb portal;
 * a program started by a privileged launcher) receives an open usbfs descriptor of the
 * device, /dev/bus/usb/BBB/DDD opened read-write. ccidkit_SCardAddReaderFromFd makes its
 * first CCID interface a reader (one reader per slot), named like an enumerated USB reader.
 *
 *  - The reader belongs to the process: every context sees it (SCardListReaders, and
 *    SCardGetStatusChange on "\\?PnP?\Notification" reports its arrival), not only hContext.
 *  - The descriptor stays the caller's: ccidkit never closes it. It is used until
 *    ccidkit_SCardRemoveReaderFromFd, until the device is unplugged (the reader then leaves
 *    the list, as an enumerated one does), or until the process ends (or the library is
 *    unloaded). Keep it open until then; close it only after the remove call returns.
 *  - Unplugging works as for enumerated readers: handles get SCARD_W_REMOVED_CARD or
 *    SCARD_E_READER_UNAVAILABLE, and SCARD_STATE_UNAVAILABLE / the reader leaving the list is
 *    reported to SCardGetStatusChange.
 *  - $CCIDKIT_USB_FD ("3" or "3,4") does the same for inherited descriptors when the library
 *    starts, so that unmodified PC/SC programs work when a launcher passes descriptors on.
 *    A bad entry is reported once on stderr and skipped.
 */
#ifndef CCIDKIT_EXT_H
#define CCIDKIT_EXT_H

#include <PCSC/winscard.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dwFlags of ccidkit_SCardAddReaderFromFd: no flags are defined yet; pass 0. */
#define CCIDKIT_FD_READER_DEFAULT 0u

/*
 * Adds the reader behind the usbfs descriptor fd.
 *   SCARD_S_SUCCESS             the reader is listed from now on
 *   SCARD_E_INVALID_HANDLE      hContext is not a valid context
 *   SCARD_E_INVALID_PARAMETER   fd < 0, or dwFlags has unknown bits
 *   SCARD_E_INVALID_VALUE       fd is not open, or is not a USB device node (a pipe, a file...)
 *   SCARD_E_READER_UNSUPPORTED  the USB device has no usable CCID reader interface
 *   SCARD_E_DUPLICATE_READER    this device (through fd or another descriptor) was already added
 *   SCARD_E_SHARING_VIOLATION   another program or kernel driver holds the reader interface
 *   SCARD_E_NO_ACCESS           no permission on the device (e.g. opened read-only)
 *   SCARD_E_READER_UNAVAILABLE  the device is gone, or did not answer its initialisation
 *   SCARD_E_UNSUPPORTED_FEATURE the process's readers come from a provider installed by the
 *                               application (ccidkit's C++ test hooks), which takes no descriptors
 *   SCARD_E_NO_SERVICE, SCARD_E_NO_MEMORY, SCARD_F_INTERNAL_ERROR as for any SCard call
 */
LONG ccidkit_SCardAddReaderFromFd(SCARDCONTEXT hContext, int fd, DWORD dwFlags);

/*
 * Stops using fd: its reader leaves the list, open handles on it get
 * SCARD_E_READER_UNAVAILABLE, and ccidkit no longer touches the descriptor once this returns.
 *   SCARD_S_SUCCESS, SCARD_E_INVALID_HANDLE (hContext), SCARD_E_UNKNOWN_READER (no reader was
 *   added from fd), SCARD_E_UNSUPPORTED_FEATURE, SCARD_E_NO_SERVICE
 */
LONG ccidkit_SCardRemoveReaderFromFd(SCARDCONTEXT hContext, int fd);

#ifdef __cplusplus
}
#endif

#endif

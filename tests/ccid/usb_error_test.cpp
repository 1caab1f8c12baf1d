// Tests of src/ccid/usb take libusb's constants from libusb.h: they belong to the USB module.
#include "ccid/usb/usb_error.h"

#include <gtest/gtest.h>
#include <libusb.h>

namespace ccidkit::ccid::usb {
namespace {

struct Row {
    int code;
    TransportError expected;
};
const Row kRows[] = {
    {LIBUSB_ERROR_IO, TransportError::Io},
    {LIBUSB_ERROR_INVALID_PARAM, TransportError::Io},
    {LIBUSB_ERROR_ACCESS, TransportError::Access},
    {LIBUSB_ERROR_NO_DEVICE, TransportError::NoDevice},
    {LIBUSB_ERROR_NOT_FOUND, TransportError::NotSupported},
    {LIBUSB_ERROR_BUSY, TransportError::Busy},
    {LIBUSB_ERROR_TIMEOUT, TransportError::Timeout},
    {LIBUSB_ERROR_OVERFLOW, TransportError::Overflow},
    {LIBUSB_ERROR_PIPE, TransportError::Stall},
    {LIBUSB_ERROR_INTERRUPTED, TransportError::Io},
    {LIBUSB_ERROR_NO_MEM, TransportError::Io},
    {LIBUSB_ERROR_NOT_SUPPORTED, TransportError::NotSupported},
    {LIBUSB_ERROR_OTHER, TransportError::Io},
};

TEST(UsbErrorMapping, EveryLibusbError) {
    for (const Row& row : kRows) {
        EXPECT_EQ(from_libusb_error(row.code), row.expected) << libusb_error_name(row.code);
    }
}

TEST(UsbErrorMapping, CoversTheWholeLibusbErrorRange) {
    // libusb_error spans -1..-12 and -99. Every code this libusb can name must be in the table
    // above (so a new libusb error is noticed here), and codes it cannot name fall back to Io.
    for (int code = -1; code >= -100; --code) {
        const std::string name = libusb_error_name(code);
        if (name == "**UNKNOWN**") {
            EXPECT_EQ(from_libusb_error(code), TransportError::Io) << code;
            continue;
        }
        bool listed = false;
        for (const Row& row : kRows) listed = listed || row.code == code;
        EXPECT_TRUE(listed) << name << " is missing from the mapping table test";
    }
}

TEST(UsbErrorMapping, NonErrorsAndUnknownCodesAreIo) {
    EXPECT_EQ(from_libusb_error(LIBUSB_SUCCESS), TransportError::Io);
    EXPECT_EQ(from_libusb_error(7), TransportError::Io);
    EXPECT_EQ(from_libusb_error(-13), TransportError::Io);
    EXPECT_EQ(from_libusb_error(-1000), TransportError::Io);
}

TEST(UsbTransferStatusMapping, EveryStatus) {
    EXPECT_EQ(from_transfer_status(LIBUSB_TRANSFER_COMPLETED), std::nullopt);
    EXPECT_EQ(from_transfer_status(LIBUSB_TRANSFER_ERROR), TransportError::Io);
    EXPECT_EQ(from_transfer_status(LIBUSB_TRANSFER_TIMED_OUT), TransportError::Timeout);
    EXPECT_EQ(from_transfer_status(LIBUSB_TRANSFER_CANCELLED), TransportError::Cancelled);
    EXPECT_EQ(from_transfer_status(LIBUSB_TRANSFER_STALL), TransportError::Stall);
    EXPECT_EQ(from_transfer_status(LIBUSB_TRANSFER_NO_DEVICE), TransportError::NoDevice);
    EXPECT_EQ(from_transfer_status(LIBUSB_TRANSFER_OVERFLOW), TransportError::Overflow);
    EXPECT_EQ(from_transfer_status(99), TransportError::Io);
    EXPECT_EQ(from_transfer_status(-1), TransportError::Io);
}

}  // namespace
}  // namespace ccidkit::ccid::usb

/* SCardControl (part 10 features, TLV properties) and SCardGetAttrib / SCardSetAttrib. */
#include <stdio.h>
#include <string.h>

#include "conformance.h"
#include "conformance_report.h"

/* Control code of a feature in a CM_IOCTL_GET_FEATURE_REQUEST answer, 0 when absent. */
static DWORD feature_code(const BYTE *tlv, DWORD n, BYTE tag) {
    for (DWORD i = 0; i + 6 <= n; i += 6) {
        if (tlv[i] == tag && tlv[i + 1] == 4) {
            return (DWORD)tlv[i + 2] << 24 | (DWORD)tlv[i + 3] << 16 | (DWORD)tlv[i + 4] << 8 | tlv[i + 5];
        }
    }
    return 0;
}

static void control_on(SCARDHANDLE h, const char *prefix) {
    char check[96], hex[600];
    BYTE out[512];
    DWORD len = 0;
    LONG rc = SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, out, sizeof out, &len);
    hex_into(hex, sizeof hex, out, rc == SCARD_S_SUCCESS ? len : 0);
    snprintf(check, sizeof check, "%s.features", prefix);
    expect_rc(check, rc, SCARD_S_SUCCESS, hex);
    DWORD tlv_code = rc == SCARD_S_SUCCESS ? feature_code(out, len, FEATURE_GET_TLV_PROPERTIES) : 0;
    snprintf(check, sizeof check, "%s.has_tlv_feature", prefix);
    expect_true(check, tlv_code != 0, "-");
    if (tlv_code) {
        rc = SCardControl(h, tlv_code, NULL, 0, out, sizeof out, &len);
        hex_into(hex, sizeof hex, out, rc == SCARD_S_SUCCESS ? len : 0);
        snprintf(check, sizeof check, "%s.tlv_properties", prefix);
        expect_rc(check, rc, SCARD_S_SUCCESS, hex);
        rc = SCardControl(h, tlv_code, NULL, 0, out, 2, &len);
        snprintf(check, sizeof check, "%s.tlv_properties.small_buffer", prefix);
        record(check, rc, NULL);
    }
    rc = SCardControl(h, SCARD_CTL_CODE(3500), NULL, 0, out, sizeof out, &len);
    snprintf(check, sizeof check, "%s.unknown_code", prefix);
    record(check, rc, NULL);
    rc = SCardControl(h, SCARD_CTL_CODE(1), (const BYTE *)"\x00", 1, out, sizeof out, &len);
    snprintf(check, sizeof check, "%s.escape_without_feature", prefix);
    record(check, rc, NULL);
}

void check_control(struct conformance *c) {
    SCARDHANDLE h = connect_shared(c, "control.connect");
    if (!h) return;
    watchdog_arm("control", 60);
    control_on(h, "control.shared");
    BYTE out[64];
    DWORD len = 0;
    record("control.null_length", SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, out, sizeof out, NULL), NULL);
    record("control.small_buffer", SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, out, 1, &len), NULL);
    SCardDisconnect(h, SCARD_LEAVE_CARD);

    DWORD active = 0;
    LONG rc = SCardConnect(c->context, c->reader, SCARD_SHARE_DIRECT, 0, &h, &active);
    if (rc == SCARD_S_SUCCESS) {
        control_on(h, "control.direct");
        SCardDisconnect(h, SCARD_LEAVE_CARD);
    }
    watchdog_disarm();
}

static void attribute(SCARDHANDLE h, const char *name, DWORD id, int as_text) {
    /* 264 bytes: pcsc-lite refuses larger buffers (see attrib.large_buffer). */
    BYTE value[264];
    DWORD len = sizeof value;
    LONG rc = SCardGetAttrib(h, id, value, &len);
    char detail[700];
    if (rc != SCARD_S_SUCCESS) {
        snprintf(detail, sizeof detail, "-");
    } else if (as_text) {
        char text[400];
        multistring_into(text, sizeof text, (const char *)value, len);
        snprintf(detail, sizeof detail, "len=%lu \"%s\"", (unsigned long)len, text);
    } else {
        char hex[620];
        hex_into(hex, sizeof hex, value, len);
        snprintf(detail, sizeof detail, "len=%lu %s", (unsigned long)len, hex);
    }
    char check[96];
    snprintf(check, sizeof check, "attrib.%s", name);
    record(check, rc, detail);
}

void check_attributes(struct conformance *c) {
    SCARDHANDLE h = connect_shared(c, "attrib.connect");
    if (!h) return;
    watchdog_arm("attrib", 60);
    attribute(h, "atr_string", SCARD_ATTR_ATR_STRING, 0);
    attribute(h, "icc_presence", SCARD_ATTR_ICC_PRESENCE, 0);
    attribute(h, "icc_interface_status", SCARD_ATTR_ICC_INTERFACE_STATUS, 0);
    attribute(h, "current_protocol_type", SCARD_ATTR_CURRENT_PROTOCOL_TYPE, 0);
    attribute(h, "vendor_name", SCARD_ATTR_VENDOR_NAME, 1);
    attribute(h, "vendor_ifd_type", SCARD_ATTR_VENDOR_IFD_TYPE, 1);
    attribute(h, "vendor_ifd_version", SCARD_ATTR_VENDOR_IFD_VERSION, 0);
    attribute(h, "vendor_ifd_serial_no", SCARD_ATTR_VENDOR_IFD_SERIAL_NO, 1);
    attribute(h, "channel_id", SCARD_ATTR_CHANNEL_ID, 0);
    attribute(h, "maxinput", SCARD_ATTR_MAXINPUT, 0);
    attribute(h, "device_friendly_name", SCARD_ATTR_DEVICE_FRIENDLY_NAME_A, 1);
    attribute(h, "device_system_name", SCARD_ATTR_DEVICE_SYSTEM_NAME_A, 1);
    attribute(h, "current_ifsc", SCARD_ATTR_CURRENT_IFSC, 0);
    attribute(h, "current_ifsd", SCARD_ATTR_CURRENT_IFSD, 0);
    attribute(h, "icc_type_per_atr", SCARD_ATTR_ICC_TYPE_PER_ATR, 0);
    attribute(h, "unknown_7fff0000", 0x7FFF0000, 0);

    BYTE atr[64];
    DWORD len = 0;
    LONG rc = SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, NULL, &len);
    char detail[64];
    snprintf(detail, sizeof detail, "len=%lu", (unsigned long)len);
    expect_rc("attrib.size_query", rc, SCARD_S_SUCCESS, detail);
    DWORD small = 2;
    rc = SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, atr, &small);
    snprintf(detail, sizeof detail, "len_reported=%d", small == len);
    expect_rc("attrib.small_buffer", rc, SCARD_E_INSUFFICIENT_BUFFER, detail);
    BYTE *alloc = NULL;
    DWORD alloc_len = SCARD_AUTOALLOCATE;
    rc = SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, (LPBYTE)&alloc, &alloc_len);
    snprintf(detail, sizeof detail, "len_ok=%d", alloc_len == len);
    expect_rc("attrib.autoallocate", rc, SCARD_S_SUCCESS, detail);
    if (rc == SCARD_S_SUCCESS) SCardFreeMemory(c->context, alloc);
    expect_rc("attrib.null_length", SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, atr, NULL), SCARD_E_INVALID_PARAMETER, NULL);
    BYTE big[1000];
    DWORD big_len = sizeof big;
    record("attrib.large_buffer", SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, big, &big_len), NULL);

    const BYTE one[] = {1};
    record("attrib.set.vendor_name", SCardSetAttrib(h, SCARD_ATTR_VENDOR_NAME, one, sizeof one), NULL);
    record("attrib.set.unknown", SCardSetAttrib(h, 0x7FFF0000, one, sizeof one), NULL);
    static const BYTE too_long[300];
    record("attrib.set.too_long", SCardSetAttrib(h, SCARD_ATTR_VENDOR_NAME, too_long, sizeof too_long), NULL);
    expect_rc("attrib.set.null", SCardSetAttrib(h, SCARD_ATTR_VENDOR_NAME, NULL, 1), SCARD_E_INVALID_PARAMETER, NULL);
    watchdog_disarm();
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

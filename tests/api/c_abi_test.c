/* The SCard API seen from C99, through include/PCSC/winscard.h only: type layouts, constants,
 * argument checks and, when built with CCIDKIT_C_TEST_WITH_FAKE, a full session with a fake
 * reader (connect, transmit, status, attributes, control, transaction, status change).
 * Prints "N passed, M failed" and exits non-zero on any failure. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reader.h>
#include <winscard.h>

#ifdef CCIDKIT_C_TEST_WITH_FAKE
void ccidkit_test_install_fake(void);
void ccidkit_test_uninstall(void);
#endif

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                       \
	do {                                                                  \
		if (cond)                                                         \
			++passed;                                                     \
		else {                                                            \
			++failed;                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                 \
	} while (0)

#define CHECK_RV(call, expected)                                          \
	do {                                                                  \
		LONG rv_ = (call);                                                \
		if (rv_ == (LONG)(expected))                                      \
			++passed;                                                     \
		else {                                                            \
			++failed;                                                     \
			fprintf(stderr, "%s:%d: %s returned 0x%08lX (%s), expected 0x%08lX\n", __FILE__, \
				__LINE__, #call, (unsigned long)rv_, pcsc_stringify_error(rv_),         \
				(unsigned long)(expected));                                             \
		}                                                                 \
	} while (0)

static void test_layouts(void)
{
	/* pcsc-lite's Linux ABI: long-sized DWORD/LONG, natural alignment. */
	CHECK(sizeof(DWORD) == sizeof(unsigned long));
	CHECK(sizeof(LONG) == sizeof(long));
	CHECK(sizeof(SCARDCONTEXT) == sizeof(long));
	CHECK(sizeof(SCARD_IO_REQUEST) == 2 * sizeof(unsigned long));
	CHECK(offsetof(SCARD_READERSTATE, pvUserData) == sizeof(void *));
	CHECK(offsetof(SCARD_READERSTATE, dwCurrentState) == 2 * sizeof(void *));
	CHECK(offsetof(SCARD_READERSTATE, cbAtr) == 2 * sizeof(void *) + 2 * sizeof(DWORD));
	CHECK(offsetof(SCARD_READERSTATE, rgbAtr) == 2 * sizeof(void *) + 3 * sizeof(DWORD));
	CHECK(sizeof(((SCARD_READERSTATE *)0)->rgbAtr) == 33);
	CHECK(sizeof(PCSC_TLV_STRUCTURE) == 6);
	CHECK(sizeof(PIN_PROPERTIES_STRUCTURE) == 4);
	CHECK(sizeof(PIN_VERIFY_STRUCTURE) == 19);
	CHECK(sizeof(PIN_MODIFY_STRUCTURE) == 24);
	CHECK(offsetof(PIN_VERIFY_STRUCTURE, ulDataLength) == 15);
	CHECK(SCARD_PCI_T0->dwProtocol == SCARD_PROTOCOL_T0);
	CHECK(SCARD_PCI_T1->dwProtocol == SCARD_PROTOCOL_T1);
	CHECK(SCARD_PCI_RAW->dwProtocol == SCARD_PROTOCOL_RAW);
	CHECK(SCARD_PCI_T1->cbPciLength == sizeof(SCARD_IO_REQUEST));
}

static void test_constants(void)
{
	CHECK(SCARD_E_NO_READERS_AVAILABLE == (LONG)0x8010002E);
	CHECK(SCARD_E_UNSUPPORTED_FEATURE == (LONG)0x8010001F);
	CHECK(SCARD_W_RESET_CARD == (LONG)0x80100068);
	CHECK(SCARD_AUTOALLOCATE == (DWORD)-1);
	CHECK(SCARD_STATE_MUTE == 0x0200);
	CHECK(SCARD_ATTR_ATR_STRING == 0x00090303);
	CHECK(SCARD_ATTR_VENDOR_IFD_VERSION == 0x00010102);
	CHECK(SCARD_ATTR_MAXINPUT == 0x0007A007);
	CHECK(SCARD_ATTR_DEVICE_FRIENDLY_NAME == 0x7FFF0003);
	CHECK(CM_IOCTL_GET_FEATURE_REQUEST == 0x42000D48);
	CHECK(FEATURE_GET_TLV_PROPERTIES == 0x12);
	CHECK(MAX_BUFFER_SIZE_EXTENDED == 65548);
	CHECK(strcmp(pcsc_stringify_error(SCARD_S_SUCCESS), "") != 0);
	CHECK(strstr(pcsc_stringify_error((LONG)0x12345678), "0x12345678") != NULL);
}

static void test_contexts(void)
{
	SCARDCONTEXT ctx = 0;
	char *groups = NULL;
	DWORD len = SCARD_AUTOALLOCATE;

	CHECK_RV(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, NULL), SCARD_E_INVALID_PARAMETER);
	CHECK_RV(SCardEstablishContext(42, NULL, NULL, &ctx), SCARD_E_INVALID_VALUE);
	CHECK_RV(SCardEstablishContext(SCARD_SCOPE_USER, NULL, NULL, &ctx), SCARD_S_SUCCESS);
	CHECK(ctx != 0);
	CHECK_RV(SCardIsValidContext(ctx), SCARD_S_SUCCESS);
	CHECK_RV(SCardListReaderGroups(ctx, (LPSTR)&groups, &len), SCARD_S_SUCCESS);
	CHECK(len == 22 && groups != NULL && strcmp(groups, "SCard$DefaultReaders") == 0 && groups[21] == '\0');
	CHECK_RV(SCardFreeMemory(ctx, groups), SCARD_S_SUCCESS);
	CHECK_RV(SCardCancel(ctx), SCARD_S_SUCCESS); /* nobody waiting: no effect */
	CHECK_RV(SCardReleaseContext(ctx), SCARD_S_SUCCESS);
	CHECK_RV(SCardIsValidContext(ctx), SCARD_E_INVALID_HANDLE);
	CHECK_RV(SCardReleaseContext(ctx), SCARD_E_INVALID_HANDLE);
	CHECK_RV(SCardFreeMemory(ctx, NULL), SCARD_E_INVALID_HANDLE);
	CHECK_RV(SCardDisconnect(12345, SCARD_LEAVE_CARD), SCARD_E_INVALID_HANDLE);
}

static void test_pnp_timeout(SCARDCONTEXT ctx)
{
	SCARD_READERSTATE rs;
	memset(&rs, 0, sizeof(rs));
	rs.szReader = "\\\\?PnP?\\Notification";
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	/* pcsc-lite: UNAWARE on the PnP entry does not count as a change. */
	CHECK_RV(SCardGetStatusChange(ctx, 0, &rs, 1), SCARD_E_TIMEOUT);
	CHECK((rs.dwEventState & SCARD_STATE_CHANGED) == 0);
}

#ifdef CCIDKIT_C_TEST_WITH_FAKE
static void test_session(void)
{
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD protocol = 0, len, state = 0, i;
	char *readers = NULL, *name = NULL;
	BYTE *atr = NULL;
	BYTE resp[300];
	BYTE buf[64];
	const BYTE get_data[] = {0x00, 0xCA, 0x00, 0x02, 0x00};
	SCARD_READERSTATE rs[2];

	ccidkit_test_install_fake();
	CHECK_RV(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
	len = SCARD_AUTOALLOCATE;
	CHECK_RV(SCardListReaders(ctx, NULL, (LPSTR)&readers, &len), SCARD_S_SUCCESS);
	CHECK(readers != NULL && strcmp(readers, "Fake C Reader (C1) 00 00") == 0);
	CHECK(len == strlen("Fake C Reader (C1) 00 00") + 2);

	CHECK_RV(SCardConnect(ctx, readers, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol),
		SCARD_S_SUCCESS);
	CHECK(protocol == SCARD_PROTOCOL_T1);

	len = sizeof(resp);
	CHECK_RV(SCardTransmit(card, SCARD_PCI_T1, get_data, sizeof(get_data), NULL, resp, &len), SCARD_S_SUCCESS);
	CHECK(len == 3 && resp[1] == 0x90 && resp[2] == 0x00);
	len = sizeof(resp);
	CHECK_RV(SCardTransmit(card, SCARD_PCI_T0, get_data, sizeof(get_data), NULL, resp, &len), SCARD_E_PROTO_MISMATCH);

	len = SCARD_AUTOALLOCATE;
	{
		DWORD atr_len = SCARD_AUTOALLOCATE;
		CHECK_RV(SCardStatus(card, (LPSTR)&name, &len, &state, &protocol, (LPBYTE)&atr, &atr_len), SCARD_S_SUCCESS);
		CHECK(name != NULL && strcmp(name, readers) == 0);
		CHECK(atr != NULL && atr_len == 4 && atr[0] == 0x3B);
		CHECK((state & 0xFFFF) == (SCARD_PRESENT | SCARD_POWERED | SCARD_NEGOTIABLE));
		CHECK(protocol == SCARD_PROTOCOL_T1);
	}

	len = sizeof(buf);
	CHECK_RV(SCardGetAttrib(card, SCARD_ATTR_ATR_STRING, buf, &len), SCARD_S_SUCCESS);
	CHECK(len == 4 && buf[1] == 0x80);
	CHECK_RV(SCardControl(card, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, buf, sizeof(buf), &len), SCARD_S_SUCCESS);
	CHECK(len % sizeof(PCSC_TLV_STRUCTURE) == 0 && len > 0);
	for (i = 0; i + 6 <= len; i += 6)
		CHECK(buf[i + 1] == 4);

	CHECK_RV(SCardBeginTransaction(card), SCARD_S_SUCCESS);
	CHECK_RV(SCardEndTransaction(card, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	CHECK_RV(SCardEndTransaction(card, SCARD_LEAVE_CARD), SCARD_E_NOT_TRANSACTED);

	memset(rs, 0, sizeof(rs));
	rs[0].szReader = readers;
	rs[0].dwCurrentState = SCARD_STATE_UNAWARE;
	rs[1].szReader = "\\\\?PnP?\\Notification";
	rs[1].dwCurrentState = SCARD_STATE_UNAWARE;
	CHECK_RV(SCardGetStatusChange(ctx, 0, rs, 2), SCARD_S_SUCCESS);
	CHECK(rs[0].dwEventState & SCARD_STATE_CHANGED);
	CHECK(rs[0].dwEventState & SCARD_STATE_PRESENT);
	CHECK(rs[0].dwEventState & SCARD_STATE_INUSE);
	CHECK(rs[0].cbAtr == 4);

	CHECK_RV(SCardDisconnect(card, SCARD_RESET_CARD), SCARD_S_SUCCESS);
	CHECK_RV(SCardFreeMemory(ctx, atr), SCARD_S_SUCCESS);
	CHECK_RV(SCardFreeMemory(ctx, name), SCARD_S_SUCCESS);
	CHECK_RV(SCardFreeMemory(ctx, readers), SCARD_S_SUCCESS);
	test_pnp_timeout(ctx);
	CHECK_RV(SCardReleaseContext(ctx), SCARD_S_SUCCESS);
	ccidkit_test_uninstall();
}
#else
static void test_no_reader(void)
{
	SCARDCONTEXT ctx;
	SCARDHANDLE card = 0;
	DWORD len = 0, protocol = 0;
	CHECK_RV(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
	CHECK_RV(SCardListReaders(ctx, NULL, NULL, &len), SCARD_E_NO_READERS_AVAILABLE);
	CHECK(len == 1);
	CHECK_RV(SCardConnect(ctx, "No Such Reader 00 00", SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &card, &protocol),
		SCARD_E_UNKNOWN_READER);
	test_pnp_timeout(ctx);
	CHECK_RV(SCardReleaseContext(ctx), SCARD_S_SUCCESS);
}
#endif

int main(void)
{
	test_layouts();
	test_constants();
	test_contexts();
#ifdef CCIDKIT_C_TEST_WITH_FAKE
	test_session();
#else
	test_no_reader();
#endif
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Lists readers, connects to the first one and sends SELECT MF: plain PC/SC, no daemon. */
#include <stdio.h>
#include <PCSC/winscard.h>

int main(void) {
    SCARDCONTEXT ctx; SCARDHANDLE card; DWORD proto, len = SCARD_AUTOALLOCATE, rlen;
    LPSTR readers = NULL; BYTE resp[258]; const BYTE select_mf[] = {0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00};
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS) return 1;
    if (SCardListReaders(ctx, NULL, (LPSTR)&readers, &len) != SCARD_S_SUCCESS) return 2;
    if (SCardConnect(ctx, readers, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &proto)) return 3;
    rlen = sizeof resp;
    LONG rv = SCardTransmit(card, proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0, select_mf,
                            sizeof select_mf, NULL, resp, &rlen);
    printf("%s: %s, SW %02X%02X\n", readers, pcsc_stringify_error(rv), resp[rlen - 2], resp[rlen - 1]);
    SCardDisconnect(card, SCARD_LEAVE_CARD); SCardFreeMemory(ctx, readers); SCardReleaseContext(ctx);
    return rv == SCARD_S_SUCCESS ? 0 : 4;
}

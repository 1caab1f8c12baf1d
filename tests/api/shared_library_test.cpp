// The drop-in libpcsclite.so.1 built by cmake/api.cmake: loadable with dlopen, exports the
// pcsc-lite entry points and keeps everything else hidden.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "PCSC/winscard.h"

namespace {

#ifdef CCIDKIT_PCSCLITE_SO
TEST(SharedLibrary, DropInPcscLite) {
    void* so = dlopen(CCIDKIT_PCSCLITE_SO, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(so, nullptr) << dlerror();
    for (const char* sym :
         {"SCardEstablishContext", "SCardReleaseContext", "SCardIsValidContext", "SCardListReaders",
          "SCardListReaderGroups", "SCardFreeMemory", "SCardCancel", "SCardGetStatusChange", "SCardConnect",
          "SCardReconnect", "SCardDisconnect", "SCardBeginTransaction", "SCardEndTransaction", "SCardStatus",
          "SCardTransmit", "SCardControl", "SCardGetAttrib", "SCardSetAttrib", "pcsc_stringify_error",
          "g_rgSCardT0Pci", "g_rgSCardT1Pci", "g_rgSCardRawPci"})
        EXPECT_NE(dlsym(so, sym), nullptr) << sym;
    // C++ internals stay inside (ccidkit::api::error_text(long)).
    EXPECT_EQ(dlsym(so, "_ZN7ccidkit3api10error_textEl"), nullptr);

    auto establish = reinterpret_cast<decltype(&SCardEstablishContext)>(dlsym(so, "SCardEstablishContext"));
    auto release = reinterpret_cast<decltype(&SCardReleaseContext)>(dlsym(so, "SCardReleaseContext"));
    auto list = reinterpret_cast<decltype(&SCardListReaders)>(dlsym(so, "SCardListReaders"));
    auto pci = static_cast<const SCARD_IO_REQUEST*>(dlsym(so, "g_rgSCardT1Pci"));
    ASSERT_TRUE(establish && release && list && pci);
    EXPECT_EQ(pci->dwProtocol, static_cast<unsigned long>(SCARD_PROTOCOL_T1));
    SCARDCONTEXT ctx = 0;
    ASSERT_EQ(establish(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
    DWORD len = 0;
    // The library has its own (default) provider: no reader without hardware.
    const LONG rc = list(ctx, nullptr, nullptr, &len);
    EXPECT_TRUE(rc == SCARD_S_SUCCESS || rc == SCARD_E_NO_READERS_AVAILABLE);
    EXPECT_EQ(release(ctx), SCARD_S_SUCCESS);
    dlclose(so);
}
#else
TEST(SharedLibrary, DropInPcscLite) { GTEST_SKIP() << "built without cmake/api.cmake (no library path)"; }
#endif

}  // namespace

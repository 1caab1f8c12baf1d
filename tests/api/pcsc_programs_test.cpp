// Unmodified PC/SC programs from Debian (pcsc-tools, python3-pyscard, opensc), built against
// pcsc-lite, run on our libpcsclite.so.1 through LD_LIBRARY_PATH with one simulated reader
// (CCID_VIRTUAL_READERS=1) and no pcscd. The reader name and the ATR in their output can only
// come from our library: pcsc-lite's own would find no daemon and no reader.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

#ifndef CCIDKIT_PCSCLITE_SO
#error "CCIDKIT_PCSCLITE_SO must name the built libpcsclite.so.1"
#endif

const std::string kReader = "ccidkit simulated reader (SIM0001-0) 00 00";
// ATR of sim::SimCard::t1_default().
const std::string kAtrSpaced = "3B 99 96 81 B1 FE 45 1F 07 80 57 63 63 69 64 6B 69 74 30";

struct ProgramRun {
    int status = -1;
    std::string output;  // stdout and stderr
};

// Runs `command` with our library first on the library path and one virtual reader.
ProgramRun run(const std::string& command) {
    const std::string dir = std::filesystem::path(CCIDKIT_PCSCLITE_SO).parent_path().string();
    // CCIDKIT_USB=0: a real reader on the test machine must not change the output.
    // CCIDKIT_LOCK_DIR empty: no cross-process lock files left behind by the programs.
    const std::string full = "env LD_LIBRARY_PATH='" + dir +
                             "' CCID_VIRTUAL_READERS=1 CCIDKIT_USB=0 CCIDKIT_LOCK_DIR= LD_PRELOAD= timeout 30 " +
                             command + " 2>&1";
    ProgramRun r;
    FILE* p = ::popen(full.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0 && r.output.size() < (1u << 20))
        r.output.append(buf.data(), n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

bool installed(const char* path) { return ::access(path, X_OK) == 0; }

class PcscPrograms : public ::testing::Test {
protected:
    void SetUp() override {
#ifdef CCIDKIT_SANITIZED
        GTEST_SKIP() << "the sanitizer build's libpcsclite.so.1 needs the sanitizer runtime, which these "
                        "uninstrumented programs do not load";
#endif
        if (!std::filesystem::exists(CCIDKIT_PCSCLITE_SO)) GTEST_SKIP() << CCIDKIT_PCSCLITE_SO << " not built";
    }
};

TEST_F(PcscPrograms, LddPicksOurLibrary) {
    if (!installed("/usr/bin/pcsc_scan")) GTEST_SKIP() << "pcsc_scan not installed (Debian package pcsc-tools)";
    const ProgramRun r = run("ldd /usr/bin/pcsc_scan");
    const std::string dir = std::filesystem::path(CCIDKIT_PCSCLITE_SO).parent_path().string();
    EXPECT_NE(r.output.find("libpcsclite.so.1 => " + dir + "/libpcsclite.so.1"), std::string::npos) << r.output;
}

TEST_F(PcscPrograms, PcscScanListsReaderAndAtr) {
    if (!installed("/usr/bin/pcsc_scan")) GTEST_SKIP() << "pcsc_scan not installed (Debian package pcsc-tools)";
    const ProgramRun readers = run("/usr/bin/pcsc_scan -r");
    EXPECT_EQ(readers.status, 0) << readers.output;
    EXPECT_NE(readers.output.find("0: " + kReader), std::string::npos) << readers.output;

    // -c: one look at the cards, then exit (-n: no ATR analysis, which needs a network list).
    const ProgramRun cards = run("/usr/bin/pcsc_scan -c -n");
    EXPECT_EQ(cards.status, 0) << cards.output;
    EXPECT_NE(cards.output.find("Reader 0: " + kReader), std::string::npos) << cards.output;
    EXPECT_NE(cards.output.find("Card inserted"), std::string::npos) << cards.output;
    EXPECT_NE(cards.output.find("ATR: " + kAtrSpaced), std::string::npos) << cards.output;
}

TEST_F(PcscPrograms, PyscardTransmits) {
    // Debian's python3-pyscard lives in /usr/lib/python3/dist-packages, which only Debian's
    // interpreter sees.
    if (!installed("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not installed";
    if (run("/usr/bin/python3 -c 'import smartcard'").status != 0)
        GTEST_SKIP() << "python3-pyscard not installed for /usr/bin/python3";
    const char* script =
        "from smartcard.System import readers\n"
        "from smartcard.util import toHexString\n"
        "rs = readers()\n"
        "print('READERS', [str(r) for r in rs])\n"
        "c = rs[0].createConnection()\n"
        "c.connect()\n"
        "print('ATR', toHexString(c.getATR()))\n"
        "d, sw1, sw2 = c.transmit([0x00, 0xA4, 0x04, 0x0C, 0x09, 0xF0, 0x43, 0x43, 0x49, 0x44, 0x4B, 0x49, 0x54, 0x01])\n"
        "print('SELECT %02X%02X' % (sw1, sw2))\n"
        "d, sw1, sw2 = c.transmit([0x80, 0x10, 0x00, 0x00, 0x03, 0x0A, 0x0B, 0x0C, 0x03])\n"
        "print('ECHO', toHexString(d), '%02X%02X' % (sw1, sw2))\n"
        "c.disconnect()\n";
    const std::string path = ::testing::TempDir() + "ccidkit_pyscard_test.py";
    {
        FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs(script, f);
        std::fclose(f);
    }
    const ProgramRun r = run("/usr/bin/python3 " + path);
    std::filesystem::remove(path);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("READERS ['" + kReader + "']"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("ATR " + kAtrSpaced), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("SELECT 9000"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("ECHO 0A 0B 0C 9000"), std::string::npos) << r.output;
}

TEST_F(PcscPrograms, OpenscToolListsReaderAndAtr) {
    if (!installed("/usr/bin/opensc-tool")) GTEST_SKIP() << "opensc-tool not installed (Debian package opensc)";
    const ProgramRun list = run("/usr/bin/opensc-tool --list-readers");
    EXPECT_EQ(list.status, 0) << list.output;
    EXPECT_NE(list.output.find("Yes             " + kReader), std::string::npos) << list.output;
    const ProgramRun atr = run("/usr/bin/opensc-tool --atr");
    EXPECT_EQ(atr.status, 0) << atr.output;
    EXPECT_NE(atr.output.find("3b:99:96:81:b1:fe:45:1f:07:80:57:63:63:69:64:6b:69:74:30"), std::string::npos)
        << atr.output;
}

}  // namespace

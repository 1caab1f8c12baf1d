// Readers from usbfs file descriptors (api/fd_readers.h, PCSC/ccidkit_ext.h) on a machine
// without USB: every descriptor that is not a USB device node gets its documented error,
// stays open (ccidkit never closes the caller's descriptor), and nothing is listed. The real
// device path is proven in the VM (tests/vm/fd_reader_vm.sh).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "PCSC/ccidkit_ext.h"
#include "PCSC/winscard.h"
#include "api/ccid_backend_provider.h"
#include "api/cxx/scard.h"
#include "api/fd_readers.h"
#include "api/service_options.h"
#include "api/service_registry.h"
#include "api/fake_backend.h"
#include "common/scoped_env.h"

using namespace ccidkit;
using namespace ccidkit::api;

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

class Pipe {
public:
    Pipe() { EXPECT_EQ(::pipe(fds_), 0); }
    ~Pipe() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    int read_end() const { return fds_[0]; }

private:
    int fds_[2] = {-1, -1};
};

// A descriptor number with no open file behind it; high, so that files opened meanwhile
// (gtest's stderr capture) do not take it.
int closed_descriptor() {
    int fd = 900;
    while (is_open(fd)) ++fd;
    return fd;
}

using ccidkit::testing::ScopedEnv;

}  // namespace

// ---- $CCIDKIT_USB_FD parsing ----

TEST(UsbFdList, OneOrSeveralNumbers) {
    EXPECT_EQ(parse_usb_fd_list("3").fds, std::vector<int>({3}));
    const FdList several = parse_usb_fd_list(" 3 , 4,17 ");
    EXPECT_EQ(several.fds, std::vector<int>({3, 4, 17}));
    EXPECT_TRUE(several.errors.empty());
}

TEST(UsbFdList, BadEntriesAreReportedAndSkippedOthersKept) {
    const FdList l = parse_usb_fd_list("abc,5,-1,,3x,99999999999,5,0x4,6");
    EXPECT_EQ(l.fds, std::vector<int>({5, 6}));
    ASSERT_EQ(l.errors.size(), 7u);
    EXPECT_EQ(l.errors[0], "'abc' is not a descriptor number");
    EXPECT_EQ(l.errors[1], "'-1': descriptor numbers are not negative");
    EXPECT_NE(l.errors[2].find("empty entry"), std::string::npos);
    EXPECT_EQ(l.errors[3], "'3x' is not a descriptor number");
    EXPECT_EQ(l.errors[4], "'99999999999': descriptor number out of range");
    EXPECT_EQ(l.errors[5], "descriptor 5 is named twice");
    EXPECT_EQ(l.errors[6], "'0x4' is not a descriptor number");
}

TEST(UsbFdList, BlankTextIsOneError) {
    const FdList l = parse_usb_fd_list(" ");
    EXPECT_TRUE(l.fds.empty());
    EXPECT_EQ(l.errors.size(), 1u);
}

// ---- FdReaderSet ----

TEST(FdReaderSet, DescriptorsThatAreNotUsbDevicesAreRefusedAndLeftOpen) {
    int changes = 0;
    FdReaderSet set([&] { ++changes; });
    Pipe pipe;
    std::FILE* file = std::tmpfile();
    ASSERT_NE(file, nullptr);
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ASSERT_GE(null_fd, 0);

    EXPECT_EQ(set.add(-1).error(), FdReaderError::InvalidDescriptor);
    EXPECT_EQ(set.add(closed_descriptor()).error(), FdReaderError::NotOpen);
    EXPECT_EQ(set.add(pipe.read_end()).error(), FdReaderError::NotUsbDevice);
    EXPECT_EQ(set.add(::fileno(file)).error(), FdReaderError::NotUsbDevice);
    EXPECT_EQ(set.add(null_fd).error(), FdReaderError::NotUsbDevice);  // a character device, not usbfs

    EXPECT_TRUE(is_open(pipe.read_end()));
    EXPECT_TRUE(is_open(::fileno(file)));
    EXPECT_TRUE(is_open(null_fd));
    EXPECT_TRUE(set.backends().empty());
    EXPECT_EQ(changes, 0);
    EXPECT_EQ(set.remove(pipe.read_end()).error(), FdReaderError::Unknown);
    ::close(null_fd);
    std::fclose(file);
}

TEST(FdReaderSet, EveryErrorHasAMessage) {
    for (int e = 0; e <= static_cast<int>(FdReaderError::Unknown); ++e)
        EXPECT_NE(to_string(static_cast<FdReaderError>(e)), "unknown error") << e;
}

// ---- C and C++ API ----

class FdReaderApi : public ::testing::Test {
protected:
    void SetUp() override {
        CcidProviderOptions o;
        o.usb = false;  // no USB on the test machine; fd readers do not need enumeration
        install_provider(std::make_shared<CcidProvider>(std::move(o)), ServiceOptions{});
        ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx_), SCARD_S_SUCCESS);
    }
    void TearDown() override {
        SCardReleaseContext(ctx_);
        install_provider(nullptr);
    }
    SCARDCONTEXT ctx_ = 0;
};

TEST_F(FdReaderApi, DocumentedErrorCodes) {
    Pipe pipe;
    EXPECT_EQ(ccidkit_SCardAddReaderFromFd(ctx_, -1, 0), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(ccidkit_SCardAddReaderFromFd(ctx_, pipe.read_end(), 1), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(ccidkit_SCardAddReaderFromFd(ctx_ + 1, pipe.read_end(), 0), SCARD_E_INVALID_HANDLE);
    EXPECT_EQ(ccidkit_SCardAddReaderFromFd(ctx_, pipe.read_end(), CCIDKIT_FD_READER_DEFAULT), SCARD_E_INVALID_VALUE);
    EXPECT_EQ(ccidkit_SCardAddReaderFromFd(ctx_, closed_descriptor(), 0), SCARD_E_INVALID_VALUE);
    EXPECT_EQ(ccidkit_SCardRemoveReaderFromFd(ctx_, pipe.read_end()), SCARD_E_UNKNOWN_READER);
    EXPECT_EQ(ccidkit_SCardRemoveReaderFromFd(ctx_ + 1, pipe.read_end()), SCARD_E_INVALID_HANDLE);
    EXPECT_TRUE(is_open(pipe.read_end()));

    DWORD len = 0;
    EXPECT_EQ(SCardListReaders(ctx_, nullptr, nullptr, &len), SCARD_E_NO_READERS_AVAILABLE);
}

TEST_F(FdReaderApi, CxxApiGivesTheSameCodes) {
    auto ctx = scard::Context::establish();
    ASSERT_TRUE(ctx.has_value());
    Pipe pipe;
    EXPECT_EQ(ctx->add_reader_from_fd(pipe.read_end()).error().code, SCARD_E_INVALID_VALUE);
    EXPECT_EQ(ctx->add_reader_from_fd(-3).error().code, SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(ctx->remove_reader_from_fd(pipe.read_end()).error().code, SCARD_E_UNKNOWN_READER);
}

TEST(FdReaderApiProvider, AnInstalledProviderWithoutDescriptorsSaysUnsupported) {
    install_provider(std::make_shared<api::testing::FakeProvider>(), ServiceOptions{});
    SCARDCONTEXT ctx = 0;
    ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
    Pipe pipe;
    EXPECT_EQ(ccidkit_SCardAddReaderFromFd(ctx, pipe.read_end(), 0), SCARD_E_UNSUPPORTED_FEATURE);
    SCardReleaseContext(ctx);
    install_provider(nullptr);
}

// ---- $CCIDKIT_USB_FD at provider start ----

TEST(FdReaderEnvironment, BadValuesAreReportedOnceAndSkipped) {
    Pipe pipe;
    const int closed = closed_descriptor();
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv virt("CCID_VIRTUAL_READERS", std::nullopt);
    ScopedEnv fds("CCIDKIT_USB_FD", "abc," + std::to_string(pipe.read_end()) + "," + std::to_string(closed));
    install_provider(nullptr, ServiceOptions{});  // the default provider, reading the environment

    ::testing::internal::CaptureStderr();
    SCARDCONTEXT ctx = 0;
    const LONG rc = SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx);
    DWORD len = 0;
    const LONG list = SCardListReaders(ctx, nullptr, nullptr, &len);
    SCARDCONTEXT second = 0;
    const LONG rc2 = SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &second);
    const std::string err = ::testing::internal::GetCapturedStderr();

    EXPECT_EQ(rc, SCARD_S_SUCCESS);  // the service starts; only the bad descriptors are left out
    EXPECT_EQ(rc2, SCARD_S_SUCCESS);
    EXPECT_EQ(list, SCARD_E_NO_READERS_AVAILABLE);
    const std::string abc = "ccidkit: CCIDKIT_USB_FD: 'abc' is not a descriptor number; skipped\n";
    const std::string not_usb = "ccidkit: CCIDKIT_USB_FD: descriptor " + std::to_string(pipe.read_end()) +
                                ": not a USB device node (/dev/bus/usb/BBB/DDD); skipped\n";
    const std::string not_open = "ccidkit: CCIDKIT_USB_FD: descriptor " + std::to_string(closed) +
                                 ": no open file behind this descriptor; skipped\n";
    EXPECT_EQ(err, abc + not_usb + not_open);  // once, though two contexts were made
    EXPECT_TRUE(is_open(pipe.read_end()));
    SCardReleaseContext(ctx);
    SCardReleaseContext(second);
    install_provider(nullptr);
}

TEST(FdReaderEnvironment, UnsetOrEmptyPrintsNothing) {
    ScopedEnv usb("CCIDKIT_USB", "0");
    ScopedEnv virt("CCID_VIRTUAL_READERS", std::nullopt);
    ScopedEnv fds("CCIDKIT_USB_FD", "");
    install_provider(nullptr, ServiceOptions{});
    ::testing::internal::CaptureStderr();
    SCARDCONTEXT ctx = 0;
    EXPECT_EQ(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
    SCardReleaseContext(ctx);
    install_provider(nullptr);
}

#include "api/cross_process.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace ccidkit::api {

namespace {

constexpr std::size_t kMapSize = 4096;
constexpr std::uint32_t kMagic = 0x43434B31;  // "CCK1"
constexpr off_t kConnectionByte = 0;
constexpr off_t kIoByte = 1;

// Layout of the shared page. Only 4-byte aligned words, accessed atomically.
struct SharedPage {
    std::uint32_t magic;
    std::uint32_t reset_generation;
};
static_assert(sizeof(SharedPage) <= kMapSize);

std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

int ofd_lock(int fd, short type, off_t byte, bool wait) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = byte;
    fl.l_len = 1;
    for (;;) {
        if (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0) return 0;
        if (errno != EINTR) return errno;
    }
}

// Accepts the directory only if it is ours and private: other users must not be able to
// plant or remove lock files (a lock file is also shared memory).
bool usable_directory(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return false;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return false;
    return S_ISDIR(st.st_mode) && st.st_uid == ::getuid() && (st.st_mode & 0022) == 0;
}

std::atomic_ref<std::uint32_t> word(void* map, std::size_t offset) {
    return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(static_cast<char*>(map) + offset));
}

}  // namespace

std::string lock_file_name(const std::string& device_id, std::uint8_t slot) {
    std::string safe;
    for (char c : device_id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '-' || c == '_';
        safe.push_back(ok ? c : '_');
    }
    if (safe.size() > 64 || safe.empty() || safe.front() == '.') safe = fmt::format("{:016x}", fnv1a(device_id));
    return fmt::format("{}-{:02X}.lock", safe, slot);
}

std::string default_lock_dir() {
    if (const char* d = std::getenv("CCIDKIT_LOCK_DIR")) return d;  // empty: disabled
    if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/ccidkit";
    return fmt::format("/tmp/ccidkit-{}", ::getuid());
}

SharedReaderFile::SharedReaderFile(int fd, void* map) : fd_(fd), map_(map) {}

SharedReaderFile::~SharedReaderFile() {
    if (map_) ::munmap(map_, kMapSize);
    if (fd_ >= 0) ::close(fd_);  // drops every lock of this open file description
}

std::unique_ptr<SharedReaderFile> SharedReaderFile::open(const std::string& dir, const std::string& device_id,
                                                         std::uint8_t slot) {
    if (dir.empty() || !usable_directory(dir)) return nullptr;
    const std::string path = dir + "/" + lock_file_name(device_id, slot);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return nullptr;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::getuid()) {
        ::close(fd);
        return nullptr;
    }
    // Growing the file is harmless when another process already did it.
    if (st.st_size < static_cast<off_t>(kMapSize) && ::ftruncate(fd, kMapSize) != 0) {
        ::close(fd);
        return nullptr;
    }
    void* map = ::mmap(nullptr, kMapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        ::close(fd);
        return nullptr;
    }
    // A fresh file reads as zeros; the magic only documents the format.
    std::uint32_t zero = 0;
    word(map, offsetof(SharedPage, magic)).compare_exchange_strong(zero, kMagic);
    return std::unique_ptr<SharedReaderFile>(new SharedReaderFile(fd, map));
}

bool SharedReaderFile::set_connection(Connection c) {
    const short type = c == Connection::Exclusive ? F_WRLCK : c == Connection::Shared ? F_RDLCK : F_UNLCK;
    // F_OFD_SETLK converts an existing lock atomically: on conflict the old one stays.
    if (ofd_lock(fd_, type, kConnectionByte, false) != 0) return false;
    connection_ = c;
    return true;
}

SharedReaderFile::Connection SharedReaderFile::others_connection() const {
    struct flock fl {};
    fl.l_type = F_WRLCK;  // conflicts with any lock: tells whether anyone else holds one
    fl.l_whence = SEEK_SET;
    fl.l_start = kConnectionByte;
    fl.l_len = 1;
    if (::fcntl(fd_, F_OFD_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) return Connection::None;
    return fl.l_type == F_WRLCK ? Connection::Exclusive : Connection::Shared;
}

bool SharedReaderFile::lock_io() { return ofd_lock(fd_, F_WRLCK, kIoByte, true) == 0; }

bool SharedReaderFile::try_lock_io() { return ofd_lock(fd_, F_WRLCK, kIoByte, false) == 0; }

void SharedReaderFile::unlock_io() { (void)ofd_lock(fd_, F_UNLCK, kIoByte, false); }

std::uint32_t SharedReaderFile::reset_generation() const {
    return word(map_, offsetof(SharedPage, reset_generation)).load(std::memory_order_acquire);
}

std::uint32_t SharedReaderFile::bump_reset_generation() {
    return word(map_, offsetof(SharedPage, reset_generation)).fetch_add(1, std::memory_order_acq_rel) + 1;
}

}  // namespace ccidkit::api

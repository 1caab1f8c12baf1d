#include "api/shared_device.h"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include "api/cross_process.h"
#include "ccid/logging.h"
#include "ccid/reader.h"
#include "ccid/session_snapshot.h"

namespace ccidkit::api {
namespace {

constexpr std::size_t kMapSize = 4096;
constexpr std::uint32_t kMagic = 0x43434B44;  // "CCKD"
constexpr std::uint32_t kVersion = 2;  // 2: per-slot "powered" word
constexpr off_t kPresenceByte = 0;
constexpr off_t kTokenByte = 1;

// Shared page layout: 4-byte words only, each accessed atomically.
struct PageSlot {
    std::uint32_t present;
    std::uint32_t events;
    std::uint32_t session_generation;
    std::uint32_t session_length;
    std::uint32_t powered;  // the published session has the card active (readable without the token)
    std::uint8_t session[ccid::kMaxSessionSnapshotSize];
};
struct Page {
    std::uint32_t magic;
    std::uint32_t version;
    std::uint32_t slot_count;
    std::uint32_t change;        // futex word
    std::uint32_t last_poll_ms;  // CLOCK_MONOTONIC (system-wide) in ms, truncated
    // Bumped by every process once it holds its presence lock: a process that found itself
    // alone at join count J is still alone while the count is J (see SharedDevice::alone_cached).
    std::uint32_t joins;
    std::uint32_t reserved[2];
    PageSlot slots[SharedDevice::kMaxSlots];
};
static_assert(sizeof(Page) <= kMapSize);
static_assert(ccid::kMaxSessionSnapshotSize % 4 == 0);

std::uint32_t monotonic_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
                                      static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u);
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

bool usable_directory(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return false;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return false;
    return S_ISDIR(st.st_mode) && st.st_uid == ::getuid() && (st.st_mode & 0022) == 0;
}

}  // namespace

std::string device_lock_file_name(const std::string& device_id) { return lock_file_name(device_id + ".dev", 0); }

// The lock file and its page.
class SharedDeviceFile {
public:
    static std::unique_ptr<SharedDeviceFile> open(const std::string& dir, const std::string& device_id,
                                                  unsigned slots) {
        if (dir.empty() || !usable_directory(dir)) return nullptr;
        const std::string path = dir + "/" + device_lock_file_name(device_id);
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) return nullptr;
        auto fail = [fd] {
            ::close(fd);
            return nullptr;
        };
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::getuid()) return fail();
        // Whoever opens first (the presence byte can be write-locked) initialises the page
        // before turning its lock into a read lock; the others join with a read lock, which
        // waits out that (and any short "alone?" test), and then find the page ready.
        const bool first = ofd_lock(fd, F_WRLCK, kPresenceByte, false) == 0;
        if (!first && ofd_lock(fd, F_RDLCK, kPresenceByte, true) != 0) return fail();
        if (st.st_size < static_cast<off_t>(kMapSize) && ::ftruncate(fd, kMapSize) != 0) return fail();
        void* map = ::mmap(nullptr, kMapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) return fail();
        std::unique_ptr<SharedDeviceFile> file(new SharedDeviceFile(fd, static_cast<Page*>(map)));
        bool ok = true;
        if (first) {
            // Nobody else has it open: whatever it holds was left by processes that are gone
            // (maybe in the middle of an exchange, so no session in it is trusted).
            std::memset(map, 0, kMapSize);
            file->word(&Page::version).store(kVersion);
            file->word(&Page::slot_count).store(slots);
            file->word(&Page::magic).store(kMagic);
            ok = ofd_lock(fd, F_RDLCK, kPresenceByte, false) == 0;  // a conversion: cannot conflict
        } else if (file->word(&Page::magic).load() != kMagic || file->word(&Page::version).load() != kVersion ||
                   file->word(&Page::slot_count).load() != slots) {
            ccid::logger()->warn("api: {}: shared page of another format; reader not shared", path);
            ok = false;
        }
        if (ok) file->word(&Page::joins).fetch_add(1);  // after the presence lock is held
        return ok ? std::move(file) : nullptr;
    }

    ~SharedDeviceFile() {
        ::munmap(page_, kMapSize);
        ::close(fd_);  // drops every lock of this open file description
    }
    SharedDeviceFile(const SharedDeviceFile&) = delete;
    SharedDeviceFile& operator=(const SharedDeviceFile&) = delete;

    bool alone() {
        if (ofd_lock(fd_, F_WRLCK, kPresenceByte, false) != 0) return false;
        (void)ofd_lock(fd_, F_RDLCK, kPresenceByte, false);  // a conversion: cannot conflict
        return true;
    }
    bool lock_token(bool wait) { return ofd_lock(fd_, F_WRLCK, kTokenByte, wait) == 0; }
    void unlock_token() { (void)ofd_lock(fd_, F_UNLCK, kTokenByte, false); }

    std::atomic_ref<std::uint32_t> word(std::uint32_t Page::*member) const { return std::atomic_ref(page_->*member); }
    std::atomic_ref<std::uint32_t> slot_word(unsigned slot, std::uint32_t PageSlot::*member) const {
        return std::atomic_ref(page_->slots[slot].*member);
    }
    std::uint32_t* change_word() const { return &page_->change; }

    // Under the token only.
    Bytes read_session(unsigned slot) const {
        const std::uint32_t n = slot_word(slot, &PageSlot::session_length).load();
        if (n > ccid::kMaxSessionSnapshotSize) return {};  // refused by the decoder anyway
        Bytes out(n);
        std::atomic_thread_fence(std::memory_order_acquire);
        std::memcpy(out.data(), page_->slots[slot].session, n);
        return out;
    }
    void write_session(unsigned slot, ByteView bytes, bool powered) {
        if (bytes.size() > ccid::kMaxSessionSnapshotSize) bytes = {};
        slot_word(slot, &PageSlot::powered).store(powered && !bytes.empty() ? 1 : 0);
        std::memcpy(page_->slots[slot].session, bytes.data(), bytes.size());
        slot_word(slot, &PageSlot::session_length).store(static_cast<std::uint32_t>(bytes.size()));
        slot_word(slot, &PageSlot::session_generation).fetch_add(1);
    }

    void wake() {
        word(&Page::change).fetch_add(1);
        ::syscall(SYS_futex, change_word(), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
    }

private:
    SharedDeviceFile(int fd, Page* page) : fd_(fd), page_(page) {}
    int fd_;
    Page* page_;
};

std::unique_ptr<SharedDevice> SharedDevice::open(const std::string& dir, const std::string& device_id,
                                                 ccid::Transport& transport, unsigned slots) {
    if (slots == 0 || slots > kMaxSlots) return nullptr;
    auto file = SharedDeviceFile::open(dir, device_id, slots);
    if (!file) return nullptr;
    return std::unique_ptr<SharedDevice>(new SharedDevice(std::move(file), transport, slots));
}

SharedDevice::SharedDevice(std::unique_ptr<SharedDeviceFile> file, ccid::Transport& transport, unsigned slots)
    : file_(std::move(file)), transport_(transport), slots_(slots), adopted_generation_(slots, 0) {}

SharedDevice::~SharedDevice() {
    std::lock_guard lock(mutex_);
    if (holding_) {
        transport_.release();
        file_->unlock_token();
        holding_ = false;
    }
}

void SharedDevice::attach(ccid::Reader& reader) {
    std::lock_guard lock(mutex_);
    reader_ = &reader;
    if (holding_) adopt_sessions();
}

void SharedDevice::abandon() {
    std::lock_guard lock(mutex_);
    if (holding_) file_->unlock_token();
    holding_ = false;
    users_ = 0;
}

bool SharedDevice::alone() {
    std::lock_guard lock(mutex_);
    return probe_alone();
}

bool SharedDevice::probe_alone() {
    // The count first: a process that joins after this load changes it (so the answer is
    // re-checked); one that joined before it holds its presence lock during the probe.
    const std::uint32_t joins = file_->word(&Page::joins).load();
    const bool alone = file_->alone();
    alone_at_joins_ = alone ? std::optional<std::uint32_t>(joins) : std::nullopt;
    return alone;
}

bool SharedDevice::alone_cached() {
    if (alone_at_joins_ && *alone_at_joins_ == file_->word(&Page::joins).load()) return true;
    return probe_alone();
}

bool SharedDevice::try_pin() {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock() || !holding_ || !alone_cached()) return false;
    ++users_;
    return true;
}

bool SharedDevice::holding() const {
    std::lock_guard lock(mutex_);
    return holding_;
}

std::expected<void, ccid::TransportError> SharedDevice::begin_io() {
    std::unique_lock lock(mutex_);
    ++users_;
    while (!holding_) {
        if (acquiring_) {
            cv_.wait(lock);
            continue;
        }
        acquiring_ = true;
        lock.unlock();
        std::expected<void, ccid::TransportError> claimed = std::unexpected(ccid::TransportError::Io);
        if (file_->lock_token(true)) {
            // Between coordinated processes the claim is free once we have the token; a Busy
            // claim is someone outside (another stack, or a process in its release): retry briefly.
            for (int attempt = 0; attempt < 10; ++attempt) {
                claimed = transport_.claim();
                if (claimed || claimed.error() != ccid::TransportError::Busy) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            if (!claimed) file_->unlock_token();
        }
        lock.lock();
        acquiring_ = false;
        cv_.notify_all();
        if (!claimed) {
            --users_;
            return claimed;
        }
        holding_ = true;
        adopt_sessions();
    }
    return {};
}

SharedDevice::TryIo SharedDevice::try_begin_io() {
    std::unique_lock lock(mutex_);
    if (holding_) {
        ++users_;
        return TryIo::Taken;
    }
    if (acquiring_ || !file_->lock_token(false)) return TryIo::Busy;
    if (auto claimed = transport_.claim(); !claimed) {
        file_->unlock_token();
        // With the token nobody coordinated holds the claim: NoDevice is the device leaving
        // (unplugged, server gone), not someone else's turn.
        return claimed.error() == ccid::TransportError::NoDevice ? TryIo::Gone : TryIo::Busy;
    }
    holding_ = true;
    ++users_;
    adopt_sessions();
    return TryIo::Taken;
}

void SharedDevice::end_io(std::optional<std::uint8_t> slot) {
    std::lock_guard lock(mutex_);
    if (slot && holding_) publish_session(*slot);
    if (users_ > 0) --users_;
    if (users_ == 0 && holding_ && !alone_cached()) give_back();
}

bool SharedDevice::release_if_shared_and_idle() {
    std::lock_guard lock(mutex_);
    if (!holding_ || users_ != 0 || probe_alone()) return false;
    give_back();
    return true;
}

void SharedDevice::give_back() {
    transport_.release();
    holding_ = false;
    file_->unlock_token();
}

void SharedDevice::adopt_sessions() {
    if (!reader_) return;
    for (unsigned s = 0; s < slots_; ++s) {
        const std::uint32_t generation = file_->slot_word(s, &PageSlot::session_generation).load();
        if (generation == adopted_generation_[s]) continue;
        adopted_generation_[s] = generation;
        ccid::Slot* slot = reader_->slot(s);
        if (!slot) continue;
        if (auto ok = slot->adopt_session(file_->read_session(s)); !ok) {
            // Unusable: whoever talks to the card next powers it again.
            ccid::logger()->warn("api: slot {}: shared card session refused: {}", s, ccid::describe(ok.error()));
            (void)slot->adopt_session(ccid::encode_session_snapshot({}));
        }
    }
}

void SharedDevice::republish_session(std::uint8_t slot) {
    {
        std::lock_guard lock(mutex_);
        if (!holding_) return;
        publish_session(slot);
    }
    file_->wake();
}

void SharedDevice::publish_session(std::uint8_t slot) {
    if (!reader_ || slot >= slots_) return;
    ccid::Slot* s = reader_->slot(slot);
    if (!s) return;
    file_->write_session(slot, s->export_session(), s->active());
    adopted_generation_[slot] = file_->slot_word(slot, &PageSlot::session_generation).load();
}

std::vector<SharedSlotView> SharedDevice::read_slots() const {
    std::vector<SharedSlotView> out(slots_);
    for (unsigned s = 0; s < slots_; ++s) {
        out[s].present = file_->slot_word(s, &PageSlot::present).load() != 0;
        out[s].events = file_->slot_word(s, &PageSlot::events).load();
    }
    return out;
}

void SharedDevice::publish_presence(std::uint8_t slot, bool present, std::uint32_t events) {
    if (slot >= slots_) return;
    {
        std::lock_guard lock(mutex_);
        if (!holding_) return;
        const bool was = file_->slot_word(slot, &PageSlot::present).exchange(present ? 1 : 0) != 0;
        if (events == 0 && was == present) return;
        file_->slot_word(slot, &PageSlot::events).fetch_add(events);
        if (events != 0) {
            // Another card (or none): the published session is over.
            file_->write_session(slot, ccid::encode_session_snapshot({}), false);
        }
    }
    file_->wake();
}

bool SharedDevice::powered(std::uint8_t slot) const {
    return slot < slots_ && file_->slot_word(slot, &PageSlot::powered).load() != 0;
}

std::chrono::milliseconds SharedDevice::since_last_poll() const {
    return std::chrono::milliseconds(monotonic_ms() - file_->word(&Page::last_poll_ms).load());
}

void SharedDevice::note_poll() { file_->word(&Page::last_poll_ms).store(monotonic_ms()); }

std::uint32_t SharedDevice::change_count() const { return file_->word(&Page::change).load(); }

void SharedDevice::wait_change(std::uint32_t seen, std::chrono::milliseconds timeout) const {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    ts.tv_nsec = static_cast<long>(timeout.count() % 1000) * 1000000L;
    // Returns at once if the word already changed (EAGAIN), on a wake, or at the timeout.
    ::syscall(SYS_futex, file_->change_word(), FUTEX_WAIT, seen, &ts, nullptr, 0);
}

void SharedDevice::wake_local() { file_->wake(); }

}  // namespace ccidkit::api

// Sharing rules between processes, without a daemon (see docs/design/api.md).
//
// Each reader slot has a lock file <dir>/<device>-<slot>.lock; each process opens it once per
// reader (one open file description) and uses Linux open-file-description locks
// (F_OFD_SETLK), which the kernel drops when the process ends, even on a crash:
//   byte 0: read-locked while the process has shared or direct handles on the reader,
//           write-locked while it has the exclusive handle. Taken without waiting: a conflict
//           is SCARD_E_SHARING_VIOLATION.
//   byte 1: write-locked while the process holds a transaction or performs card I/O, so that
//           another process's transaction blocks this process's commands and vice versa.
//           Taken with F_OFD_SETLKW: the waiter sleeps in the kernel and wakes as soon as the
//           holder unlocks or dies.
// The first 4 KiB of the file are shared memory (mmap) holding a reset generation: a process
// that resets or powers off the card increments it, and every other process turns that into
// SCARD_W_RESET_CARD for its handles on that reader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace ccidkit::api {

// "<dir>/<sanitised device id>-<slot>.lock"; long ids are shortened with a hash.
std::string lock_file_name(const std::string& device_id, std::uint8_t slot);

// $CCIDKIT_LOCK_DIR if set (empty: disabled), else $XDG_RUNTIME_DIR/ccidkit, else
// /tmp/ccidkit-<uid>.
std::string default_lock_dir();

class SharedReaderFile {
public:
    enum class Connection : std::uint8_t { None, Shared, Exclusive };

    // nullptr when the directory or the file cannot be used safely (then only in-process
    // sharing applies).
    static std::unique_ptr<SharedReaderFile> open(const std::string& dir, const std::string& device_id,
                                                  std::uint8_t slot);
    ~SharedReaderFile();
    SharedReaderFile(const SharedReaderFile&) = delete;
    SharedReaderFile& operator=(const SharedReaderFile&) = delete;

    // Non-blocking; false when another process holds a conflicting connection lock (the lock
    // this process held before is then unchanged).
    bool set_connection(Connection c);
    Connection connection() const { return connection_; }
    // What other processes hold on the connection byte (F_OFD_GETLK: this process's own lock
    // never conflicts with itself): Exclusive, Shared (one or more), or None.
    Connection others_connection() const;

    // Blocking; false only on an unexpected system error.
    bool lock_io();
    // Non-blocking; false when another process holds it.
    bool try_lock_io();
    void unlock_io();

    std::uint32_t reset_generation() const;
    std::uint32_t bump_reset_generation();

private:
    SharedReaderFile(int fd, void* map);
    int fd_ = -1;
    void* map_ = nullptr;
    Connection connection_ = Connection::None;
};

}  // namespace ccidkit::api

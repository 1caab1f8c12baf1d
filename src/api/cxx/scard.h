// C++ face of the SCard API for ccidkit's own tools: RAII owners for contexts, card
// connections and transactions, std::span inputs and std::expected results. A thin layer over
// the C functions of winscard.h (so it behaves exactly like them).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "PCSC/reader.h"
#include "PCSC/winscard.h"
#include "common/bytes.h"

namespace ccidkit::scard {

struct Error {
    LONG code = SCARD_S_SUCCESS;
    std::string_view message() const;  // pcsc_stringify_error
    bool operator==(const Error&) const = default;
};

template <typename T>
using Result = std::expected<T, Error>;

struct Status {
    std::string reader;
    DWORD state = 0;  // SCARD_* bits, event counter in bits 16-31
    DWORD protocol = SCARD_PROTOCOL_UNDEFINED;
    Bytes atr;
};

class Card;
class Transaction;

class Context {
public:
    static Result<Context> establish(DWORD scope = SCARD_SCOPE_SYSTEM);
    Context(Context&& other) noexcept;
    Context& operator=(Context&& other) noexcept;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context();  // SCardReleaseContext

    SCARDCONTEXT native() const { return handle_; }
    bool valid() const;
    // Empty when no reader is connected (SCARD_E_NO_READERS_AVAILABLE is not an error here).
    Result<std::vector<std::string>> readers() const;
    // SCardGetStatusChange; false when the timeout expired. timeout < 0: wait forever.
    Result<bool> wait_for_change(std::span<SCARD_READERSTATE> states, std::chrono::milliseconds timeout) const;
    Result<void> cancel() const;  // from another thread
    // ccidkit_SCardAddReaderFromFd / ccidkit_SCardRemoveReaderFromFd (PCSC/ccidkit_ext.h): the
    // reader behind an open usbfs descriptor joins (leaves) the readers of the whole process;
    // the descriptor stays the caller's and is used until the removal or the device leaving.
    Result<void> add_reader_from_fd(int fd) const;
    Result<void> remove_reader_from_fd(int fd) const;
    Result<Card> connect(std::string_view reader, DWORD share_mode = SCARD_SHARE_SHARED,
                         DWORD protocols = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1) const;

private:
    explicit Context(SCARDCONTEXT h) : handle_(h) {}
    SCARDCONTEXT handle_ = 0;
};

class Card {
public:
    Card(Card&& other) noexcept;
    Card& operator=(Card&& other) noexcept;
    Card(const Card&) = delete;
    Card& operator=(const Card&) = delete;
    ~Card();  // SCardDisconnect(SCARD_LEAVE_CARD)

    SCARDHANDLE native() const { return handle_; }
    DWORD protocol() const { return protocol_; }

    Result<Bytes> transmit(ByteView command) const;
    Result<Bytes> control(DWORD code, ByteView input = {}) const;
    Result<Bytes> attribute(DWORD id) const;
    Result<Status> status() const;
    Result<void> reconnect(DWORD share_mode, DWORD protocols, DWORD initialization);
    Result<void> disconnect(DWORD disposition = SCARD_LEAVE_CARD);
    Result<Transaction> begin_transaction() const;

private:
    friend class Context;
    Card(SCARDHANDLE h, DWORD protocol) : handle_(h), protocol_(protocol) {}
    SCARDHANDLE handle_ = 0;
    DWORD protocol_ = SCARD_PROTOCOL_UNDEFINED;
};

class Transaction {
public:
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&& other) noexcept;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();  // SCardEndTransaction(SCARD_LEAVE_CARD) if still open

    Result<void> end(DWORD disposition = SCARD_LEAVE_CARD);

private:
    friend class Card;
    explicit Transaction(SCARDHANDLE h) : handle_(h) {}
    SCARDHANDLE handle_ = 0;
};

}  // namespace ccidkit::scard

#include "api/cxx/scard.h"

#include <utility>

#include "PCSC/ccidkit_ext.h"

namespace ccidkit::scard {

namespace {

std::unexpected<Error> fail(LONG code) { return std::unexpected(Error{code}); }

}  // namespace

std::string_view Error::message() const { return pcsc_stringify_error(code); }

Result<Context> Context::establish(DWORD scope) {
    SCARDCONTEXT h = 0;
    if (LONG rc = SCardEstablishContext(scope, nullptr, nullptr, &h); rc != SCARD_S_SUCCESS) return fail(rc);
    return Context(h);
}

Context::Context(Context&& other) noexcept : handle_(std::exchange(other.handle_, 0)) {}

Context& Context::operator=(Context&& other) noexcept {
    if (this != &other) {
        if (handle_) (void)SCardReleaseContext(handle_);
        handle_ = std::exchange(other.handle_, 0);
    }
    return *this;
}

Context::~Context() {
    if (handle_) (void)SCardReleaseContext(handle_);
}

bool Context::valid() const { return handle_ != 0 && SCardIsValidContext(handle_) == SCARD_S_SUCCESS; }

Result<std::vector<std::string>> Context::readers() const {
    char* multi = nullptr;
    DWORD len = SCARD_AUTOALLOCATE;
    const LONG rc = SCardListReaders(handle_, nullptr, reinterpret_cast<LPSTR>(&multi), &len);
    if (rc == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (rc != SCARD_S_SUCCESS) return fail(rc);
    std::vector<std::string> names;
    for (const char* p = multi; p < multi + len && *p != '\0'; p += names.back().size() + 1) names.emplace_back(p);
    (void)SCardFreeMemory(handle_, multi);
    return names;
}

Result<bool> Context::wait_for_change(std::span<SCARD_READERSTATE> states, std::chrono::milliseconds timeout) const {
    const DWORD t = timeout.count() < 0 ? INFINITE : static_cast<DWORD>(timeout.count());
    const LONG rc = SCardGetStatusChange(handle_, t, states.data(), static_cast<DWORD>(states.size()));
    if (rc == SCARD_E_TIMEOUT) return false;
    if (rc != SCARD_S_SUCCESS) return fail(rc);
    return true;
}

Result<void> Context::cancel() const {
    if (LONG rc = SCardCancel(handle_); rc != SCARD_S_SUCCESS) return fail(rc);
    return {};
}

Result<void> Context::add_reader_from_fd(int fd) const {
    if (LONG rc = ccidkit_SCardAddReaderFromFd(handle_, fd, CCIDKIT_FD_READER_DEFAULT); rc != SCARD_S_SUCCESS)
        return fail(rc);
    return {};
}

Result<void> Context::remove_reader_from_fd(int fd) const {
    if (LONG rc = ccidkit_SCardRemoveReaderFromFd(handle_, fd); rc != SCARD_S_SUCCESS) return fail(rc);
    return {};
}

Result<Card> Context::connect(std::string_view reader, DWORD share_mode, DWORD protocols) const {
    const std::string name(reader);
    SCARDHANDLE h = 0;
    DWORD active = SCARD_PROTOCOL_UNDEFINED;
    if (LONG rc = SCardConnect(handle_, name.c_str(), share_mode, protocols, &h, &active); rc != SCARD_S_SUCCESS)
        return fail(rc);
    return Card(h, active);
}

Card::Card(Card&& other) noexcept
    : handle_(std::exchange(other.handle_, 0)), protocol_(std::exchange(other.protocol_, SCARD_PROTOCOL_UNDEFINED)) {}

Card& Card::operator=(Card&& other) noexcept {
    if (this != &other) {
        if (handle_) (void)SCardDisconnect(handle_, SCARD_LEAVE_CARD);
        handle_ = std::exchange(other.handle_, 0);
        protocol_ = std::exchange(other.protocol_, SCARD_PROTOCOL_UNDEFINED);
    }
    return *this;
}

Card::~Card() {
    if (handle_) (void)SCardDisconnect(handle_, SCARD_LEAVE_CARD);
}

Result<Bytes> Card::transmit(ByteView command) const {
    const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T1   ? SCARD_PCI_T1
                                  : protocol_ == SCARD_PROTOCOL_RAW ? SCARD_PCI_RAW
                                                                    : SCARD_PCI_T0;
    // Room for any extended APDU response: a second try would run the command twice.
    Bytes response(MAX_BUFFER_SIZE_EXTENDED);
    DWORD len = static_cast<DWORD>(response.size());
    if (LONG rc = SCardTransmit(handle_, pci, command.data(), static_cast<DWORD>(command.size()), nullptr,
                                response.data(), &len);
        rc != SCARD_S_SUCCESS)
        return fail(rc);
    response.resize(len);
    return response;
}

Result<Bytes> Card::control(DWORD code, ByteView input) const {
    Bytes output(MAX_BUFFER_SIZE_EXTENDED);
    DWORD len = 0;
    if (LONG rc = SCardControl(handle_, code, input.empty() ? nullptr : input.data(), static_cast<DWORD>(input.size()),
                               output.data(), static_cast<DWORD>(output.size()), &len);
        rc != SCARD_S_SUCCESS)
        return fail(rc);
    output.resize(len);
    return output;
}

Result<Bytes> Card::attribute(DWORD id) const {
    DWORD len = 0;
    if (LONG rc = SCardGetAttrib(handle_, id, nullptr, &len); rc != SCARD_S_SUCCESS) return fail(rc);
    Bytes value(len);
    if (LONG rc = SCardGetAttrib(handle_, id, value.empty() ? nullptr : value.data(), &len); rc != SCARD_S_SUCCESS)
        return fail(rc);
    value.resize(std::min<std::size_t>(len, value.size()));
    return value;
}

Result<Status> Card::status() const {
    char name[MAX_READERNAME + 1] = {};
    DWORD name_len = sizeof(name);
    Status st;
    st.atr.resize(MAX_ATR_SIZE);
    DWORD atr_len = MAX_ATR_SIZE;
    if (LONG rc = SCardStatus(handle_, name, &name_len, &st.state, &st.protocol, st.atr.data(), &atr_len);
        rc != SCARD_S_SUCCESS)
        return fail(rc);
    st.reader = name;
    st.atr.resize(atr_len);
    return st;
}

Result<void> Card::reconnect(DWORD share_mode, DWORD protocols, DWORD initialization) {
    DWORD active = SCARD_PROTOCOL_UNDEFINED;
    if (LONG rc = SCardReconnect(handle_, share_mode, protocols, initialization, &active); rc != SCARD_S_SUCCESS)
        return fail(rc);
    protocol_ = active;
    return {};
}

Result<void> Card::disconnect(DWORD disposition) {
    if (LONG rc = SCardDisconnect(handle_, disposition); rc != SCARD_S_SUCCESS) return fail(rc);
    handle_ = 0;
    return {};
}

Result<Transaction> Card::begin_transaction() const {
    if (LONG rc = SCardBeginTransaction(handle_); rc != SCARD_S_SUCCESS) return fail(rc);
    return Transaction(handle_);
}

Transaction::Transaction(Transaction&& other) noexcept : handle_(std::exchange(other.handle_, 0)) {}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
    if (this != &other) {
        if (handle_) (void)SCardEndTransaction(handle_, SCARD_LEAVE_CARD);
        handle_ = std::exchange(other.handle_, 0);
    }
    return *this;
}

Transaction::~Transaction() {
    if (handle_) (void)SCardEndTransaction(handle_, SCARD_LEAVE_CARD);
}

Result<void> Transaction::end(DWORD disposition) {
    const SCARDHANDLE h = std::exchange(handle_, 0);
    if (LONG rc = SCardEndTransaction(h, disposition); rc != SCARD_S_SUCCESS) return fail(rc);
    return {};
}

}  // namespace ccidkit::scard

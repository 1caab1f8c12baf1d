// The SCard C ABI (src/api/winscard_abi.cpp and the service behind it) called the way a
// careless or hostile application would: the input decodes into a sequence of SCard* calls
// with fuzzer-chosen arguments against four virtual readers (T=1 TPDU, T=0 short APDU,
// extended APDU, an empty slot) — NULL and non-NULL pointers, valid, stale and forged
// contexts and handles, buffer lengths (0, small, exact, huge, SCARD_AUTOALLOCATE), wrong
// SCARD_IO_REQUEST lengths and protocols, SCARD_READERSTATE counts, share modes, protocols,
// dispositions, control codes and attribute ids.
//
// Every buffer is allocated with exactly the size the call is told, so that ASan reports any
// read or write beyond it. Invariants: each call answers a code of pcsc-lite's list and never
// SCARD_F_INTERNAL_ERROR / SCARD_F_UNKNOWN_ERROR (an escaped exception); a success never
// reports more bytes than the buffer holds; SCARD_E_INSUFFICIENT_BUFFER reports more than it
// holds; SCARD_AUTOALLOCATE memory covers the reported length and is freed by
// SCardFreeMemory; cbAtr of a watched (not ignored) reader state stays within rgbAtr.
//
// Input: a list of operations, each u8 opcode (mod kOps) followed by its arguments (see the
// op_* functions); at most kMaxOps per input. The contexts an input creates are released at
// its end. The harness is single-threaded, so it keeps a small model of who holds a reader's
// lock (transactions, exclusive connections) and skips the calls that would wait for another
// of its own handles forever (as they would in pcsc-lite); PCSCLITE_NO_BLOCKING is on.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "PCSC/reader.h"
#include "PCSC/winscard.h"
#include "api/ccid_backend_provider.h"
#include "api/service_registry.h"
#include "fuzz_support.h"
#include "sim/virtual_spec.h"

using namespace ccidkit;

namespace {

constexpr std::size_t kMaxOps = 48;
constexpr std::size_t kOps = 19;

// Every code pcsc-lite defines that a call may legitimately answer.
bool known_code(LONG rc) {
    switch (rc) {
        case SCARD_S_SUCCESS:
        case SCARD_E_CANCELLED:
        case SCARD_E_CANT_DISPOSE:
        case SCARD_E_INSUFFICIENT_BUFFER:
        case SCARD_E_INVALID_ATR:
        case SCARD_E_INVALID_HANDLE:
        case SCARD_E_INVALID_PARAMETER:
        case SCARD_E_INVALID_TARGET:
        case SCARD_E_INVALID_VALUE:
        case SCARD_E_NO_MEMORY:
        case SCARD_E_NO_SMARTCARD:
        case SCARD_E_NOT_READY:
        case SCARD_E_NOT_TRANSACTED:
        case SCARD_E_PCI_TOO_SMALL:
        case SCARD_E_PROTO_MISMATCH:
        case SCARD_E_READER_UNAVAILABLE:
        case SCARD_E_SHARING_VIOLATION:
        case SCARD_E_SYSTEM_CANCELLED:
        case SCARD_E_TIMEOUT:
        case SCARD_E_UNKNOWN_CARD:
        case SCARD_E_UNKNOWN_READER:
        case SCARD_E_NO_SERVICE:
        case SCARD_E_SERVICE_STOPPED:
        case SCARD_E_UNSUPPORTED_FEATURE:
        case SCARD_E_NO_READERS_AVAILABLE:
        case SCARD_E_READER_UNSUPPORTED:
        case SCARD_E_CARD_UNSUPPORTED:
        case SCARD_W_UNSUPPORTED_CARD:
        case SCARD_W_UNRESPONSIVE_CARD:
        case SCARD_W_UNPOWERED_CARD:
        case SCARD_W_RESET_CARD:
        case SCARD_W_REMOVED_CARD:
        case SCARD_F_COMM_ERROR: return true;
        default: return false;
    }
}

#define CHECK_RC(rc) FUZZ_CHECK(known_code(rc))

// A buffer of exactly `size` bytes on the heap (ASan sees its end), or no buffer at all. Its
// first kJunkBytes bytes hold junk (0xA5; the library must not rely on what an output buffer
// holds); the rest is left as the allocator gives it. Filling every byte of the 64 KiB and
// 1 MiB lengths (and faulting their pages in) used to take most of the harness's time, for
// buffers into which the library writes only the little it returns.
//
// Blocks above kPooledAbove bytes (the "huge" 1 MiB length) are kept across calls and inputs
// in a pool of exact-size blocks: a fresh one cost 1-2 ms per call under ASan (an mmap, its
// shadow, and later an munmap with a TLB shootdown). A pooled block is still exactly `size`
// bytes, so an overrun still hits ASan's redzone.
constexpr DWORD kJunkBytes = 4096;
constexpr DWORD kPooledAbove = 1u << 17;

std::map<DWORD, std::vector<std::unique_ptr<BYTE[]>>>& buffer_pool() {
    static std::map<DWORD, std::vector<std::unique_ptr<BYTE[]>>> pool;
    return pool;
}

class Buffer {
public:
    explicit Buffer(DWORD size) : size(size) {
        if (size > kPooledAbove) {
            auto& free = buffer_pool()[size];
            if (!free.empty()) {
                bytes_ = std::move(free.back());
                free.pop_back();
            }
        }
        if (!bytes_) bytes_.reset(new BYTE[size == 0 ? 0 : size]);
        if (size) std::memset(bytes_.get(), 0xA5, std::min(size, kJunkBytes));
    }
    ~Buffer() {
        if (size > kPooledAbove && bytes_) buffer_pool()[size].push_back(std::move(bytes_));
    }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    BYTE* data() { return bytes_.get(); }

    const DWORD size;

private:
    std::unique_ptr<BYTE[]> bytes_;
};
Buffer make_buffer(DWORD size) { return Buffer(size); }

// A length as an application might claim it.
DWORD pick_length(fuzz::Input& in) {
    switch (in.u8() % 10) {
        case 0: return 0;
        case 1: return 1;
        case 2: return in.u8() % 8;
        case 3: return in.u8();
        case 4: return MAX_BUFFER_SIZE;            // 264
        case 5: return MAX_BUFFER_SIZE + 1;
        case 6: return MAX_BUFFER_SIZE_EXTENDED;   // 65538
        case 7: return MAX_BUFFER_SIZE_EXTENDED + 1 + in.u8();
        case 8: return 1u << 20;                   // "huge" that we can still allocate
        default: return in.u16() % 2048;
    }
}

// How an output buffer is passed: NULL (size query), exactly `size` bytes, or AUTOALLOCATE.
enum class OutMode : std::uint8_t { Null, Sized, Auto, NullLength };
OutMode pick_out_mode(fuzz::Input& in) { return static_cast<OutMode>(in.u8() % 4); }

// Runs a call with an output buffer, checks the length invariants and, for AUTOALLOCATE,
// reads the whole returned block and frees it.
template <typename Call>
void with_output(SCARDCONTEXT ctx, OutMode mode, DWORD size, Call call) {
    if (mode == OutMode::NullLength) {
        Buffer b = make_buffer(size);
        CHECK_RC(call(static_cast<void*>(b.data()), static_cast<DWORD*>(nullptr)));
        return;
    }
    if (mode == OutMode::Auto) {
        BYTE* p = nullptr;
        DWORD len = SCARD_AUTOALLOCATE;
        const LONG rc = call(static_cast<void*>(&p), &len);
        CHECK_RC(rc);
        if (rc == SCARD_S_SUCCESS && len > 0) {
            FUZZ_CHECK(p != nullptr);
            volatile unsigned sum = 0;
            for (DWORD i = 0; i < len; ++i) sum = sum + p[i];  // ASan: the block covers len
            (void)sum;
        }
        if (rc == SCARD_S_SUCCESS && p) FUZZ_CHECK(SCardFreeMemory(ctx, p) == SCARD_S_SUCCESS);
        return;
    }
    Buffer b = make_buffer(size);
    DWORD len = size;
    void* buf = mode == OutMode::Null ? nullptr : static_cast<void*>(b.data());
    const LONG rc = call(buf, &len);
    CHECK_RC(rc);
    if (rc == SCARD_S_SUCCESS && buf) FUZZ_CHECK(len <= size);
    if (rc == SCARD_E_INSUFFICIENT_BUFFER) FUZZ_CHECK(len > size);
}

struct Context {
    SCARDCONTEXT value = 0;
    bool live = true;
};
struct Handle {
    SCARDHANDLE value = 0;
    std::size_t context = 0;
    std::size_t reader = 0;  // index into names
    unsigned transactions = 0;
    bool exclusive = false;
    bool live = true;
};

class Session {
public:
    explicit Session(const std::vector<std::string>& names) : names_(names) {}
    ~Session() {
        // SCARD_LEAVE_CARD first: it never waits, and frees the locks that would make the
        // contexts' release (a reset of their cards) wait for each other.
        for (auto& h : handles_)
            if (h.live) SCardDisconnect(h.value, SCARD_LEAVE_CARD);
        for (auto& c : contexts_)
            if (c.live) SCardReleaseContext(c.value);
    }

    void run(fuzz::Input& in) {
        for (std::size_t n = 0; n < kMaxOps && !in.empty(); ++n) {
            switch (in.u8() % kOps) {
                case 0: op_establish(in); break;
                case 1: op_release(in); break;
                case 2: CHECK_RC(SCardIsValidContext(pick_context(in))); break;
                case 3: op_list_readers(in); break;
                case 4: op_list_groups(in); break;
                case 5: op_connect(in); break;
                case 6: op_reconnect(in); break;
                case 7: op_disconnect(in); break;
                case 8: op_begin(in); break;
                case 9: op_end(in); break;
                case 10: op_status(in); break;
                case 11: op_status_change(in); break;
                case 12: op_control(in); break;
                case 13: op_transmit(in); break;
                case 14: op_get_attrib(in); break;
                case 15: op_set_attrib(in); break;
                case 16: CHECK_RC(SCardCancel(pick_context(in))); break;
                case 17: CHECK_RC(SCardFreeMemory(pick_context(in), nullptr)); break;
                default: FUZZ_CHECK(pcsc_stringify_error(static_cast<LONG>(in.u32())) != nullptr); break;
            }
        }
    }

private:
    // A context: one of ours (live or released), or a forged value.
    SCARDCONTEXT pick_context(fuzz::Input& in) {
        const std::uint8_t sel = in.u8();
        if (sel < 200 && !contexts_.empty()) return contexts_[sel % contexts_.size()].value;
        switch (sel % 3) {
            case 0: return 0;
            case 1: return static_cast<SCARDCONTEXT>(0xFFFFFFFFu);
            default: return static_cast<SCARDCONTEXT>(0x80000000u | in.u16());  // never issued (31-bit)
        }
    }
    // A context that is not live (released, or forged): calls on it must fail.
    SCARDCONTEXT dead_context(fuzz::Input& in) {
        const SCARDCONTEXT c = pick_context(in);
        for (const auto& k : contexts_)
            if (k.live && k.value == c) return 0;
        return c;
    }
    std::size_t live_context_index(fuzz::Input& in, bool& ok) {
        ok = false;
        if (contexts_.empty()) return 0;
        const std::size_t i = in.u8() % contexts_.size();
        ok = contexts_[i].live;
        return i;
    }
    // A handle: one of ours (live or disconnected: never reused), or a forged value. `index`
    // is set to ours, or SIZE_MAX.
    SCARDHANDLE pick_handle(fuzz::Input& in, std::size_t& index) {
        index = SIZE_MAX;
        const std::uint8_t sel = in.u8();
        if (sel < 220 && !handles_.empty()) {
            index = sel % handles_.size();
            return handles_[index].value;
        }
        switch (sel % 3) {
            case 0: return 0;
            case 1: return static_cast<SCARDHANDLE>(0xFFFFFFFFu);
            default: return static_cast<SCARDHANDLE>(0x80000000u | in.u16());
        }
    }
    // True when another live handle of ours holds the lock of `reader`: a waiting call from
    // `self` would then wait forever in this single thread.
    bool locked_by_other(std::size_t reader, std::size_t self) const {
        for (std::size_t i = 0; i < handles_.size(); ++i) {
            const Handle& h = handles_[i];
            if (i != self && h.live && h.reader == reader && (h.transactions > 0 || h.exclusive)) return true;
        }
        return false;
    }
    void drop_handles_of(std::size_t context) {
        for (auto& h : handles_)
            if (h.context == context) h.live = false;
    }

    DWORD pick_share(fuzz::Input& in) {
        const std::uint8_t v = in.u8();
        return v < 240 ? static_cast<DWORD>(1 + v % 3) : static_cast<DWORD>(v);  // SHARED/EXCLUSIVE/DIRECT or junk
    }
    DWORD pick_protocols(fuzz::Input& in) {
        static constexpr std::array<DWORD, 8> common{0,
                                                     SCARD_PROTOCOL_T0,
                                                     SCARD_PROTOCOL_T1,
                                                     SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                                                     SCARD_PROTOCOL_RAW,
                                                     SCARD_PROTOCOL_T15,
                                                     SCARD_PROTOCOL_ANY | SCARD_PROTOCOL_RAW,
                                                     0xFFFFFFFF};
        const std::uint8_t v = in.u8();
        return v < 240 ? common[v % common.size()] : static_cast<DWORD>(in.u32());
    }
    DWORD pick_disposition(fuzz::Input& in) {
        const std::uint8_t v = in.u8();
        return v < 250 ? static_cast<DWORD>(v % 4) : static_cast<DWORD>(v);  // LEAVE/RESET/UNPOWER/EJECT or junk
    }
    // A reader name: ours, PnP, a truncated or junk one, or NULL.
    const char* pick_reader_name(fuzz::Input& in, std::string& storage, std::size_t& reader) {
        reader = SIZE_MAX;
        const std::uint8_t sel = in.u8();
        if (sel < 200) {
            reader = sel % names_.size();
            return names_[reader].c_str();
        }
        switch (sel % 4) {
            case 0: return nullptr;
            case 1: storage = "\\\\?PnP?\\Notification"; break;
            case 2:
                storage = names_[0].substr(0, in.u8() % (names_[0].size() + 1));
                if (storage == names_[0]) reader = 0;
                break;
            default: {
                const ByteView b = in.chunk8();
                storage.assign(b.begin(), b.end());
                storage.erase(std::find(storage.begin(), storage.end(), '\0'), storage.end());
            }
        }
        return storage.c_str();
    }

    void op_establish(fuzz::Input& in) {
        const std::uint8_t v = in.u8();
        const DWORD scope = v < 240 ? static_cast<DWORD>(v % 3) : static_cast<DWORD>(v);
        if (in.flag()) {
            CHECK_RC(SCardEstablishContext(scope, nullptr, nullptr, nullptr));
            return;
        }
        if (contexts_.size() >= 8) return;
        SCARDCONTEXT c = 0;
        const LONG rc = SCardEstablishContext(scope, nullptr, nullptr, &c);
        CHECK_RC(rc);
        if (rc == SCARD_S_SUCCESS) contexts_.push_back(Context{c, true});
    }

    void op_release(fuzz::Input& in) {
        if (in.flag()) {
            FUZZ_CHECK(SCardReleaseContext(dead_context(in)) == SCARD_E_INVALID_HANDLE);
            return;
        }
        bool ok = false;
        const std::size_t i = live_context_index(in, ok);
        if (!ok) return;
        // Releasing disconnects with SCARD_RESET_CARD, which waits for another context's
        // transaction on the same reader.
        for (std::size_t k = 0; k < handles_.size(); ++k) {
            const Handle& h = handles_[k];
            if (h.live && h.context == i && locked_by_other_context(h.reader, i)) return;
        }
        const LONG rc = SCardReleaseContext(contexts_[i].value);
        CHECK_RC(rc);
        if (rc == SCARD_S_SUCCESS) {
            contexts_[i].live = false;
            drop_handles_of(i);
        }
    }
    bool locked_by_other_context(std::size_t reader, std::size_t context) const {
        for (const Handle& h : handles_)
            if (h.live && h.context != context && h.reader == reader && (h.transactions > 0 || h.exclusive))
                return true;
        return false;
    }

    void op_list_readers(fuzz::Input& in) {
        const SCARDCONTEXT c = pick_context(in);
        std::string groups_storage;
        const char* groups = nullptr;
        switch (in.u8() % 4) {
            case 0: break;
            case 1: groups = "SCard$DefaultReaders\0"; break;
            case 2: groups = "SCard$AllReaders\0"; break;
            default: {
                const ByteView b = in.chunk8();
                groups_storage.assign(b.begin(), b.end());
                groups_storage.push_back('\0');  // the multi-string's final NUL
                groups = groups_storage.c_str();
            }
        }
        const OutMode mode = pick_out_mode(in);
        const DWORD size = pick_length(in);
        with_output(c, mode, size, [&](void* buf, DWORD* len) {
            return SCardListReaders(c, groups, static_cast<LPSTR>(buf), len);
        });
    }

    void op_list_groups(fuzz::Input& in) {
        const SCARDCONTEXT c = pick_context(in);
        const OutMode mode = pick_out_mode(in);
        const DWORD size = pick_length(in);
        with_output(c, mode, size,
                    [&](void* buf, DWORD* len) { return SCardListReaderGroups(c, static_cast<LPSTR>(buf), len); });
    }

    void op_connect(fuzz::Input& in) {
        bool ok = false;
        const std::size_t ci = live_context_index(in, ok);
        const SCARDCONTEXT c = ok ? contexts_[ci].value : dead_context(in);
        std::string storage;
        std::size_t reader = SIZE_MAX;
        const char* name = pick_reader_name(in, storage, reader);
        const DWORD share = pick_share(in);
        const DWORD protocols = pick_protocols(in);
        const std::uint8_t nulls = in.u8();
        // A transaction of another handle makes a new connection wait (pcsc-lite too).
        if (reader != SIZE_MAX && locked_by_other(reader, SIZE_MAX)) return;
        SCARDHANDLE h = 0;
        DWORD active = 0;
        const LONG rc = SCardConnect(c, name, share, protocols, (nulls & 1) ? nullptr : &h,
                                     (nulls & 2) ? nullptr : &active);
        CHECK_RC(rc);
        if (rc == SCARD_S_SUCCESS) {
            FUZZ_CHECK(!(nulls & 3));  // NULL out-pointers are refused
            FUZZ_CHECK(ok && reader != SIZE_MAX);  // a dead context or an unknown name never connects
            handles_.push_back(Handle{h, ci, reader, 0, share == SCARD_SHARE_EXCLUSIVE, true});
        }
    }

    void op_reconnect(fuzz::Input& in) {
        std::size_t i = SIZE_MAX;
        const SCARDHANDLE h = pick_handle(in, i);
        const DWORD share = pick_share(in);
        const DWORD protocols = pick_protocols(in);
        const DWORD init = pick_disposition(in);
        DWORD active = 0;
        const LONG rc = SCardReconnect(h, share, protocols, init, in.flag() ? nullptr : &active);
        CHECK_RC(rc);
        if (i != SIZE_MAX) {
            Handle& hd = handles_[i];
            if (share == SCARD_SHARE_EXCLUSIVE) hd.exclusive = true;  // conservatively, even on failure
            if (rc == SCARD_S_SUCCESS && share != SCARD_SHARE_EXCLUSIVE) hd.exclusive = false;
        }
    }

    void op_disconnect(fuzz::Input& in) {
        std::size_t i = SIZE_MAX;
        const SCARDHANDLE h = pick_handle(in, i);
        const DWORD disposition = pick_disposition(in);
        if (i != SIZE_MAX && disposition != SCARD_LEAVE_CARD && locked_by_other(handles_[i].reader, i)) return;
        const LONG rc = SCardDisconnect(h, disposition);
        CHECK_RC(rc);
        if (i != SIZE_MAX && rc == SCARD_S_SUCCESS) handles_[i].live = false;
    }

    void op_begin(fuzz::Input& in) {
        std::size_t i = SIZE_MAX;
        const SCARDHANDLE h = pick_handle(in, i);
        if (i != SIZE_MAX && locked_by_other(handles_[i].reader, i)) return;
        const LONG rc = SCardBeginTransaction(h);
        CHECK_RC(rc);
        if (i != SIZE_MAX && rc == SCARD_S_SUCCESS) ++handles_[i].transactions;
    }

    void op_end(fuzz::Input& in) {
        std::size_t i = SIZE_MAX;
        const SCARDHANDLE h = pick_handle(in, i);
        const DWORD disposition = pick_disposition(in);
        const LONG rc = SCardEndTransaction(h, disposition);
        CHECK_RC(rc);
        if (i != SIZE_MAX && rc == SCARD_S_SUCCESS && handles_[i].transactions > 0) --handles_[i].transactions;
    }

    void op_status(fuzz::Input& in) {
        std::size_t i = SIZE_MAX;
        const SCARDHANDLE h = pick_handle(in, i);
        const OutMode name_mode = pick_out_mode(in);
        const DWORD name_size = pick_length(in);
        const OutMode atr_mode = pick_out_mode(in);
        const DWORD atr_size = pick_length(in);
        const std::uint8_t nulls = in.u8();
        SCARDCONTEXT ctx = i != SIZE_MAX ? contexts_[handles_[i].context].value : 0;
        // Name and ATR each go through with_output; the other one is passed as NULL/0 or as a
        // fixed buffer, as chosen.
        DWORD state = 0, protocol = 0;
        with_output(ctx, name_mode, name_size, [&](void* buf, DWORD* len) {
            return SCardStatus(h, static_cast<LPSTR>(buf), len, (nulls & 1) ? nullptr : &state,
                               (nulls & 2) ? nullptr : &protocol, nullptr, nullptr);
        });
        with_output(ctx, atr_mode, atr_size, [&](void* buf, DWORD* len) {
            return SCardStatus(h, nullptr, nullptr, (nulls & 4) ? nullptr : &state, (nulls & 8) ? nullptr : &protocol,
                               static_cast<LPBYTE>(buf), len);
        });
    }

    void op_status_change(fuzz::Input& in) {
        const SCARDCONTEXT c = pick_context(in);
        // ms: never a long (or INFINITE) wait. Mostly 0: a call that finds nothing changed (no
        // entry, every entry ignored or already matching) sleeps its whole timeout, and those
        // sleeps were most of this op's time; 1 and 2 ms (1 input byte in 8) still reach the
        // wait and the re-read after it.
        const std::uint8_t t = in.u8();
        const DWORD timeout = t < 224 ? 0 : 1 + t % 2;
        const std::uint8_t count_sel = in.u8();
        const DWORD count = count_sel < 240 ? count_sel % 18 : static_cast<DWORD>(in.u16());
        if (count > 64) {
            // A count larger than the array: only claimed with a NULL array (nothing to overrun).
            CHECK_RC(SCardGetStatusChange(c, timeout, nullptr, count));
            return;
        }
        std::vector<std::string> storage(count);
        std::unique_ptr<SCARD_READERSTATE[]> rs(new SCARD_READERSTATE[count == 0 ? 0 : count]);
        for (DWORD k = 0; k < count; ++k) {
            std::size_t reader = SIZE_MAX;
            rs[k] = SCARD_READERSTATE{};
            rs[k].szReader = pick_reader_name(in, storage[k], reader);
            rs[k].dwCurrentState = in.u8() < 128 ? static_cast<DWORD>(in.u16()) : static_cast<DWORD>(in.u32());
            rs[k].cbAtr = in.u8();  // input junk: must be ignored or overwritten within rgbAtr
        }
        const bool null_array = in.flag();
        const LONG rc = SCardGetStatusChange(c, timeout, null_array ? nullptr : rs.get(), count);
        CHECK_RC(rc);
        // Ignored entries are left as the caller wrote them (pcsc-lite too), junk cbAtr included.
        if (rc == SCARD_S_SUCCESS && !null_array)
            for (DWORD k = 0; k < count; ++k)
                if (!(rs[k].dwCurrentState & SCARD_STATE_IGNORE)) FUZZ_CHECK(rs[k].cbAtr <= sizeof rs[k].rgbAtr);
    }

    void op_control(fuzz::Input& in) {
        std::size_t i = SIZE_MAX;
        const SCARDHANDLE h = pick_handle(in, i);
        static constexpr std::array<DWORD, 8> codes{CM_IOCTL_GET_FEATURE_REQUEST, 0x313520, SCARD_CTL_CODE(1),
                                                    SCARD_CTL_CODE(0x330000 + FEATURE_VERIFY_PIN_DIRECT),
                                                    SCARD_CTL_CODE(0x330000 + FEATURE_MODIFY_PIN_DIRECT),
                                                    SCARD_CTL_CODE(0x330000 + FEATURE_GET_TLV_PROPERTIES),
                                                    SCARD_CTL_CODE(0x330000 + FEATURE_IFD_PIN_PROPERTIES), 0};
        const std::uint8_t sel = in.u8();
        const DWORD code = sel < 200 ? codes[sel % codes.size()] : static_cast<DWORD>(in.u32());
        const ByteView input = in.chunk16();
        Buffer send = make_buffer(static_cast<DWORD>(input.size()));
        if (!input.empty()) std::memcpy(send.data(), input.data(), input.size());
        const bool null_send = in.flag();
        const DWORD out_size = pick_length(in);
        Buffer out = make_buffer(out_size);
        const std::uint8_t nulls = in.u8();
        DWORD returned = 0;
        const LONG rc = SCardControl(h, code, null_send ? nullptr : send.data(), send.size,
                                     (nulls & 1) ? nullptr : out.data(), out_size, (nulls & 2) ? nullptr : &returned);
        CHECK_RC(rc);
        if (rc == SCARD_S_SUCCESS && !(nulls & 2)) FUZZ_CHECK(returned <= out_size);
    }

    void op_transmit(fuzz::Input& in) {
        std::size_t i = SIZE_MAX;
        const SCARDHANDLE h = pick_handle(in, i);
        SCARD_IO_REQUEST pci{};
        const SCARD_IO_REQUEST* send_pci = nullptr;
        switch (in.u8() % 5) {
            case 0: send_pci = SCARD_PCI_T0; break;
            case 1: send_pci = SCARD_PCI_T1; break;
            case 2: send_pci = SCARD_PCI_RAW; break;
            case 3:
                pci.dwProtocol = pick_protocols(in);
                pci.cbPciLength = in.u8() < 200 ? static_cast<DWORD>(in.u8() % 24) : static_cast<DWORD>(in.u32());
                send_pci = &pci;
                break;
            default: break;  // NULL
        }
        const ByteView apdu = in.chunk16();
        Buffer send = make_buffer(static_cast<DWORD>(apdu.size()));
        if (!apdu.empty()) std::memcpy(send.data(), apdu.data(), apdu.size());
        const DWORD recv_size = pick_length(in);
        Buffer recv = make_buffer(recv_size);
        SCARD_IO_REQUEST recv_pci{};
        const std::uint8_t nulls = in.u8();
        DWORD len = recv_size;
        const LONG rc = SCardTransmit(h, send_pci, (nulls & 1) ? nullptr : send.data(), send.size,
                                      (nulls & 2) ? &recv_pci : nullptr, (nulls & 4) ? nullptr : recv.data(),
                                      (nulls & 8) ? nullptr : &len);
        CHECK_RC(rc);
        if (rc == SCARD_S_SUCCESS && !(nulls & 8)) FUZZ_CHECK(len <= recv_size);
        if (rc == SCARD_E_INSUFFICIENT_BUFFER && !(nulls & 8)) FUZZ_CHECK(len > recv_size);
    }

    DWORD pick_attribute(fuzz::Input& in) {
        static constexpr std::array<DWORD, 24> ids{
            SCARD_ATTR_ATR_STRING,          SCARD_ATTR_ICC_PRESENCE,       SCARD_ATTR_ICC_INTERFACE_STATUS,
            SCARD_ATTR_CURRENT_PROTOCOL_TYPE, SCARD_ATTR_VENDOR_NAME,      SCARD_ATTR_VENDOR_IFD_TYPE,
            SCARD_ATTR_VENDOR_IFD_VERSION,  SCARD_ATTR_VENDOR_IFD_SERIAL_NO, SCARD_ATTR_CHANNEL_ID,
            SCARD_ATTR_MAXINPUT,            SCARD_ATTR_DEVICE_FRIENDLY_NAME_A, SCARD_ATTR_DEVICE_SYSTEM_NAME_A,
            SCARD_ATTR_CURRENT_IFSC,        SCARD_ATTR_CURRENT_IFSD,       SCARD_ATTR_CURRENT_CLK,
            SCARD_ATTR_CURRENT_F,           SCARD_ATTR_CURRENT_D,          SCARD_ATTR_CURRENT_N,
            SCARD_ATTR_CURRENT_W,           SCARD_ATTR_CURRENT_BWT,        SCARD_ATTR_CURRENT_EBC_ENCODING,
            SCARD_ATTR_DEFAULT_CLK,         SCARD_ATTR_DEVICE_FRIENDLY_NAME_W, 0};
        const std::uint8_t sel = in.u8();
        return sel < 220 ? ids[sel % ids.size()] : static_cast<DWORD>(in.u32());
    }

    void op_get_attrib(fuzz::Input& in) {
        std::size_t i = SIZE_MAX;
        const SCARDHANDLE h = pick_handle(in, i);
        const DWORD id = pick_attribute(in);
        const OutMode mode = pick_out_mode(in);
        const DWORD size = pick_length(in);
        const SCARDCONTEXT ctx = i != SIZE_MAX ? contexts_[handles_[i].context].value : 0;
        with_output(ctx, mode, size, [&](void* buf, DWORD* len) {
            return SCardGetAttrib(h, id, static_cast<LPBYTE>(buf), len);
        });
    }

    void op_set_attrib(fuzz::Input& in) {
        std::size_t i = SIZE_MAX;
        const SCARDHANDLE h = pick_handle(in, i);
        const DWORD id = pick_attribute(in);
        const ByteView value = in.chunk16();
        Buffer b = make_buffer(static_cast<DWORD>(value.size()));
        if (!value.empty()) std::memcpy(b.data(), value.data(), value.size());
        CHECK_RC(SCardSetAttrib(h, id, in.flag() ? nullptr : b.data(), b.size));
    }

    const std::vector<std::string>& names_;
    std::vector<Context> contexts_;
    std::vector<Handle> handles_;
};

// The provider and its readers live for the whole run (opening them per input would cost
// threads and time); each input starts with no context of its own.
const std::vector<std::string>& setup() {
    static const std::vector<std::string> names = [] {
        auto specs = sim::parse_virtual_spec("tpdu:t1,short:t0,extended:t1,tpdu:none");
        FUZZ_CHECK(specs.has_value());
        api::CcidProviderOptions o;
        o.virtual_readers = std::move(*specs);
        o.usb = false;
        api::ServiceOptions service;
        service.no_blocking = true;
        api::install_provider(std::make_shared<api::CcidProvider>(std::move(o)), service);
        SCARDCONTEXT c = 0;
        FUZZ_CHECK(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &c) == SCARD_S_SUCCESS);
        DWORD len = 0;
        FUZZ_CHECK(SCardListReaders(c, nullptr, nullptr, &len) == SCARD_S_SUCCESS);
        std::string buf(len, '\0');
        FUZZ_CHECK(SCardListReaders(c, nullptr, buf.data(), &len) == SCARD_S_SUCCESS);
        std::vector<std::string> out;
        for (std::size_t p = 0; p < buf.size() && buf[p] != '\0'; p += out.back().size() + 1)
            out.emplace_back(buf.c_str() + p);
        SCardReleaseContext(c);
        FUZZ_CHECK(out.size() == 4);
        return out;
    }();
    return names;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto& names = setup();
    fuzz::Input in(data, size);
    Session session(names);
    session.run(in);
    return 0;
}

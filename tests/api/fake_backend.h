// In-memory reader and card for the SCard API tests.
//
// FakeReader implements ReaderBackend with a tiny card application whose state shows whether
// the card was really reset:
//   00 20 00 00 ...     VERIFY: "logs in", 90 00
//   00 CA 00 01 00      GET DATA: 01 if logged in else 00, then 90 00
//   00 CA 00 02 00      GET DATA: number of power-ons / warm resets (1 byte), 90 00
//   00 B0 00 00 Le      READ: Le bytes 00 01 02 ... (Le 00 = 256), 90 00
//   anything else       echoed back followed by 90 00
// It also checks the core's promise that I/O calls on one backend never overlap.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "PCSC/reader.h"
#include "PCSC/winscard.h"
#include "api/backend.h"
#include "common/bytes.h"

namespace ccidkit::api::testing {

// ISO/IEC 7816-3 ATRs: TS=3B, direct convention.
inline const Bytes kAtrT0{0x3B, 0x02, 0x14, 0x50};            // no TDi: T=0 only, 2 historical bytes
inline const Bytes kAtrT1{0x3B, 0x80, 0x01, 0x81};            // TD1 = T=1, TCK
inline const Bytes kAtrT0T1{0x3B, 0x80, 0x80, 0x01, 0x01};    // TD1 = T=0, TD2 = T=1, TCK

class FakeReader final : public ReaderBackend {
public:
    explicit FakeReader(ReaderDescription d) : description_(std::move(d)) {}

    static ReaderDescription describe(std::string model, std::string serial, std::uint8_t slot = 0) {
        ReaderDescription d;
        d.vendor = "Fake";
        d.model = std::move(model);
        d.serial = std::move(serial);
        d.device_id = "fake:" + d.model + ":" + d.serial;
        d.slot = slot;
        d.vendor_id = 0x1234;
        d.product_id = 0x5678;
        d.bcd_device = 0x0102;
        d.channel_id = 0x00200305;
        d.max_input = 261;
        d.max_apdu_data_size = 0x10000;
        return d;
    }

    // --- test controls (any thread) -----------------------------------------------------
    void insert(Bytes atr, bool mute = false) {
        {
            std::lock_guard g(m_);
            if (present_) ++events_;  // swap: removal then insertion
            present_ = true;
            mute_ = mute;
            atr_ = std::move(atr);
            powered_ = false;
            logged_in_ = false;
            ++events_;
        }
        notify();
    }
    void remove() {
        {
            std::lock_guard g(m_);
            if (!present_) return;
            present_ = false;
            powered_ = false;
            logged_in_ = false;
            ++events_;
        }
        notify();
    }
    void set_unavailable(bool u) {
        {
            std::lock_guard g(m_);
            unavailable_ = u;
        }
        notify();
    }
    void set_gone() {
        std::lock_guard g(m_);
        gone_ = true;
    }
    void set_protocols(DWORD accepted) {  // what set_protocol() accepts
        std::lock_guard g(m_);
        accepted_protocols_ = accepted;
    }
    void set_pps_fails(bool f) {
        std::lock_guard g(m_);
        pps_fails_ = f;
    }
    void set_can_eject(bool e) {  // false: eject() answers NotSupported, like most readers
        std::lock_guard g(m_);
        can_eject_ = e;
    }
    void set_io_delay(std::chrono::microseconds d) {
        std::lock_guard g(m_);
        io_delay_ = d;
    }
    void set_listener(ChangeListener* l) {
        std::lock_guard g(listener_m_);  // waits for a notification in progress
        listener_ = l;
    }

    // --- observations -------------------------------------------------------------------------
    bool overlapped_io() const { return overlap_.load(); }
    int power_ons() const {
        std::lock_guard g(m_);
        return power_ons_;
    }
    int power_offs() const {
        std::lock_guard g(m_);
        return power_offs_;
    }
    bool powered() const {
        std::lock_guard g(m_);
        return powered_;
    }
    std::vector<CardProtocol> protocols_set() const {
        std::lock_guard g(m_);
        return protocols_set_;
    }
    std::vector<Bytes> commands() const {
        std::lock_guard g(m_);
        return commands_;
    }
    Bytes last_pin_structure() const {
        std::lock_guard g(m_);
        return pin_structure_;
    }
    int ejects() const {
        std::lock_guard g(m_);
        return ejects_;
    }

    // --- ReaderBackend --------------------------------------------------------------------------
    const ReaderDescription& description() const override { return description_; }

    SlotStatus status() const override {
        std::lock_guard g(m_);
        SlotStatus s;
        s.card_events = events_;
        if (unavailable_) s.presence = CardPresence::Unavailable;
        else if (!present_) s.presence = CardPresence::Absent;
        else s.presence = powered_ ? CardPresence::Powered : CardPresence::Present;
        return s;
    }

    BackendResult<Bytes> power_on() override {
        IoScope io(*this);
        std::lock_guard g(m_);
        if (gone_) return std::unexpected(BackendError::ReaderGone);
        if (!present_) return std::unexpected(BackendError::NoCard);
        if (mute_) return std::unexpected(BackendError::CardMute);
        powered_ = true;
        logged_in_ = false;
        ++power_ons_;
        return atr_;
    }
    BackendResult<Bytes> warm_reset() override { return power_on(); }
    BackendResult<void> power_off() override {
        IoScope io(*this);
        std::lock_guard g(m_);
        if (gone_) return std::unexpected(BackendError::ReaderGone);
        powered_ = false;
        logged_in_ = false;
        ++power_offs_;
        return {};
    }
    BackendResult<void> set_protocol(CardProtocol p) override {
        IoScope io(*this);
        std::lock_guard g(m_);
        if (gone_) return std::unexpected(BackendError::ReaderGone);
        if (!present_) return std::unexpected(BackendError::NoCard);
        if (!(accepted_protocols_ & static_cast<DWORD>(p))) return std::unexpected(BackendError::ProtocolNotSupported);
        if (pps_fails_) return std::unexpected(BackendError::NegotiationFailed);
        protocols_set_.push_back(p);
        return {};
    }
    BackendResult<Bytes> transmit(ByteView command, CardProtocol p) override {
        (void)p;
        IoScope io(*this);
        std::chrono::microseconds delay;
        {
            std::lock_guard g(m_);
            delay = io_delay_;
        }
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        std::lock_guard g(m_);
        if (gone_) return std::unexpected(BackendError::ReaderGone);
        if (!present_) return std::unexpected(BackendError::NoCard);
        if (!powered_) return std::unexpected(BackendError::CommunicationError);
        if (command.size() < 4) return std::unexpected(BackendError::CommunicationError);
        commands_.emplace_back(command.begin(), command.end());
        const std::uint8_t ins = command[1];
        const unsigned p1p2 = (command[2] << 8) | command[3];
        Bytes r;
        if (ins == 0x20) {
            logged_in_ = true;
        } else if (ins == 0xCA && p1p2 == 0x0001) {
            r.push_back(logged_in_ ? 1 : 0);
        } else if (ins == 0xCA && p1p2 == 0x0002) {
            r.push_back(static_cast<std::uint8_t>(power_ons_));
        } else if (ins == 0xB0 && command.size() == 5) {
            const unsigned le = command[4] == 0 ? 256 : command[4];
            for (unsigned i = 0; i < le; ++i) r.push_back(static_cast<std::uint8_t>(i));
        } else {
            r.assign(command.begin(), command.end());
        }
        r.push_back(0x90);
        r.push_back(0x00);
        return r;
    }
    BackendResult<Bytes> escape(ByteView command) override {
        IoScope io(*this);
        Bytes r{'E', 'S', 'C'};
        r.insert(r.end(), command.begin(), command.end());
        return r;
    }
    BackendResult<Bytes> secure_pin(PinOperation op, ByteView structure) override {
        IoScope io(*this);
        std::lock_guard g(m_);
        if (!present_) return std::unexpected(BackendError::NoCard);
        if (structure.size() < (op == PinOperation::Verify ? 19u : 24u))
            return std::unexpected(BackendError::InvalidParameter);
        pin_structure_.assign(structure.begin(), structure.end());
        logged_in_ = op == PinOperation::Verify;
        return Bytes{0x90, 0x00};
    }
    BackendResult<Bytes> control(std::uint32_t code, ByteView input) override {
        IoScope io(*this);
        if (code != kReverseControl) return std::unexpected(BackendError::NotSupported);
        return Bytes(input.rbegin(), input.rend());
    }
    BackendResult<Bytes> get_attribute(std::uint32_t id) override {
        IoScope io(*this);
        std::lock_guard g(m_);
        if (id == SCARD_ATTR_CURRENT_IFSC) return Bytes{0xFE};
        if (id == kSettableAttribute) return settable_;
        return std::unexpected(BackendError::NotSupported);
    }
    BackendResult<void> set_attribute(std::uint32_t id, ByteView value) override {
        IoScope io(*this);
        std::lock_guard g(m_);
        if (id != kSettableAttribute) return std::unexpected(BackendError::NotSupported);
        settable_.assign(value.begin(), value.end());
        return {};
    }
    BackendResult<void> eject() override {
        IoScope io(*this);
        std::lock_guard g(m_);
        if (!can_eject_) return std::unexpected(BackendError::NotSupported);
        ++ejects_;
        return {};
    }

    static constexpr std::uint32_t kReverseControl = SCARD_CTL_CODE(0x4242);
    static constexpr std::uint32_t kSettableAttribute = SCARD_ATTR_VALUE(SCARD_CLASS_VENDOR_DEFINED, 0xB001);

private:
    // Flags two I/O calls running at the same time on this reader.
    struct IoScope {
        explicit IoScope(FakeReader& r) : reader(r) {
            if (reader.in_io_.exchange(true)) reader.overlap_ = true;
        }
        ~IoScope() { reader.in_io_ = false; }
        FakeReader& reader;
    };

    // Holding listener_m_ during the call keeps set_listener(nullptr)'s promise: once it
    // returns, the old listener is not called any more.
    void notify() {
        std::lock_guard g(listener_m_);
        if (listener_) listener_->changed();
    }

    const ReaderDescription description_;
    mutable std::mutex m_;
    std::mutex listener_m_;
    ChangeListener* listener_ = nullptr;
    bool present_ = false;
    bool mute_ = false;
    bool powered_ = false;
    bool logged_in_ = false;
    bool unavailable_ = false;
    bool gone_ = false;
    bool pps_fails_ = false;
    bool can_eject_ = true;
    DWORD accepted_protocols_ = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;
    Bytes atr_;
    std::uint64_t events_ = 0;
    int power_ons_ = 0;
    int power_offs_ = 0;
    int ejects_ = 0;
    std::chrono::microseconds io_delay_{0};
    std::vector<CardProtocol> protocols_set_;
    std::vector<Bytes> commands_;
    Bytes pin_structure_;
    Bytes settable_;
    std::atomic<bool> in_io_{false};
    std::atomic<bool> overlap_{false};
};

class FakeProvider final : public ReaderProvider {
public:
    std::shared_ptr<FakeReader> add(ReaderDescription d) {
        auto r = std::make_shared<FakeReader>(std::move(d));
        {
            std::lock_guard g(m_);
            r->set_listener(listener_);
            readers_.push_back(r);
        }
        notify();
        return r;
    }
    void unplug(const std::shared_ptr<FakeReader>& r) {
        {
            std::lock_guard g(m_);
            std::erase(readers_, r);
            r->set_gone();
            r->set_listener(nullptr);
        }
        notify();
    }

    std::vector<std::shared_ptr<ReaderBackend>> readers() override {
        std::lock_guard g(m_);
        return {readers_.begin(), readers_.end()};
    }
    void set_listener(ChangeListener* l) override {
        std::lock_guard g(m_);
        {
            std::lock_guard gl(listener_m_);
            listener_ = l;
        }
        for (auto& r : readers_) r->set_listener(l);
    }

private:
    void notify() {
        std::lock_guard g(listener_m_);
        if (listener_) listener_->changed();
    }

    std::mutex m_;
    std::mutex listener_m_;
    ChangeListener* listener_ = nullptr;
    std::vector<std::shared_ptr<FakeReader>> readers_;
};

}  // namespace ccidkit::api::testing

#include "api/ccid_backend.h"

#include <fmt/format.h>

#include <chrono>
#include <system_error>

#include "api/session_attributes.h"
#include "api/cross_process.h"
#include "api/shared_device.h"
#include "ccid/descriptor_meaning.h"
#include "ccid/logging.h"
#include "ccid/message_pin.h"
#include "ccid/slot.h"
#include "protocol/atr.h"

namespace ccidkit::api {
namespace {

// Longest single wait of the event thread: bounds how long stop() may take when a cancel
// arrives just before the thread blocks (the cancel only reaches calls already waiting).
constexpr ccid::Millis kEventWait{250};
// Consecutive failed polls after which the reader counts as not answering (SCARD_STATE_UNAVAILABLE),
// and the pause between retries.
constexpr unsigned kFailuresBeforeUnavailable = 3;
constexpr std::chrono::milliseconds kRetryPause{200};

}  // namespace

BackendError to_backend_error(const ccid::ReaderError& e) {
    using ccid::ReaderErrc;
    switch (e.code) {
        case ReaderErrc::ReaderGone: return BackendError::ReaderGone;
        case ReaderErrc::CardRemoved:
        case ReaderErrc::CardChanged: return BackendError::NoCard;
        case ReaderErrc::CardMute:
        case ReaderErrc::InvalidAtr:
        case ReaderErrc::VoltageNotSupported: return BackendError::CardMute;
        case ReaderErrc::UnsupportedCard:
        case ReaderErrc::NoCommonProtocol: return BackendError::ProtocolNotSupported;
        case ReaderErrc::NegotiationFailed: return BackendError::NegotiationFailed;
        case ReaderErrc::Timeout:
        case ReaderErrc::TimeExtensionLimit:
        case ReaderErrc::PinTimeout: return BackendError::Timeout;
        case ReaderErrc::Cancelled:
        case ReaderErrc::CommandAborted:
        case ReaderErrc::PinCancelled: return BackendError::Cancelled;
        case ReaderErrc::InvalidApdu:
        case ReaderErrc::ApduTooLong:
        case ReaderErrc::InvalidSlot:
        case ReaderErrc::InvalidArgument: return BackendError::InvalidParameter;
        case ReaderErrc::CommandNotSupported:
        case ReaderErrc::CharacterLevelUnsupported: return BackendError::NotSupported;
        case ReaderErrc::CardNotPowered:
        case ReaderErrc::CardCommunication:
        case ReaderErrc::ProtocolError:
        case ReaderErrc::ResponseTooLong:
        case ReaderErrc::TransportFailed:
        case ReaderErrc::MalformedReply:
        case ReaderErrc::UnexpectedReply:
        case ReaderErrc::TooManyStaleReplies:
        case ReaderErrc::FirmwareRefused:
        case ReaderErrc::BadParameter:
        case ReaderErrc::HardwareError:
        case ReaderErrc::SlotBusy:
        case ReaderErrc::ReaderFailure: return BackendError::CommunicationError;
    }
    return BackendError::CommunicationError;
}

ReaderDescription describe_ccid_slot(const CcidDeviceIdentity& identity, const ccid::ReaderCaps& caps,
                                     std::uint8_t slot) {
    ReaderDescription d;
    d.vendor = identity.vendor;
    d.model = identity.model;
    d.interface_name = identity.interface_name;
    d.serial = identity.serial;
    d.device_id = identity.device_id;
    d.slot = slot;
    d.vendor_id = identity.vendor_id;
    d.product_id = identity.product_id;
    d.bcd_device = identity.bcd_device;
    d.channel_id = identity.channel_id;
    // SCARD_ATTR_MAXINPUT: what fits in one message after the 10-byte CCID header (libccid).
    d.max_input = caps.max_send_length > 10 ? caps.max_send_length - 10 : 0;
    d.pin_pad.verify = (caps.descriptor.bPINSupport & ccid::kPinVerify) != 0;
    d.pin_pad.modify = (caps.descriptor.bPINSupport & ccid::kPinModify) != 0;
    d.pin_pad.lcd_layout = caps.descriptor.wLcdLayout;
    d.escape_allowed = identity.escape_allowed;
    // PC/SC part 10 dwMaxAPDUDataSize: short-APDU readers cannot carry extended APDUs; at TPDU
    // level the host chains them itself, extended-APDU readers take them whole.
    d.max_apdu_data_size = caps.level == ccid::ExchangeLevel::ShortApdu ? 0 : 65536;
    return d;
}

// ---- CcidDevice ----

CcidDevice::CcidDevice(std::unique_ptr<ccid::Reader> reader, CcidDeviceIdentity identity, ChangeCallback on_change)
    : reader_(std::move(reader)), identity_(std::move(identity)), on_change_(std::move(on_change)) {
    const unsigned n = reader_->slot_count();
    for (unsigned s = 0; s < n; ++s) {
        auto state = std::make_unique<SlotState>();
        state->present = reader_->card_present(s);
        slots_.push_back(std::move(state));
        const auto index = static_cast<std::uint8_t>(s);
        backends_.push_back(
            std::make_unique<CcidSlotBackend>(*this, index, describe_ccid_slot(identity_, reader_->caps(), index)));
    }
}

std::shared_ptr<CcidDevice> CcidDevice::start(std::unique_ptr<ccid::Reader> reader, CcidDeviceIdentity identity,
                                              ChangeCallback on_change) {
    return start(std::move(reader), std::move(identity), std::move(on_change), nullptr);
}

std::shared_ptr<CcidDevice> CcidDevice::start(std::unique_ptr<ccid::Reader> reader, CcidDeviceIdentity identity,
                                              ChangeCallback on_change, std::unique_ptr<SharedDevice> shared) {
    std::shared_ptr<CcidDevice> device(new CcidDevice(std::move(reader), std::move(identity), std::move(on_change)));
    if (shared) {
        shared->attach(*device->reader_);
        for (const auto& view : shared->read_slots()) device->shared_seen_.push_back(view.events);
        device->shared_ = std::move(shared);
        device->events_thread_ = std::thread([raw = device.get()] { raw->run_shared_events(); });
    } else {
        device->events_thread_ = std::thread([raw = device.get()] { raw->run_events(); });
    }
    return device;
}

bool CcidDevice::begin_io() {
    if (!shared_) return true;
    auto ok = shared_->begin_io();
    if (!ok && ok.error() == ccid::TransportError::NoDevice) mark_gone();
    return ok.has_value();
}

void CcidDevice::end_io(std::uint8_t slot) {
    if (shared_) shared_->end_io(slot);
}

bool CcidDevice::pin_alone() { return shared_ && !gone_ && shared_->try_pin(); }

void CcidDevice::unpin() {
    if (shared_) shared_->end_io(std::nullopt);
}

CcidDevice::~CcidDevice() { stop(); }

void CcidDevice::stop() {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
    {
        std::lock_guard sleep(sleep_mutex_);
    }
    sleep_cv_.notify_all();
    reader_->wake_events();
    // Interrupts an interrupt-pipe read in progress (a later call is not affected).
    reader_->transport().cancel();
    if (shared_) shared_->wake_local();
    if (events_thread_.joinable()) {
        if (events_thread_.get_id() == std::this_thread::get_id()) {
            events_thread_.detach();  // only the owner's misuse gets here; the loop ends by itself
        } else {
            events_thread_.join();
        }
    }
}

void CcidDevice::mark_gone() {
    if (gone_.exchange(true)) return;
    for (auto& s : slots_) s->powered = false;
    notify();
}

std::vector<std::shared_ptr<ReaderBackend>> CcidDevice::backends() {
    std::vector<std::shared_ptr<ReaderBackend>> out;
    const auto self = shared_from_this();
    for (auto& b : backends_) out.push_back(std::shared_ptr<ReaderBackend>(self, b.get()));
    return out;
}

void CcidDevice::notify() {
    if (on_change_ && !stopping_) on_change_();
}

void CcidDevice::note_error(const ccid::ReaderError& e, std::uint8_t slot) {
    if (e.code == ccid::ReaderErrc::ReaderGone || reader_->gone()) {
        mark_gone();
        return;
    }
    if ((e.code == ccid::ReaderErrc::CardRemoved || e.code == ccid::ReaderErrc::CardChanged) && slot < slots_.size())
        slots_[slot]->powered = false;
}

SlotStatus CcidDevice::slot_status(std::uint8_t slot) const {
    SlotStatus st;
    if (slot >= slots_.size()) return st;
    const SlotState& s = *slots_[slot];
    st.card_events = s.events;
    if (gone_ || unresponsive_) {
        st.presence = CardPresence::Unavailable;
    } else if (!s.present) {
        st.presence = CardPresence::Absent;
    } else {
        // Shared: the session every process publishes after its I/O is the truth (powered by
        // this process or another one), as pcscd's reader state is for all its clients.
        const bool powered = shared_ ? shared_->powered(slot) : s.powered.load();
        st.presence = powered ? CardPresence::Powered : CardPresence::Present;
    }
    return st;
}

bool CcidDevice::apply(const ccid::ReaderEvents& events) {
    bool changed = false;
    for (const auto& e : events.slots) {
        if (e.slot >= slots_.size()) continue;
        SlotState& s = *slots_[e.slot];
        const bool was = s.present.exchange(e.present);
        // A change with the same presence on both sides is a card that left and came back (or
        // the other way round) between two notifications: two events.
        if (was != e.present) {
            s.events += 1;
        } else if (e.changed) {
            s.events += 2;
        } else {
            continue;
        }
        s.powered = false;
        changed = true;
    }
    for (const auto& f : events.hardware_faults) {
        if (f.stale) continue;  // about an earlier session (reader.h): this one goes on
        // CCID 6.3.2: the reader deactivated the card.
        if (f.slot < slots_.size()) slots_[f.slot]->powered = false;
        changed = true;
    }
    return changed;
}

void CcidDevice::run_events() {
    unsigned failures = 0;
    while (!stopping_ && !gone_) {
        auto events = reader_->poll_events(kEventWait);
        if (stopping_) break;
        if (!events) {
            if (events.error().code == ccid::ReaderErrc::ReaderGone || reader_->gone()) {
                mark_gone();
                break;
            }
            if (events.error().code != ccid::ReaderErrc::Cancelled && ++failures >= kFailuresBeforeUnavailable &&
                !unresponsive_.exchange(true)) {
                ccid::logger()->warn("api: reader {} does not answer: {}", identity_.device_id,
                                     ccid::describe(events.error()));
                notify();
            }
            std::unique_lock lock(sleep_mutex_);
            sleep_cv_.wait_for(lock, kRetryPause, [this] { return stopping_.load(); });
            continue;
        }
        failures = 0;
        bool changed = unresponsive_.exchange(false);
        if (apply(*events)) changed = true;
        if (changed) notify();
    }
}

// ---- open_ccid_device ----

std::expected<std::shared_ptr<CcidDevice>, std::string> open_ccid_device(CcidDeviceSource source,
                                                                         CcidDevice::ChangeCallback on_change) {
    if (!source.transport) return std::unexpected(std::string("no transport"));
    // Sharing disabled ($CCIDKIT_LOCK_DIR empty), or impossible: claim once and keep it.
    std::unique_ptr<SharedDevice> shared;
    if (source.shared) {
        const unsigned slots = source.descriptor.bMaxSlotIndex + 1u;
        shared = SharedDevice::open(default_lock_dir(), source.identity.device_id, *source.transport, slots);
    }
    // The opening talks to the reader: under the token and the claim.
    auto claimed = shared ? shared->begin_io() : source.transport->claim();
    if (!claimed)
        return std::unexpected(fmt::format("cannot claim the interface: {}", ccid::to_string(claimed.error())));
    auto reader = ccid::Reader::open(std::move(source.transport), source.descriptor, std::move(source.options));
    if (!reader) {
        if (shared) shared->abandon();  // the transport, and its claim, are gone with the failed open
        return std::unexpected(ccid::describe(reader.error()));
    }
    if (shared) {
        // What this opening saw becomes everybody's view, then the claim goes back unless alone.
        shared->attach(**reader);
        const auto views = shared->read_slots();
        for (unsigned s = 0; s < views.size(); ++s) {
            const bool present = (*reader)->card_present(s);
            shared->publish_presence(static_cast<std::uint8_t>(s), present, views[s].present != present ? 1 : 0);
        }
        shared->end_io(std::nullopt);
    }
    try {
        return CcidDevice::start(std::move(*reader), std::move(source.identity), std::move(on_change),
                                 std::move(shared));
    } catch (const std::system_error& e) {
        return std::unexpected(std::string(e.what()));
    }
}

// ---- CcidSlotBackend ----

namespace {

// One I/O burst of a slot: the claim is held from here to the end of the scope (shared devices).
class IoScope {
public:
    IoScope(CcidDevice& device, std::uint8_t slot) : device_(device), slot_(slot), ok_(device.begin_io()) {}
    ~IoScope() {
        if (ok_) device_.end_io(slot_);
    }
    IoScope(const IoScope&) = delete;
    IoScope& operator=(const IoScope&) = delete;
    explicit operator bool() const { return ok_; }
    BackendError error() const { return device_.gone() ? BackendError::ReaderGone : BackendError::CommunicationError; }

private:
    CcidDevice& device_;
    std::uint8_t slot_;
    bool ok_;
};

}  // namespace

CcidSlotBackend::CcidSlotBackend(CcidDevice& device, std::uint8_t slot, ReaderDescription description)
    : device_(device), slot_(slot), description_(std::move(description)) {}

SlotStatus CcidSlotBackend::status() const { return device_.slot_status(slot_); }

ccid::Slot* CcidSlotBackend::slot_or_gone(BackendError& error) {
    if (device_.gone() || device_.reader().gone()) {
        device_.mark_gone();
        error = BackendError::ReaderGone;
        return nullptr;
    }
    ccid::Slot* s = device_.reader().slot(slot_);
    if (!s) error = BackendError::ReaderGone;
    return s;
}

BackendError CcidSlotBackend::fail(const ccid::ReaderError& e) {
    device_.note_error(e, slot_);
    ccid::logger()->debug("api: {} slot {}: {}", description_.device_id, slot_, ccid::describe(e));
    // A device that left (hotplug, or its own failure) fails every call as gone, whatever
    // the transfer in flight ended with (often Cancelled, when the departure stopped it).
    if (device_.gone()) return BackendError::ReaderGone;
    return to_backend_error(e);
}

BackendResult<Bytes> CcidSlotBackend::activated(std::expected<ccid::CardSession, ccid::ReaderError> session) {
    auto& state = *device_.slots_[slot_];
    if (!session) {
        state.powered = false;
        return std::unexpected(fail(session.error()));
    }
    state.powered = true;
    return std::move(session->atr);
}

BackendResult<Bytes> CcidSlotBackend::power_on() {
    BackendError error{};
    ccid::Slot* s = slot_or_gone(error);
    if (!s) return std::unexpected(error);
    IoScope io(device_, slot_);
    if (!io) return std::unexpected(io.error());
    // Shared: the card's session, whoever started it, is ours too (adopted when the claim was
    // taken). The SCard layer powers a card up only when it believes it unpowered, which with
    // another process means that one powered it (or reset it since): use the session as it is,
    // as pcsc-lite's daemon does for a second application, rather than resetting the card under
    // the other process.
    if (device_.shared() && s->active()) {
        if (auto session = s->session()) return activated(std::move(*session));
    }
    // The driver negotiates right away (PPS, SetParameters, IFSD) with its own choice;
    // set_protocol() resets the card again only when the application wants another protocol.
    return activated(s->power_on());
}

BackendResult<Bytes> CcidSlotBackend::warm_reset() {
    BackendError error{};
    ccid::Slot* s = slot_or_gone(error);
    if (!s) return std::unexpected(error);
    IoScope io(device_, slot_);
    if (!io) return std::unexpected(io.error());
    return activated(s->warm_reset());
}

BackendResult<void> CcidSlotBackend::power_off() {
    BackendError error{};
    ccid::Slot* s = slot_or_gone(error);
    if (!s) return std::unexpected(error);
    IoScope io(device_, slot_);
    if (!io) return std::unexpected(io.error());
    device_.slots_[slot_]->powered = false;
    if (auto r = s->power_off(); !r) return std::unexpected(fail(r.error()));
    return {};
}

BackendResult<void> CcidSlotBackend::set_protocol(CardProtocol protocol) {
    BackendError error{};
    ccid::Slot* s = slot_or_gone(error);
    if (!s) return std::unexpected(error);
    IoScope io(device_, slot_);
    if (!io) return std::unexpected(io.error());
    if (protocol == CardProtocol::Raw) return {};
    const std::uint8_t t = protocol == CardProtocol::T1 ? 1 : 0;
    const auto session = s->session();
    if (!session) return std::unexpected(device_.slots_[slot_]->present ? BackendError::CommunicationError
                                                                        : BackendError::NoCard);
    if (session->protocol == t) return {};
    const auto& caps = device_.reader().caps();
    if (!session->parsed_atr.offers(t) || (t == 0 && !caps.t0) || (t == 1 && !caps.t1))
        return std::unexpected(BackendError::ProtocolNotSupported);
    // The driver settled on the other protocol at power-on: a warm reset restricted to the
    // wanted one (the card accepts a PPS only right after its ATR, ISO/IEC 7816-3:2006 9.1).
    ccid::PowerOnOptions options;
    options.protocols = proto::protocol_bit(t);
    auto again = activated(s->warm_reset(options));
    if (!again) return std::unexpected(again.error() == BackendError::ProtocolNotSupported
                                           ? BackendError::ProtocolNotSupported
                                           : (again.error() == BackendError::CardMute ? BackendError::NegotiationFailed
                                                                                      : again.error()));
    const auto now = s->session();
    if (!now || now->protocol != t) return std::unexpected(BackendError::NegotiationFailed);
    return {};
}

BackendResult<Bytes> CcidSlotBackend::transmit(ByteView command, CardProtocol protocol) {
    (void)protocol;  // the slot transmits with the protocol its session settled
    BackendError error{};
    ccid::Slot* s = slot_or_gone(error);
    if (!s) return std::unexpected(error);
    IoScope io(device_, slot_);
    if (!io) return std::unexpected(io.error());
    auto r = s->transmit(command);
    if (!r) return std::unexpected(fail(r.error()));
    return std::move(*r);
}

BackendResult<Bytes> CcidSlotBackend::escape(ByteView command) {
    if (!description_.escape_allowed) return std::unexpected(BackendError::NotSupported);
    BackendError error{};
    ccid::Slot* s = slot_or_gone(error);
    if (!s) return std::unexpected(error);
    IoScope io(device_, slot_);
    if (!io) return std::unexpected(io.error());
    auto r = s->escape(command);
    if (!r) return std::unexpected(fail(r.error()));
    return std::move(*r);
}

BackendResult<Bytes> CcidSlotBackend::secure_pin(PinOperation op, ByteView structure) {
    BackendError error{};
    ccid::Slot* s = slot_or_gone(error);
    if (!s) return std::unexpected(error);
    IoScope io(device_, slot_);
    if (!io) return std::unexpected(io.error());
    std::expected<Bytes, ccid::ReaderError> r;
    if (op == PinOperation::Verify) {
        if (!description_.pin_pad.verify) return std::unexpected(BackendError::NotSupported);
        auto verify = ccid::decode_pcsc_pin_verify(structure);
        if (!verify) return std::unexpected(BackendError::InvalidParameter);
        r = s->secure_verify(*verify);
    } else {
        if (!description_.pin_pad.modify) return std::unexpected(BackendError::NotSupported);
        auto modify = ccid::decode_pcsc_pin_modify(structure);
        if (!modify) return std::unexpected(BackendError::InvalidParameter);
        r = s->secure_modify(*modify);
    }
    if (!r) return std::unexpected(fail(r.error()));
    return std::move(*r);
}

bool CcidSlotBackend::pin_alone() { return device_.pin_alone(); }

void CcidSlotBackend::unpin() { device_.unpin(); }

BackendResult<Bytes> CcidSlotBackend::get_attribute(std::uint32_t id) {
    BackendError error{};
    ccid::Slot* s = slot_or_gone(error);
    if (!s) return std::unexpected(error);
    // Only a session still in force describes the card in the slot (none after a removal).
    const auto session = s->active() ? s->session() : std::nullopt;
    if (!session) return std::unexpected(BackendError::NotSupported);
    if (auto value = session_attribute(id, *session)) return std::move(*value);
    return std::unexpected(BackendError::NotSupported);
}

}  // namespace ccidkit::api

// The interface between the SCard API core and whatever drives the readers (the CCID host
// driver on USB, the device-side reader simulator, or a test fake).
//
// One ReaderBackend is one PC/SC "reader", i.e. one slot of a device: a two-slot CCID reader
// gives two backends with the same device_id and slots 0 and 1. A ReaderProvider lists the
// backends present now and reports arrivals, departures and card movements.
//
// Threading contract (kept simple on purpose, so that adapters need no locking of their own
// beyond what their transport already has):
//  - description() and status() may be called from any thread at any time, also while an I/O
//    method runs on another thread. They must not block on I/O: status() returns the state the
//    backend last learned (from the CCID interrupt pipe, from its own polling thread, or from
//    the simulator's memory).
//  - The I/O methods (power_*, set_protocol, transmit, escape, secure_pin, control, attributes,
//    eject) are never called concurrently for the same backend: the core serialises them. They
//    are synchronous and return when the device has answered or failed.
//  - A backend whose device has gone answers every I/O method with BackendError::ReaderGone.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace ccidkit::api {

enum class BackendError : std::uint8_t {
    NoCard,                // no card in the slot (it may have just been removed)
    CardMute,              // a card is present but gave no (valid) answer to reset
    ProtocolNotSupported,  // set_protocol(): the card or the reader does not offer that protocol
    NegotiationFailed,     // set_protocol(): PPS or SetParameters failed; the card needs a reset
    CommunicationError,    // the exchange with the card or the reader failed
    Timeout,               // the card or the reader did not answer in time
    ReaderGone,            // the device was unplugged or stopped answering
    NotSupported,          // this backend does not implement the request (code, attribute)
    InvalidParameter,      // the request is malformed (e.g. a bad PIN verification structure)
    Cancelled,             // the user cancelled (PIN pad) or the operation was aborted
};
std::string_view to_string(BackendError e);

template <typename T>
using BackendResult = std::expected<T, BackendError>;

// PC/SC protocol values (same numbers as SCARD_PROTOCOL_*).
enum class CardProtocol : std::uint32_t { T0 = 0x0001, T1 = 0x0002, Raw = 0x0004 };

enum class CardPresence : std::uint8_t {
    Absent,
    Present,      // inserted, contacts not active (or state unknown to the backend)
    Powered,      // inserted and activated by the backend (an ATR was read)
    Unavailable,  // the reader does not answer status requests (pcsc-lite: SCARD_UNKNOWN)
};

struct SlotStatus {
    CardPresence presence = CardPresence::Absent;
    // Incremented by the backend at every card insertion and every removal it notices, so that
    // a removal followed by an insertion between two status() calls is not missed.
    std::uint64_t card_events = 0;
};

// PC/SC part 10 capabilities of a PIN pad reader (CCID bPINSupport, wLcdLayout).
struct PinPadInfo {
    bool verify = false;  // FEATURE_VERIFY_PIN_DIRECT
    bool modify = false;  // FEATURE_MODIFY_PIN_DIRECT
    std::uint16_t lcd_layout = 0;                   // 0: no display; else lines << 8 | chars
    std::uint8_t entry_validation_condition = 0x02;  // validation key pressed
    std::uint8_t min_pin_size = 0;                  // 0: not reported
    std::uint8_t max_pin_size = 0;                  // 0: not reported
};

// Immutable facts about one reader slot.
struct ReaderDescription {
    std::string vendor;          // USB iManufacturer (may be empty)
    std::string model;           // USB iProduct, or a friendly name from the reader database
    std::string interface_name;  // USB iInterface; empty when absent
    std::string serial;          // USB iSerialNumber; empty when absent
    // Identifies the physical device across re-plugs: "VVVV:PPPP:serial" when a serial number
    // exists, else a port path such as "VVVV:PPPP@1-4.2:0". Readers with the same device_id
    // keep the same name index (RR) when they come back. Must not be empty.
    std::string device_id;
    std::uint8_t slot = 0;  // bSlot: the SS of the reader name

    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;  // firmware version; SCARD_ATTR_VENDOR_IFD_VERSION = bcd << 16
    std::uint32_t channel_id = 0;  // SCARD_ATTR_CHANNEL_ID (USB: 0x0020 << 16 | bus << 8 | addr); 0: none
    std::uint32_t max_input = 0;   // SCARD_ATTR_MAXINPUT (dwMaxCCIDMessageLength - 10); 0: none

    PinPadInfo pin_pad;
    bool escape_allowed = false;  // FEATURE_CCID_ESC_COMMAND offered
    // dwMaxAPDUDataSize of part 10: 0 for short-APDU-only readers, 65536 for TPDU and
    // extended-APDU readers.
    std::uint32_t max_apdu_data_size = 0;
    std::string firmware_id;  // sFirmwareID; empty: not reported
};

enum class PinOperation : std::uint8_t { Verify, Modify };

class ReaderBackend {
public:
    virtual ~ReaderBackend() = default;

    virtual const ReaderDescription& description() const = 0;
    // Non-blocking; see the threading contract above.
    virtual SlotStatus status() const = 0;

    // Cold activation (power on, read the ATR). Returns the ATR (at most 33 bytes).
    virtual BackendResult<Bytes> power_on() = 0;
    // Warm reset of an active card; returns the new ATR.
    virtual BackendResult<Bytes> warm_reset() = 0;
    virtual BackendResult<void> power_off() = 0;
    // Selects T=0 or T=1 after an ATR: PPS when needed, then the reader parameters.
    virtual BackendResult<void> set_protocol(CardProtocol protocol) = 0;
    // One command APDU, one response APDU (SW1 SW2 included). protocol is the negotiated one,
    // or Raw when the application asked for raw access.
    virtual BackendResult<Bytes> transmit(ByteView command, CardProtocol protocol) = 0;

    // CCID Escape (PC_to_RDR_Escape). Only called when description().escape_allowed.
    virtual BackendResult<Bytes> escape(ByteView command) {
        (void)command;
        return std::unexpected(BackendError::NotSupported);
    }
    // PIN entry on the reader's keypad. structure is the PC/SC part 10 PIN_VERIFY_STRUCTURE or
    // PIN_MODIFY_STRUCTURE as the application sent it; the result is the card's response APDU.
    virtual BackendResult<Bytes> secure_pin(PinOperation op, ByteView structure) {
        (void)op;
        (void)structure;
        return std::unexpected(BackendError::NotSupported);
    }
    // Any other SCardControl() code that the core does not handle itself.
    virtual BackendResult<Bytes> control(std::uint32_t code, ByteView input) {
        (void)code;
        (void)input;
        return std::unexpected(BackendError::NotSupported);
    }
    // Attributes the core cannot answer from the description and the card state (e.g.
    // SCARD_ATTR_CURRENT_IFSC / IFSD / CLK / F / D / BWT). NotSupported when unknown.
    virtual BackendResult<Bytes> get_attribute(std::uint32_t id) {
        (void)id;
        return std::unexpected(BackendError::NotSupported);
    }
    virtual BackendResult<void> set_attribute(std::uint32_t id, ByteView value) {
        (void)id;
        (void)value;
        return std::unexpected(BackendError::NotSupported);
    }
    // Cross-process coordination of one I/O operation of the core (several backend calls).
    // pin_alone(): when no other process uses the device, keep it for this process until
    // unpin() and return true, so that the core can skip its per-slot cross-process io lock.
    // Must not block. Backends that are not shared between processes never pin.
    virtual bool pin_alone() { return false; }
    virtual void unpin() {}
    // Mechanical eject (SCARD_EJECT_CARD); most readers cannot, which is not an error for the
    // application (pcsc-lite ignores the outcome too).
    virtual BackendResult<void> eject() { return std::unexpected(BackendError::NotSupported); }
};

// Told by the provider that something may have changed: a reader arrived or left, or a slot
// status changed. May be called from any thread, including from inside readers() or status().
class ChangeListener {
public:
    virtual void changed() noexcept = 0;

protected:
    ~ChangeListener() = default;
};

class ReaderProvider {
public:
    virtual ~ReaderProvider() = default;
    // The readers present now. A reader keeps the same backend object while its device stays
    // plugged in; a re-plugged device comes back as a new object (with the same device_id).
    // Non-blocking.
    virtual std::vector<std::shared_ptr<ReaderBackend>> readers() = 0;
    // Registers the listener (nullptr: none). After set_listener(nullptr) returns, the old
    // listener is never called again.
    virtual void set_listener(ChangeListener* listener) = 0;
    // 0: the provider calls the listener for every change. Otherwise the core re-reads
    // readers() and status() at this period while an application waits for a change.
    virtual std::chrono::milliseconds poll_interval() const { return std::chrono::milliseconds{0}; }
};

}  // namespace ccidkit::api

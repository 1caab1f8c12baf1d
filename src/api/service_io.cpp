// Service: SCardStatus, SCardTransmit, SCardControl, SCardGetAttrib, SCardSetAttrib.
#include "api/attributes.h"
#include "api/part10.h"
#include "api/protocol_negotiation.h"
#include "api/service.h"

namespace ccidkit::api {

namespace {

// Largest answer accepted from a backend: an extended APDU response, or a control answer.
constexpr std::size_t kMaxAnswer = MAX_BUFFER_SIZE_EXTENDED;

CardProtocol card_protocol(DWORD p) {
    switch (p) {
        case SCARD_PROTOCOL_T1: return CardProtocol::T1;
        case SCARD_PROTOCOL_RAW: return CardProtocol::Raw;
        default: return CardProtocol::T0;
    }
}

}  // namespace

LONG Service::status(SCARDHANDLE h, CardStatus& out) {
    refresh_reader(reader_of(h));
    Lock lk(m_);
    std::shared_ptr<HandleState> hs;
    if (LONG rc = acquire(lk, h, Access{LockPolicy::Wait, true, false}, hs); rc != SCARD_S_SUCCESS) return rc;
    const ReaderState& r = *hs->reader;
    out.reader = r.name;
    out.state = (static_cast<DWORD>(r.event_counter) << 16) | r.pcsc_state();
    out.protocol = r.protocol;
    out.atr = r.card == CardState::Absent ? Bytes{} : r.atr;
    return SCARD_S_SUCCESS;
}

LONG Service::transmit(SCARDHANDLE h, DWORD send_protocol, ByteView command, Bytes& response) {
    refresh_reader(reader_of(h));
    Lock lk(m_);
    std::shared_ptr<HandleState> hs;
    if (LONG rc = acquire(lk, h, Access{LockPolicy::Wait, true, true}, hs); rc != SCARD_S_SUCCESS) return rc;
    ReaderState& r = *hs->reader;

    LONG rc = SCARD_S_SUCCESS;
    if (send_protocol != SCARD_PROTOCOL_RAW) {
        if (r.card == CardState::Absent)
            rc = SCARD_E_NO_SMARTCARD;
        else if (send_protocol != kProtocolAnyOld && send_protocol != r.protocol)
            rc = SCARD_E_PROTO_MISMATCH;
        else if (r.protocol != SCARD_PROTOCOL_T0 && r.protocol != SCARD_PROTOCOL_T1 && r.protocol != SCARD_PROTOCOL_RAW)
            rc = SCARD_E_PROTO_MISMATCH;  // direct connection, nothing negotiated
    }
    if (rc != SCARD_S_SUCCESS) {
        release_io(r);
        return rc;
    }
    const CardProtocol protocol = card_protocol(send_protocol == SCARD_PROTOCOL_RAW ? SCARD_PROTOCOL_RAW : r.protocol);
    const auto backend = r.backend;
    lk.unlock();
    BackendResult<Bytes> answer = backend->transmit(command, protocol);
    lk.lock();
    release_io(r);
    if (!answer) {
        const BackendError e = answer.error();
        if (e == BackendError::NotSupported || e == BackendError::InvalidParameter) return SCARD_E_NOT_TRANSACTED;
        return io_error(e);
    }
    if (answer->size() > kMaxAnswer) return SCARD_E_NOT_TRANSACTED;
    response = std::move(*answer);
    return SCARD_S_SUCCESS;
}

LONG Service::control(SCARDHANDLE h, DWORD code, ByteView input, Bytes& output) {
    refresh_reader(reader_of(h));
    Lock lk(m_);
    std::shared_ptr<HandleState> hs;
    if (LONG rc = acquire(lk, h, Access{LockPolicy::Fail, false, false}, hs); rc != SCARD_S_SUCCESS) return rc;
    const ReaderDescription& d = hs->reader->backend->description();

    if (code == CM_IOCTL_GET_FEATURE_REQUEST || code == part10::kWindowsGetFeatureRequest) {
        output = part10::feature_request_answer(d);
        return SCARD_S_SUCCESS;
    }
    const std::optional<std::uint8_t> feature = part10::feature_of(d, code);
    if (feature == FEATURE_IFD_PIN_PROPERTIES) {
        output = part10::pin_properties_answer(d);
        return SCARD_S_SUCCESS;
    }
    if (feature == FEATURE_GET_TLV_PROPERTIES) {
        output = part10::tlv_properties_answer(d);
        return SCARD_S_SUCCESS;
    }
    // Escape not allowed: libccid refuses it with IFD_COMMUNICATION_ERROR (ifdDriverOptions bit 0
    // off), which pcscd reports as SCARD_E_NOT_TRANSACTED; applications test for that code.
    if (!feature && code == part10::kVendorIfdExchange) return SCARD_E_NOT_TRANSACTED;

    if (LONG rc = acquire(lk, h, Access{LockPolicy::Fail, false, true}, hs); rc != SCARD_S_SUCCESS) return rc;
    ReaderState& r = *hs->reader;
    const auto backend = r.backend;
    lk.unlock();
    BackendResult<Bytes> answer = std::unexpected(BackendError::NotSupported);
    if (feature == FEATURE_VERIFY_PIN_DIRECT)
        answer = backend->secure_pin(PinOperation::Verify, input);
    else if (feature == FEATURE_MODIFY_PIN_DIRECT)
        answer = backend->secure_pin(PinOperation::Modify, input);
    else if (feature == FEATURE_CCID_ESC_COMMAND)
        answer = backend->escape(input);
    else
        answer = backend->control(code, input);
    lk.lock();
    release_io(r);
    if (!answer) return io_error(answer.error());
    if (answer->size() > kMaxAnswer) return SCARD_E_NOT_TRANSACTED;
    output = std::move(*answer);
    return SCARD_S_SUCCESS;
}

LONG Service::get_attrib(SCARDHANDLE h, DWORD id, Bytes& value) {
    refresh_reader(reader_of(h));
    Lock lk(m_);
    std::shared_ptr<HandleState> hs;
    if (LONG rc = acquire(lk, h, Access{LockPolicy::Fail, true, false}, hs); rc != SCARD_S_SUCCESS) return rc;
    {
        const ReaderState& r = *hs->reader;
        const AttributeContext ctx{r.backend->description(), r.name, r.card != CardState::Absent,
                                   r.card == CardState::Powered, r.atr, r.protocol};
        if (auto v = core_attribute(id, ctx)) {
            value = std::move(*v);
            return SCARD_S_SUCCESS;
        }
    }
    if (LONG rc = acquire(lk, h, Access{LockPolicy::Fail, true, true}, hs); rc != SCARD_S_SUCCESS) return rc;
    ReaderState& r = *hs->reader;
    const auto backend = r.backend;
    lk.unlock();
    BackendResult<Bytes> answer = backend->get_attribute(id);
    lk.lock();
    release_io(r);
    if (!answer) {
        const BackendError e = answer.error();
        return e == BackendError::NotSupported || e == BackendError::ReaderGone ? io_error(e) : SCARD_E_NOT_TRANSACTED;
    }
    if (answer->size() > kMaxAnswer) return SCARD_E_NOT_TRANSACTED;
    value = std::move(*answer);
    return SCARD_S_SUCCESS;
}

LONG Service::set_attrib(SCARDHANDLE h, DWORD id, ByteView value) {
    refresh_reader(reader_of(h));
    Lock lk(m_);
    std::shared_ptr<HandleState> hs;
    if (LONG rc = acquire(lk, h, Access{LockPolicy::Fail, true, true}, hs); rc != SCARD_S_SUCCESS) return rc;
    ReaderState& r = *hs->reader;
    const auto backend = r.backend;
    lk.unlock();
    BackendResult<void> done = backend->set_attribute(id, value);
    lk.lock();
    release_io(r);
    if (!done) {
        const BackendError e = done.error();
        return e == BackendError::NotSupported || e == BackendError::ReaderGone ? io_error(e) : SCARD_E_NOT_TRANSACTED;
    }
    return SCARD_S_SUCCESS;
}

}  // namespace ccidkit::api

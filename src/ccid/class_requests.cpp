#include "ccid/class_requests.h"

#include <algorithm>

namespace ccidkit::ccid {

std::string_view to_string(ClassRequestError e) {
    switch (e) {
        case ClassRequestError::EmptyReply: return "the reader returned an empty reply to a CCID class request";
        case ClassRequestError::ShortReply:
            return "the reader returned fewer values than its class descriptor announces";
        case ClassRequestError::RaggedReply:
            return "the reader's reply is short and not a whole number of 4-byte values";
        case ClassRequestError::NotClassRequest: return "not a class request addressed to an interface";
        case ClassRequestError::WrongInterface: return "class request addressed to another interface";
        case ClassRequestError::WrongDirection: return "class request with the wrong transfer direction";
        case ClassRequestError::UnknownRequest: return "unknown CCID class request";
    }
    return "unknown CCID class request error";
}

ControlSetup abort_request(std::uint8_t interface_number, std::uint8_t slot, std::uint8_t seq) {
    return ControlSetup{kClassInterfaceOut, static_cast<std::uint8_t>(ClassRequest::Abort),
                        static_cast<std::uint16_t>((seq << 8) | slot), interface_number};
}

ControlSetup get_clock_frequencies_request(std::uint8_t interface_number) {
    return ControlSetup{kClassInterfaceIn, static_cast<std::uint8_t>(ClassRequest::GetClockFrequencies), 0,
                        interface_number};
}

ControlSetup get_data_rates_request(std::uint8_t interface_number) {
    return ControlSetup{kClassInterfaceIn, static_cast<std::uint8_t>(ClassRequest::GetDataRates), 0,
                        interface_number};
}

std::vector<std::uint32_t> whole_dwords(ByteView reply, std::uint8_t count) {
    const std::size_t n = std::min<std::size_t>(reply.size() / 4, count);
    std::vector<std::uint32_t> values;
    values.reserve(n);
    for (std::size_t i = 0; i < n; ++i) values.push_back(load_le32(&reply[4 * i]));
    return values;
}

std::expected<std::vector<std::uint32_t>, ClassRequestError> decode_dword_array(ByteView reply, std::uint8_t count) {
    if (reply.size() < dword_array_reply_size(count)) {
        if (reply.empty()) return std::unexpected(ClassRequestError::EmptyReply);
        if (reply.size() % 4 != 0) return std::unexpected(ClassRequestError::RaggedReply);
        return std::unexpected(ClassRequestError::ShortReply);
    }
    return whole_dwords(reply, count);
}

Bytes encode_dword_array(std::span<const std::uint32_t> values) {
    Bytes out(values.size() * 4);
    for (std::size_t i = 0; i < values.size(); ++i) store_le32(&out[4 * i], values[i]);
    return out;
}

std::expected<ClassRequestCall, ClassRequestError> parse_class_request(const ControlSetup& setup,
                                                                       std::uint8_t interface_number) {
    // Bits 6-5 type (01 class), bits 4-0 recipient (00001 interface), bit 7 direction.
    if ((setup.request_type & 0x7F) != (kClassInterfaceOut & 0x7F)) {
        return std::unexpected(ClassRequestError::NotClassRequest);
    }
    if (setup.index != interface_number) return std::unexpected(ClassRequestError::WrongInterface);
    const bool device_to_host = (setup.request_type & 0x80) != 0;
    switch (setup.request) {
        case static_cast<std::uint8_t>(ClassRequest::Abort):
            if (device_to_host) return std::unexpected(ClassRequestError::WrongDirection);
            return ClassRequestCall{ClassRequest::Abort, static_cast<std::uint8_t>(setup.value & 0xFF),
                                    static_cast<std::uint8_t>(setup.value >> 8)};
        case static_cast<std::uint8_t>(ClassRequest::GetClockFrequencies):
        case static_cast<std::uint8_t>(ClassRequest::GetDataRates):
            if (!device_to_host) return std::unexpected(ClassRequestError::WrongDirection);
            return ClassRequestCall{static_cast<ClassRequest>(setup.request), 0, 0};
        default: break;
    }
    return std::unexpected(ClassRequestError::UnknownRequest);
}

}  // namespace ccidkit::ccid

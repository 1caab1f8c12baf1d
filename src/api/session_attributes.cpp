#include "api/session_attributes.h"

#include <variant>

#include "PCSC/reader.h"

namespace ccidkit::api {

namespace {

Bytes dword(std::uint32_t v) {
    Bytes b(4);
    store_le32(b.data(), v);
    return b;
}

}  // namespace

std::optional<Bytes> session_attribute(std::uint32_t id, const ccid::CardSession& session) {
    const ccid::CardTiming& t = session.timing;
    const auto* t1 = std::get_if<ccid::T1Parameters>(&session.parameters);
    switch (id) {
        case SCARD_ATTR_CURRENT_CLK: return dword(t.clock_khz);
        case SCARD_ATTR_CURRENT_F: return dword(t.f);
        case SCARD_ATTR_CURRENT_D: return dword(t.d);
        case SCARD_ATTR_CURRENT_N: return dword(t.extra_guard_time);
        case SCARD_ATTR_CURRENT_W:
            if (t1) return std::nullopt;
            return dword(t.wi);
        case SCARD_ATTR_CURRENT_IFSC:
            if (!t1) return std::nullopt;
            return dword(t.ifsc);
        case SCARD_ATTR_CURRENT_IFSD:
            if (!t1) return std::nullopt;
            // What the host announced with S(IFS request), else the default of 32 (11.4.2).
            return dword(session.ifsd);
        case SCARD_ATTR_CURRENT_EBC_ENCODING:
            if (!t1) return std::nullopt;
            return dword(t1->uses_crc() ? 1 : 0);
        default: return std::nullopt;
    }
}

}  // namespace ccidkit::api

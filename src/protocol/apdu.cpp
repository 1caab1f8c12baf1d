#include "protocol/apdu.h"

namespace ccidkit::proto {

std::string_view to_string(ApduCase c) {
    switch (c) {
        case ApduCase::Case1: return "case 1";
        case ApduCase::Case2S: return "case 2S";
        case ApduCase::Case3S: return "case 3S";
        case ApduCase::Case4S: return "case 4S";
        case ApduCase::Case2E: return "case 2E";
        case ApduCase::Case3E: return "case 3E";
        case ApduCase::Case4E: return "case 4E";
    }
    return "unknown APDU case";
}

bool is_extended(ApduCase c) {
    return c == ApduCase::Case2E || c == ApduCase::Case3E || c == ApduCase::Case4E;
}

bool has_data(ApduCase c) {
    return c == ApduCase::Case3S || c == ApduCase::Case4S || c == ApduCase::Case3E ||
           c == ApduCase::Case4E;
}

bool has_le(ApduCase c) {
    return c == ApduCase::Case2S || c == ApduCase::Case4S || c == ApduCase::Case2E ||
           c == ApduCase::Case4E;
}

std::string_view to_string(ApduError e) {
    switch (e) {
        case ApduError::TooShort: return "command APDU shorter than the 4-byte header";
        case ApduError::ShortLcMismatch:
            return "short Lc does not match the body length (expected 1+Lc or 2+Lc bytes)";
        case ApduError::ExtendedLengthTruncated:
            return "extended length field truncated (body is 00 plus one byte)";
        case ApduError::ExtendedLcZero: return "extended Lc of 0000 is invalid";
        case ApduError::ExtendedLcMismatch:
            return "extended Lc does not match the body length (expected 3+Lc or 5+Lc bytes)";
        case ApduError::DataTooLong: return "command data longer than 65535 bytes";
        case ApduError::NeTooLarge: return "Ne larger than 65536";
        case ApduError::NeedsExtendedLength:
            return "short encoding requested but Nc > 255 or Ne > 256";
        case ApduError::CaseMismatch: return "APDU case disagrees with its data length or Ne";
        case ApduError::ResponseTooShort: return "response APDU shorter than SW1 SW2";
    }
    return "unknown APDU error";
}

bool CommandApdu::le_is_maximum() const {
    if (!has_le(apdu_case)) return false;
    return is_extended(apdu_case) ? ne == kMaxExtendedNe : ne == kMaxShortNe;
}

namespace {

std::uint32_t short_ne(std::uint8_t le) { return le == 0 ? kMaxShortNe : le; }

std::uint32_t extended_ne(std::uint8_t hi, std::uint8_t lo) {
    const std::uint32_t v = (static_cast<std::uint32_t>(hi) << 8) | lo;
    return v == 0 ? kMaxExtendedNe : v;
}

CommandApdu with_header(ByteView apdu) {
    CommandApdu c;
    c.cla = apdu[0];
    c.ins = apdu[1];
    c.p1 = apdu[2];
    c.p2 = apdu[3];
    return c;
}

}  // namespace

std::expected<CommandApdu, ApduError> parse_command_apdu(ByteView apdu) {
    if (apdu.size() < 4) return std::unexpected(ApduError::TooShort);
    CommandApdu c = with_header(apdu);
    const ByteView body = apdu.subspan(4);
    const std::size_t l = body.size();

    if (l == 0) {
        c.apdu_case = ApduCase::Case1;
        return c;
    }
    if (l == 1) {
        c.apdu_case = ApduCase::Case2S;
        c.ne = short_ne(body[0]);
        return c;
    }
    if (body[0] != 0) {
        // Short Lc: Nc = C5, body is Lc + data (case 3S) or Lc + data + Le (case 4S).
        const std::size_t nc = body[0];
        if (l == 1 + nc) {
            c.apdu_case = ApduCase::Case3S;
        } else if (l == 2 + nc) {
            c.apdu_case = ApduCase::Case4S;
            c.ne = short_ne(body[l - 1]);
        } else {
            return std::unexpected(ApduError::ShortLcMismatch);
        }
        c.data.assign(body.begin() + 1, body.begin() + 1 + static_cast<std::ptrdiff_t>(nc));
        return c;
    }
    // C5 = 00: extended length fields.
    if (l == 2) return std::unexpected(ApduError::ExtendedLengthTruncated);
    if (l == 3) {
        c.apdu_case = ApduCase::Case2E;
        c.ne = extended_ne(body[1], body[2]);
        return c;
    }
    const std::size_t nc = (static_cast<std::size_t>(body[1]) << 8) | body[2];
    if (nc == 0) return std::unexpected(ApduError::ExtendedLcZero);
    if (l == 3 + nc) {
        c.apdu_case = ApduCase::Case3E;
    } else if (l == 5 + nc) {
        c.apdu_case = ApduCase::Case4E;
        c.ne = extended_ne(body[l - 2], body[l - 1]);
    } else {
        return std::unexpected(ApduError::ExtendedLcMismatch);
    }
    c.data.assign(body.begin() + 3, body.begin() + 3 + static_cast<std::ptrdiff_t>(nc));
    return c;
}

std::expected<CommandApdu, ApduError> make_command_apdu(std::uint8_t cla, std::uint8_t ins,
                                                        std::uint8_t p1, std::uint8_t p2,
                                                        ByteView data, std::uint32_t ne,
                                                        LengthEncoding enc) {
    if (data.size() > kMaxExtendedNc) return std::unexpected(ApduError::DataTooLong);
    if (ne > kMaxExtendedNe) return std::unexpected(ApduError::NeTooLarge);
    const bool fits_short = data.size() <= kMaxShortNc && ne <= kMaxShortNe;
    if (enc == LengthEncoding::Short && !fits_short) {
        return std::unexpected(ApduError::NeedsExtendedLength);
    }
    const bool ext = enc == LengthEncoding::Extended || !fits_short;

    CommandApdu c;
    c.cla = cla;
    c.ins = ins;
    c.p1 = p1;
    c.p2 = p2;
    c.data.assign(data.begin(), data.end());
    c.ne = ne;
    const bool d = !data.empty();
    const bool e = ne != 0;
    if (!d && !e) {
        c.apdu_case = ApduCase::Case1;  // no length field at all: the encodings coincide
    } else if (!d) {
        c.apdu_case = ext ? ApduCase::Case2E : ApduCase::Case2S;
    } else if (!e) {
        c.apdu_case = ext ? ApduCase::Case3E : ApduCase::Case3S;
    } else {
        c.apdu_case = ext ? ApduCase::Case4E : ApduCase::Case4S;
    }
    return c;
}

std::expected<Bytes, ApduError> encode_command_apdu(const CommandApdu& c) {
    const std::size_t nc = c.data.size();
    if (nc > kMaxExtendedNc) return std::unexpected(ApduError::DataTooLong);
    if (c.ne > kMaxExtendedNe) return std::unexpected(ApduError::NeTooLarge);
    const bool want_data = has_data(c.apdu_case);
    const bool want_le = has_le(c.apdu_case);
    if (want_data != (nc != 0) || want_le != (c.ne != 0)) {
        return std::unexpected(ApduError::CaseMismatch);
    }
    const bool ext = is_extended(c.apdu_case);
    if (!ext && (nc > kMaxShortNc || c.ne > kMaxShortNe)) {
        return std::unexpected(ApduError::NeedsExtendedLength);
    }

    Bytes out{c.cla, c.ins, c.p1, c.p2};
    out.reserve(4 + 3 + nc + 2);
    if (ext) out.push_back(0x00);  // the extended marker precedes whichever field comes first
    if (want_data) {
        if (ext) out.push_back(static_cast<std::uint8_t>(nc >> 8));
        out.push_back(static_cast<std::uint8_t>(nc));
        out.insert(out.end(), c.data.begin(), c.data.end());
    }
    if (want_le) {
        // 256 (short) and 65536 (extended) are encoded as all zeros; the casts wrap to that.
        if (ext) out.push_back(static_cast<std::uint8_t>(c.ne >> 8));
        out.push_back(static_cast<std::uint8_t>(c.ne));
    }
    return out;
}

Bytes build_case1(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2) {
    return Bytes{cla, ins, p1, p2};
}

namespace {

std::expected<Bytes, ApduError> build(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1,
                                      std::uint8_t p2, ByteView data, std::uint32_t ne,
                                      LengthEncoding enc) {
    auto c = make_command_apdu(cla, ins, p1, p2, data, ne, enc);
    if (!c) return std::unexpected(c.error());
    return encode_command_apdu(*c);
}

}  // namespace

std::expected<Bytes, ApduError> build_case2(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1,
                                            std::uint8_t p2, std::uint32_t ne,
                                            LengthEncoding enc) {
    if (ne == 0) return std::unexpected(ApduError::CaseMismatch);
    return build(cla, ins, p1, p2, {}, ne, enc);
}

std::expected<Bytes, ApduError> build_case3(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1,
                                            std::uint8_t p2, ByteView data, LengthEncoding enc) {
    if (data.empty()) return std::unexpected(ApduError::CaseMismatch);
    return build(cla, ins, p1, p2, data, 0, enc);
}

std::expected<Bytes, ApduError> build_case4(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1,
                                            std::uint8_t p2, ByteView data, std::uint32_t ne,
                                            LengthEncoding enc) {
    if (data.empty() || ne == 0) return std::unexpected(ApduError::CaseMismatch);
    return build(cla, ins, p1, p2, data, ne, enc);
}

std::expected<ResponseApdu, ApduError> parse_response_apdu(ByteView response) {
    if (response.size() < 2) return std::unexpected(ApduError::ResponseTooShort);
    ResponseApdu r;
    const ByteView d = response_data(response);
    r.data.assign(d.begin(), d.end());
    r.sw1 = sw1_of(response);
    r.sw2 = sw2_of(response);
    return r;
}

Bytes make_response(ByteView data, std::uint16_t status) {
    Bytes out;
    out.reserve(data.size() + 2);
    out.assign(data.begin(), data.end());
    out.push_back(static_cast<std::uint8_t>(status >> 8));
    out.push_back(static_cast<std::uint8_t>(status));
    return out;
}

Bytes encode_response_apdu(const ResponseApdu& r) { return make_response(r.data, r.sw()); }

}  // namespace ccidkit::proto

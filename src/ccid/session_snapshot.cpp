#include "ccid/session_snapshot.h"

#include <algorithm>

#include "ccid/message_protocol_data.h"
#include "protocol/atr.h"

namespace ccidkit::ccid {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxAtr = 33;  // ISO/IEC 7816-3 8.2.1

enum SessionFlag : std::uint8_t {
    kNegotiated = 1,
    kPpsExchanged = 2,
    kFallback = 4,
    kFromReader = 8,
    kIfsdExchanged = 16,
};
enum EngineFlag : std::uint8_t { kIfsdNegotiated = 1, kNeedsResync = 2, kDead = 4, kIfsdFirst = 8 };

class Cursor {
public:
    explicit Cursor(ByteView data) : data_(data) {}
    std::optional<std::uint8_t> byte() {
        if (pos_ >= data_.size()) return std::nullopt;
        return data_[pos_++];
    }
    std::optional<ByteView> bytes(std::size_t n) {
        if (data_.size() - pos_ < n) return std::nullopt;
        const ByteView v = data_.subspan(pos_, n);
        pos_ += n;
        return v;
    }
    bool at_end() const { return pos_ == data_.size(); }

private:
    ByteView data_;
    std::size_t pos_ = 0;
};

bool valid_ifs(std::uint8_t v) { return v >= 1 && v <= 254; }

}  // namespace

Bytes encode_session_snapshot(const SessionSnapshot& snapshot) {
    Bytes out{kVersion, 0};
    const auto& s = snapshot.session;
    // A session this encoding cannot carry is published as "not powered": the next process
    // then powers the card itself instead of continuing on wrong assumptions.
    if (!s || s->atr.empty() || s->atr.size() > kMaxAtr || s->protocol > 1) return out;
    out[1] = 1;
    out.push_back(static_cast<std::uint8_t>(s->voltage));
    out.push_back(s->protocol);
    std::uint8_t flags = 0;
    if (s->negotiated) flags |= kNegotiated;
    if (s->pps_exchanged) flags |= kPpsExchanged;
    if (s->negotiation_fallback) flags |= kFallback;
    if (s->parameters_from_reader) flags |= kFromReader;
    if (s->ifsd_exchanged) flags |= kIfsdExchanged;
    out.push_back(flags);
    out.push_back(s->ifsd);
    out.push_back(static_cast<std::uint8_t>(std::min(s->power_on_attempts, 255u)));
    out.push_back(static_cast<std::uint8_t>(s->atr.size()));
    out.insert(out.end(), s->atr.begin(), s->atr.end());
    const Bytes params = encode_protocol_data(s->parameters);
    out.push_back(protocol_num(s->parameters));
    out.push_back(static_cast<std::uint8_t>(params.size()));
    out.insert(out.end(), params.begin(), params.end());
    if (!snapshot.t1) {
        out.push_back(0);
        return out;
    }
    const auto& c = snapshot.t1->config;
    const auto& e = snapshot.t1->state;
    std::uint8_t engine = 0;
    if (e.ifsd_negotiated) engine |= kIfsdNegotiated;
    if (e.needs_resync) engine |= kNeedsResync;
    if (e.dead) engine |= kDead;
    if (c.negotiate_ifsd_first) engine |= kIfsdFirst;
    out.insert(out.end(), {1, c.ifsc, c.ifsd, c.initial_ifsd, static_cast<std::uint8_t>(c.edc), c.nad, e.ns, e.nr,
                           e.ifsc, e.ifsd, engine});
    return out;
}

std::expected<SessionSnapshot, std::string> decode_session_snapshot(ByteView data) {
    using R = std::expected<SessionSnapshot, std::string>;
    if (data.size() > kMaxSessionSnapshotSize) return R(std::unexpect, "session snapshot too long");
    Cursor in(data);
    const auto version = in.byte();
    if (!version || *version != kVersion) return R(std::unexpect, "unknown session snapshot version");
    const auto powered = in.byte();
    if (!powered || *powered > 1) return R(std::unexpect, "bad powered flag");
    SessionSnapshot out;
    if (*powered == 0) {
        if (!in.at_end()) return R(std::unexpect, "trailing bytes");
        return out;
    }
    const auto voltage = in.byte(), protocol = in.byte(), flags = in.byte(), ifsd = in.byte(), attempts = in.byte(),
               atr_len = in.byte();
    if (!atr_len) return R(std::unexpect, "truncated session");
    if (*voltage > static_cast<std::uint8_t>(PowerSelect::V1_8)) return R(std::unexpect, "bad voltage");
    if (*protocol > 1) return R(std::unexpect, "bad protocol");
    if (*atr_len == 0 || *atr_len > kMaxAtr) return R(std::unexpect, "bad ATR length");
    const auto atr = in.bytes(*atr_len);
    const auto pnum = in.byte();
    const auto plen = in.byte();
    if (!atr || !pnum || !plen) return R(std::unexpect, "truncated session");
    const auto pdata = in.bytes(*plen);
    if (!pdata) return R(std::unexpect, "truncated parameters");
    auto params = decode_protocol_data(*pnum, *pdata);
    if (!params || protocol_num(*params) != *protocol) return R(std::unexpect, "bad protocol parameters");
    const proto::AtrParse parse = proto::parse_atr(*atr);

    CardSession s;
    s.atr.assign(atr->begin(), atr->end());
    s.parsed_atr = parse.atr;
    s.voltage = static_cast<PowerSelect>(*voltage);
    s.power_on_attempts = *attempts;
    s.protocol = *protocol;
    s.parameters = *params;
    s.negotiated = (*flags & kNegotiated) != 0;
    s.pps_exchanged = (*flags & kPpsExchanged) != 0;
    s.negotiation_fallback = (*flags & kFallback) != 0;
    s.parameters_from_reader = (*flags & kFromReader) != 0;
    s.ifsd_exchanged = (*flags & kIfsdExchanged) != 0;
    s.ifsd = *ifsd;
    out.session = std::move(s);

    const auto has_t1 = in.byte();
    if (!has_t1 || *has_t1 > 1) return R(std::unexpect, "bad T=1 marker");
    if (*has_t1 == 1) {
        const auto e = in.bytes(10);
        if (!e) return R(std::unexpect, "truncated T=1 state");
        const auto& b = *e;
        T1Snapshot t;
        t.config.ifsc = b[0];
        t.config.ifsd = b[1];
        t.config.initial_ifsd = b[2];
        if (b[3] > static_cast<std::uint8_t>(proto::T1Edc::Crc)) return R(std::unexpect, "bad EDC");
        t.config.edc = static_cast<proto::T1Edc>(b[3]);
        t.config.nad = b[4];
        t.config.negotiate_ifsd_first = (b[9] & kIfsdFirst) != 0;
        t.state = proto::T1Continuity{b[5], b[6], b[7], b[8], (b[9] & kIfsdNegotiated) != 0,
                                      (b[9] & kNeedsResync) != 0, (b[9] & kDead) != 0};
        if (t.state.ns > 1 || t.state.nr > 1 || !valid_ifs(t.config.ifsc) || !valid_ifs(t.config.ifsd) ||
            !valid_ifs(t.config.initial_ifsd) || !valid_ifs(t.state.ifsc) || !valid_ifs(t.state.ifsd))
            return R(std::unexpect, "bad T=1 state");
        if (*protocol != 1) return R(std::unexpect, "T=1 state for a T=0 session");
        out.t1 = t;
    }
    if (!in.at_end()) return R(std::unexpect, "trailing bytes");
    return out;
}

}  // namespace ccidkit::ccid

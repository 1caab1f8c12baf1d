#include "sim/card/file_app.h"

#include <algorithm>

namespace ccidkit::sim {

namespace sw = proto::sw;
using proto::make_response;

Bytes demo_application_aid() { return Bytes{0xF0, 'C', 'C', 'I', 'D', 'K', 'I', 'T', 0x01}; }

std::uint8_t file_pattern_byte(std::uint16_t fid, std::size_t i) {
    const auto base = static_cast<std::uint8_t>((fid >> 8) ^ (fid & 0xFF));
    return static_cast<std::uint8_t>(base + i + 13 * (i / 256));
}

namespace {

Bytes initial_content(std::uint16_t fid, std::size_t size) {
    Bytes b(size);
    for (std::size_t i = 0; i < size; ++i) b[i] = file_pattern_byte(fid, i);
    return b;
}

// ISO/IEC 7816-4 clause 5.1.1 class byte: only channel 0, no SM, no chaining are supported.
std::optional<std::uint16_t> check_class(std::uint8_t cla) {
    if ((cla & 0xE0) == 0x00) {  // first interindustry: 000x xxxx
        if (cla & 0x10) return sw::kChainingNotSupported;
        if (cla & 0x0C) return sw::kSecureMessagingNotSupported;
        if (cla & 0x03) return sw::kLogicalChannelNotSupported;
        return std::nullopt;
    }
    if ((cla & 0xC0) == 0x40) {  // further interindustry: 01xx xxxx, channels 4..19
        if (cla & 0x10) return sw::kChainingNotSupported;
        if (cla & 0x20) return sw::kSecureMessagingNotSupported;
        return sw::kLogicalChannelNotSupported;
    }
    return sw::kClaNotSupported;
}

void put_tlv(Bytes& out, std::uint8_t tag, ByteView value) {
    out.push_back(tag);
    out.push_back(static_cast<std::uint8_t>(value.size()));  // every value here is < 128
    out.insert(out.end(), value.begin(), value.end());
}

}  // namespace

FileSystemApp::FileSystemApp() {
    Node mf;
    mf.fid = kFidMf;
    mf.is_df = true;
    nodes_.push_back(std::move(mf));

    auto ef = [](std::uint16_t fid, std::uint8_t sfi, std::size_t size) {
        Node n;
        n.fid = fid;
        n.sfi = sfi;
        n.content = std::make_shared<Bytes>(initial_content(fid, size));
        return n;
    };
    add(0, ef(kFidEfSmall, 1, 32));
    add(0, ef(kFidEfMedium, 2, 300));
    add(0, ef(kFidEfLarge, 3, 65536));
    add(0, ef(kFidEfEmpty, 4, 0));
    Node app;
    app.fid = kFidDfApp;
    app.is_df = true;
    app.aid = demo_application_aid();
    const std::size_t df = add(0, std::move(app));
    add(df, ef(kFidEfApp, 1, 256));
}

std::size_t FileSystemApp::add(std::size_t parent, Node node) {
    node.parent = parent;
    nodes_.push_back(std::move(node));
    const std::size_t index = nodes_.size() - 1;
    nodes_[parent].children.push_back(index);
    return index;
}

void FileSystemApp::reset() {
    current_df_ = 0;
    current_ef_.reset();
}

std::optional<ByteView> FileSystemApp::ef_content(std::uint16_t fid) const {
    for (const Node& n : nodes_) {
        if (!n.is_df && n.fid == fid) return ByteView(*n.content);
    }
    return std::nullopt;
}

std::optional<std::size_t> FileSystemApp::child_with_fid(std::size_t df, std::uint16_t fid) const {
    for (std::size_t c : nodes_[df].children) {
        if (nodes_[c].fid == fid) return c;
    }
    return std::nullopt;
}

Bytes FileSystemApp::process(ByteView command) {
    auto parsed = proto::parse_command_apdu(command);
    if (!parsed) return make_response(sw::kWrongLength);
    const proto::CommandApdu& c = *parsed;
    if (auto bad = check_class(c.cla)) return make_response(*bad);
    switch (c.ins) {
        case kInsSelect: return select(c);
        case kInsReadBinary: return read_binary(c);
        case kInsUpdateBinary: return update_binary(c);
        default: return make_response(sw::kInsNotSupported);
    }
}

Bytes FileSystemApp::file_control(std::size_t index, std::uint8_t template_tag) const {
    const Node& n = nodes_[index];
    Bytes inner;
    const std::uint8_t descriptor = n.is_df ? 0x38 : 0x01;
    put_tlv(inner, 0x82, ByteView(&descriptor, 1));
    const std::uint8_t fid[2] = {static_cast<std::uint8_t>(n.fid >> 8),
                                 static_cast<std::uint8_t>(n.fid)};
    put_tlv(inner, 0x83, fid);
    if (!n.is_df) {
        const std::size_t size = n.content->size();
        const std::uint8_t s3[3] = {static_cast<std::uint8_t>(size >> 16),
                                    static_cast<std::uint8_t>(size >> 8),
                                    static_cast<std::uint8_t>(size)};
        put_tlv(inner, 0x80, size >= 65536 ? ByteView(s3) : ByteView(s3).subspan(1));
        put_tlv(inner, 0x88, ByteView(&n.sfi, 1));
    } else if (!n.aid.empty()) {
        put_tlv(inner, 0x84, n.aid);
    }
    Bytes out;
    put_tlv(out, template_tag, inner);
    return out;
}

Bytes FileSystemApp::select(const proto::CommandApdu& c) {
    std::uint8_t template_tag = 0;
    if (c.p2 == 0x00) {
        template_tag = 0x6F;  // FCI
    } else if (c.p2 == 0x04) {
        template_tag = 0x62;  // FCP
    } else if (c.p2 != 0x0C) {
        return make_response(sw::kIncorrectP1P2);
    }

    std::optional<std::size_t> found;
    if (c.p1 == 0x00) {
        if (c.data.empty()) {
            found = 0;
        } else if (c.data.size() != 2) {
            return make_response(sw::kWrongLength);
        } else {
            const auto fid = static_cast<std::uint16_t>((c.data[0] << 8) | c.data[1]);
            if (fid == kFidMf) {
                found = 0;
            } else {
                found = child_with_fid(current_df_, fid);
                if (!found) found = child_with_fid(0, fid);
            }
        }
    } else if (c.p1 == 0x04) {
        if (c.data.empty() || c.data.size() > 16) return make_response(sw::kWrongLength);
        for (std::size_t i = 0; i < nodes_.size() && !found; ++i) {
            const Bytes& aid = nodes_[i].aid;
            if (nodes_[i].is_df && aid.size() >= c.data.size() &&
                std::equal(c.data.begin(), c.data.end(), aid.begin())) {
                found = i;
            }
        }
    } else {
        return make_response(sw::kIncorrectP1P2);
    }
    if (!found) return make_response(sw::kFileNotFound);

    if (nodes_[*found].is_df) {
        current_df_ = *found;
        current_ef_.reset();
    } else {
        current_df_ = nodes_[*found].parent;
        current_ef_ = *found;
    }
    if (template_tag == 0 || c.ne == 0) return make_response(sw::kOk);
    Bytes fc = file_control(*found, template_tag);
    if (fc.size() > c.ne) {
        return make_response(static_cast<std::uint16_t>(0x6C00 | fc.size()));
    }
    return make_response(fc, sw::kOk);
}

std::expected<FileSystemApp::Target, std::uint16_t> FileSystemApp::resolve(
    const proto::CommandApdu& c) {
    Target t;
    if (c.p1 & 0x80) {
        if (c.p1 & 0x60) return std::unexpected(sw::kIncorrectP1P2);
        const std::uint8_t sfi = c.p1 & 0x1F;
        std::optional<std::size_t> ef;
        for (std::size_t i : nodes_[current_df_].children) {
            if (!nodes_[i].is_df && nodes_[i].sfi == sfi) ef = i;
        }
        if (sfi == 0 || !ef) return std::unexpected(sw::kFileNotFound);
        current_ef_ = *ef;
        t.ef = *ef;
        t.offset = c.p2;
    } else {
        if (!current_ef_) return std::unexpected(sw::kNoCurrentEf);
        t.ef = *current_ef_;
        t.offset = (static_cast<std::size_t>(c.p1) << 8) | c.p2;
    }
    if (t.offset >= nodes_[t.ef].content->size()) return std::unexpected(sw::kWrongP1P2);
    return t;
}

Bytes FileSystemApp::read_binary(const proto::CommandApdu& c) {
    if (!c.data.empty() || c.ne == 0) return make_response(sw::kWrongLength);
    auto t = resolve(c);
    if (!t) return make_response(t.error());
    const Bytes& content = *nodes_[t->ef].content;
    const std::size_t available = content.size() - t->offset;
    const std::size_t n = std::min<std::size_t>(available, c.ne);
    const bool short_read = n < c.ne && !c.le_is_maximum();
    return make_response(ByteView(content).subspan(t->offset, n),
                         short_read ? sw::kEndOfFileReached : sw::kOk);
}

Bytes FileSystemApp::update_binary(const proto::CommandApdu& c) {
    if (c.data.empty()) return make_response(sw::kWrongLength);
    auto t = resolve(c);
    if (!t) return make_response(t.error());
    if (c.data.size() > nodes_[t->ef].content->size() - t->offset) return make_response(sw::kNotEnoughMemory);
    Bytes& content = writable_content(t->ef);
    std::copy(c.data.begin(), c.data.end(),
              content.begin() + static_cast<std::ptrdiff_t>(t->offset));
    return make_response(sw::kOk);
}

Bytes& FileSystemApp::writable_content(std::size_t ef) {
    std::shared_ptr<Bytes>& content = nodes_[ef].content;
    if (content.use_count() > 1) content = std::make_shared<Bytes>(*content);
    return *content;
}

}  // namespace ccidkit::sim

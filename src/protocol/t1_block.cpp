#include "protocol/t1_block.h"

#include <fmt/format.h>

namespace ccidkit::proto {

namespace {

constexpr std::uint8_t kRBlock = 0x80;
constexpr std::uint8_t kSBlock = 0xC0;

// Expected INF size of an S-block (11.3.2.2): IFS and WTX carry one byte, the others none.
constexpr std::size_t s_inf_size(T1SKind kind) {
    return (kind == T1SKind::Ifs || kind == T1SKind::Wtx) ? 1 : 0;
}

std::expected<void, T1BlockError> check_pcb(const T1Block& b) {
    switch (b.type()) {
        case T1BlockType::I:
            if ((b.pcb & 0x1Fu) != 0) return std::unexpected(T1BlockError::InvalidPcb);
            return {};
        case T1BlockType::R:
            if ((b.pcb & 0x20u) != 0 || (b.pcb & 0x0Fu) > 2)
                return std::unexpected(T1BlockError::InvalidPcb);
            if (!b.inf.empty()) return std::unexpected(T1BlockError::InvalidInfLength);
            return {};
        case T1BlockType::S: {
            const unsigned kind = b.pcb & 0x1Fu;
            const bool known = kind <= 3 || (kind == 4 && b.is_response());
            if (!known) return std::unexpected(T1BlockError::InvalidPcb);
            if (b.inf.size() != s_inf_size(b.s_kind()))
                return std::unexpected(T1BlockError::InvalidInfLength);
            return {};
        }
    }
    return std::unexpected(T1BlockError::InvalidPcb);
}

}  // namespace

std::string_view to_string(T1BlockType type) {
    switch (type) {
        case T1BlockType::I: return "I-block";
        case T1BlockType::R: return "R-block";
        case T1BlockType::S: return "S-block";
    }
    return "unknown block type";
}

std::string_view to_string(T1RCode code) {
    switch (code) {
        case T1RCode::Ok: return "error-free";
        case T1RCode::EdcError: return "EDC or parity error";
        case T1RCode::OtherError: return "other error";
    }
    return "RFU error code";
}

std::string_view to_string(T1SKind kind) {
    switch (kind) {
        case T1SKind::Resynch: return "RESYNCH";
        case T1SKind::Ifs: return "IFS";
        case T1SKind::Abort: return "ABORT";
        case T1SKind::Wtx: return "WTX";
        case T1SKind::VppError: return "VPP error";
    }
    return "RFU S-block";
}

std::string_view to_string(T1BlockError error) {
    switch (error) {
        case T1BlockError::TooShort: return "T=1 block shorter than prologue and EDC";
        case T1BlockError::LengthTooLarge: return "T=1 block LEN is FF (INF is at most 254 bytes)";
        case T1BlockError::LengthMismatch: return "T=1 block size does not match its LEN byte";
        case T1BlockError::EdcMismatch: return "T=1 block EDC (LRC/CRC) mismatch";
        case T1BlockError::InvalidNad: return "T=1 block NAD is FF";
        case T1BlockError::InvalidPcb: return "T=1 block PCB is invalid (RFU bits or unknown type)";
        case T1BlockError::InvalidInfLength: return "T=1 block INF size is wrong for its type";
    }
    return "unknown T=1 block error";
}

T1RCode r_code_for(T1BlockError error) {
    return error == T1BlockError::EdcMismatch ? T1RCode::EdcError : T1RCode::OtherError;
}

T1BlockType T1Block::type() const {
    if ((pcb & 0x80u) == 0) return T1BlockType::I;
    return (pcb & 0xC0u) == kSBlock ? T1BlockType::S : T1BlockType::R;
}

T1Block T1Block::i_block(std::uint8_t nad, std::uint8_t ns, bool more, ByteView inf) {
    const auto pcb = static_cast<std::uint8_t>(((ns & 1u) << 6) | (more ? 0x20u : 0u));
    return T1Block{nad, pcb, Bytes(inf.begin(), inf.end())};
}

T1Block T1Block::r_block(std::uint8_t nad, std::uint8_t nr, T1RCode code) {
    const auto pcb = static_cast<std::uint8_t>(kRBlock | ((nr & 1u) << 4) |
                                               (static_cast<unsigned>(code) & 0x0Fu));
    return T1Block{nad, pcb, {}};
}

T1Block T1Block::s_block(std::uint8_t nad, T1SKind kind, bool response,
                         std::optional<std::uint8_t> value) {
    const auto pcb = static_cast<std::uint8_t>(kSBlock | (response ? 0x20u : 0u) |
                                               static_cast<unsigned>(kind));
    T1Block b{nad, pcb, {}};
    if (value) b.inf.push_back(*value);
    return b;
}

std::expected<Bytes, T1BlockError> encode(const T1Block& block, T1Edc edc) {
    if (block.inf.size() > kT1MaxInf) return std::unexpected(T1BlockError::InvalidInfLength);
    Bytes out;
    out.reserve(kT1PrologueSize + block.inf.size() + edc_size(edc));
    out.push_back(block.nad);
    out.push_back(block.pcb);
    out.push_back(static_cast<std::uint8_t>(block.inf.size()));
    out.insert(out.end(), block.inf.begin(), block.inf.end());
    append_edc(out, edc);
    return out;
}

std::expected<T1Block, T1BlockError> decode(ByteView raw, T1Edc edc) {
    // Structure first: without a consistent length the EDC position is unknown.
    if (raw.size() < kT1PrologueSize + edc_size(edc)) return std::unexpected(T1BlockError::TooShort);
    const std::size_t len = raw[2];
    if (len > kT1MaxInf) return std::unexpected(T1BlockError::LengthTooLarge);
    if (raw.size() != kT1PrologueSize + len + edc_size(edc))
        return std::unexpected(T1BlockError::LengthMismatch);
    if (!edc_matches(raw, edc)) return std::unexpected(T1BlockError::EdcMismatch);
    if (raw[0] == 0xFF) return std::unexpected(T1BlockError::InvalidNad);

    T1Block block{raw[0], raw[1], Bytes(raw.begin() + kT1PrologueSize,
                                        raw.begin() + static_cast<std::ptrdiff_t>(kT1PrologueSize + len))};
    if (auto ok = check_pcb(block); !ok) return std::unexpected(ok.error());
    return block;
}

std::string describe(const T1Block& block) {
    switch (block.type()) {
        case T1BlockType::I:
            return fmt::format("I({}{}) {} bytes", block.ns(), block.more() ? ",M" : "",
                               block.inf.size());
        case T1BlockType::R:
            if (block.r_code() == T1RCode::Ok) return fmt::format("R({})", block.nr());
            return fmt::format("R({}) {}", block.nr(), to_string(block.r_code()));
        case T1BlockType::S: {
            const char* dir = block.is_response() ? "response" : "request";
            if (block.inf.size() == 1)
                return fmt::format("S({} {} {})", to_string(block.s_kind()), dir, block.s_value());
            return fmt::format("S({} {})", to_string(block.s_kind()), dir);
        }
    }
    return "invalid block";
}

}  // namespace ccidkit::proto

#include "sim/virtual_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "protocol/atr.h"
#include "sim/reader/reader_sim.h"
#include "sim/reader_corpus.h"

namespace ccidkit::sim {
namespace {

std::expected<ReaderSimConfig, std::string> config_for_kind(std::string_view kind, const VirtualFileLoader& loader) {
    if (kind == "tpdu") return make_reader_config(ccid::ExchangeLevel::Tpdu);
    if (kind == "short") return make_reader_config(ccid::ExchangeLevel::ShortApdu);
    if (kind == "extended") return make_reader_config(ccid::ExchangeLevel::ExtendedApdu);
    if (kind.starts_with("file=")) {
        const std::string path(kind.substr(5));
        if (path.empty()) return std::unexpected(std::string("file= needs a path"));
        return loader ? loader(path) : load_corpus_reader_config(path);
    }
    return std::unexpected(fmt::format("unknown virtual reader kind '{}' (tpdu, short, extended, file=PATH or socket=PATH)", kind));
}

std::optional<VirtualReaderSpec::Card> card_named(std::string_view name) { return virtual_card_named(name); }

constexpr std::string_view kSocketPrefix = "socket=";

// A bare decimal count of at most three digits, else nullopt.
std::optional<std::size_t> reader_count(std::string_view value) {
    if (value.empty() || value.size() > 3) return std::nullopt;
    std::size_t n = 0;
    for (char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

}  // namespace

std::expected<ReaderSimConfig, std::string> load_corpus_reader_config(const std::string& path) {
    auto file = load_reader_file(path);
    if (!file) return std::unexpected(fmt::format("{}: {}", path, file.error().message));
    if (file->interfaces.empty()) return std::unexpected(fmt::format("{}: no reader interface", path));
    return reader_config_from_corpus(file->interfaces.front());
}

std::expected<std::vector<VirtualReaderSpec>, std::string> parse_virtual_spec(std::string_view spec,
                                                                              const VirtualFileLoader& loader) {
    std::vector<VirtualReaderSpec> out;
    std::size_t start = 0;
    while (start <= spec.size()) {
        const std::size_t comma = spec.find(',', start);
        const std::string_view item = spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start);
        start = comma == std::string_view::npos ? spec.size() + 1 : comma + 1;
        if (item.empty()) return std::unexpected(std::string("empty item in the virtual reader list"));
        if (out.size() == kMaxVirtualReaders)
            return std::unexpected(fmt::format("at most {} virtual readers", kMaxVirtualReaders));
        if (item.starts_with(kSocketPrefix)) {
            const std::string_view path = item.substr(kSocketPrefix.size());
            if (path.empty()) return std::unexpected(std::string("socket= needs the path of a ccid-simd socket"));
            VirtualReaderSpec v;
            v.card = VirtualReaderSpec::Card::None;
            v.spec = std::string(item);
            v.socket_path = std::string(path);
            out.push_back(std::move(v));
            continue;
        }
        std::string_view kind = item;
        std::string_view card = "t1";
        // The card follows the last ':'. A file path may contain ':' itself, so after file= the
        // suffix counts as a card only when it is a card name.
        if (const auto colon = item.rfind(':'); colon != std::string_view::npos) {
            const std::string_view suffix = item.substr(colon + 1);
            if (!item.starts_with("file=") || card_named(suffix)) {
                kind = item.substr(0, colon);
                card = suffix;
            }
        }
        auto config = config_for_kind(kind, loader);
        if (!config) return std::unexpected(config.error());
        const auto c = card_named(card);
        if (!c) return std::unexpected(fmt::format("unknown card '{}' in '{}' (t1, t0, t1-1v8 or none)", card, item));
        VirtualReaderSpec v;
        v.config = std::move(*config);
        v.card = *c;
        v.spec = std::string(item);
        out.push_back(std::move(v));
    }
    return out;
}

std::expected<std::vector<VirtualReaderSpec>, std::string> parse_virtual_readers_env(std::string_view value,
                                                                                     const VirtualFileLoader& loader) {
    if (value.empty()) return std::vector<VirtualReaderSpec>{};
    if (const auto n = reader_count(value)) {
        if (*n > kMaxVirtualReaders)
            return std::unexpected(fmt::format("at most {} virtual readers (asked for {})", kMaxVirtualReaders, *n));
        std::vector<VirtualReaderSpec> out;
        for (std::size_t i = 0; i < *n; ++i) {
            VirtualReaderSpec v;
            v.config = make_reader_config(ccid::ExchangeLevel::Tpdu);
            v.card = VirtualReaderSpec::Card::T1;
            v.spec = "tpdu:t1";
            out.push_back(std::move(v));
        }
        return out;
    }
    return parse_virtual_spec(value, loader);
}

std::optional<VirtualReaderSpec::Card> virtual_card_named(std::string_view name) {
    using Card = VirtualReaderSpec::Card;
    if (name == "t1") return Card::T1;
    if (name == "t0") return Card::T0;
    if (name == "t1-1v8") return Card::T1ClassC;
    if (name == "none") return Card::None;
    return std::nullopt;
}

std::string_view virtual_card_name(VirtualReaderSpec::Card card) {
    switch (card) {
        case VirtualReaderSpec::Card::T1: return "t1";
        case VirtualReaderSpec::Card::T0: return "t0";
        case VirtualReaderSpec::Card::T1ClassC: return "t1-1v8";
        case VirtualReaderSpec::Card::None: break;
    }
    return "none";
}

std::optional<SimCard> make_virtual_card(VirtualReaderSpec::Card card) {
    switch (card) {
        case VirtualReaderSpec::Card::T1: return SimCard::t1_default();
        case VirtualReaderSpec::Card::T0: return SimCard::t0_default();
        case VirtualReaderSpec::Card::T1ClassC: {
            SimCardConfig c;
            c.atr = SimCard::t1_default_atr();
            c.atr.classes = proto::kClassC;
            return SimCard(std::move(c));
        }
        case VirtualReaderSpec::Card::None: break;
    }
    return std::nullopt;
}

std::unique_ptr<ReaderSim> make_virtual_reader(const VirtualReaderSpec& spec) {
    auto sim = std::make_unique<ReaderSim>(spec.config);
    if (auto card = make_virtual_card(spec.card)) sim->insert_card(0, std::move(*card));
    return sim;
}

std::string virtual_serial(const VirtualReaderSpec& spec, std::size_t index) {
    return spec.config.serial.empty() ? std::string{} : fmt::format("{}-{}", spec.config.serial, index);
}

}  // namespace ccidkit::sim

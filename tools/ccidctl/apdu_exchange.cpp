#include "apdu_exchange.h"

#include <fmt/format.h>

#include <algorithm>

#include "status_words.h"

namespace ccidkit::ccidctl {

bool ApduExchange::matches_expectation() const {
    if (!expected) return true;
    if (!response || response->size() < 2) return false;
    if (expected->size() == 2) return std::equal(expected->begin(), expected->end(), response->end() - 2);
    return *expected == *response;
}

ApduExchange transmit(ccid::Slot& slot, ByteView command) {
    ApduExchange e;
    e.command.assign(command.begin(), command.end());
    const auto start = std::chrono::steady_clock::now();
    auto r = slot.transmit(command);
    e.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (r && r->size() >= 2) {
        e.response = std::move(*r);
    } else if (r) {
        e.error = ccid::make_error(ccid::ReaderErrc::ProtocolError, "response shorter than SW1 SW2");
    } else {
        e.error = r.error();
    }
    return e;
}

void print_exchange(std::ostream& out, const ApduExchange& e) {
    out << "> " << to_hex(e.command) << '\n';
    if (e.error) {
        out << "! " << ccid::describe(*e.error) << '\n';
        return;
    }
    const Bytes& r = *e.response;
    const std::uint16_t sw = static_cast<std::uint16_t>(r[r.size() - 2] << 8 | r[r.size() - 1]);
    out << "< " << to_hex(r) << " : " << describe_sw(sw) << '\n';
    if (e.expected && !e.matches_expectation()) out << "! expected " << to_hex(*e.expected) << '\n';
}

void write_exchange_json(JsonWriter& j, const ApduExchange& e) {
    j.begin_object();
    if (e.line != 0) j.field("line", e.line);
    j.hex_field("command", e.command);
    if (e.response) {
        const Bytes& r = *e.response;
        const std::uint16_t sw = static_cast<std::uint16_t>(r[r.size() - 2] << 8 | r[r.size() - 1]);
        j.hex_field("response", r);
        j.hex_field("data", ByteView(r).first(r.size() - 2));
        j.field("sw", fmt::format("{:04X}", sw)).field("sw_meaning", describe_sw(sw));
        j.key("error").null();
    } else {
        j.key("response").null();
        j.field("error", ccid::describe(*e.error));
    }
    j.field("elapsed_us", static_cast<std::int64_t>(e.elapsed.count()));
    if (e.expected) {
        j.hex_field("expected", *e.expected);
        j.field("as_expected", e.matches_expectation());
    }
    j.end_object();
}

}  // namespace ccidkit::ccidctl

// `ccidctl apdu HEX...`: powers the card on (with protocol negotiation), sends each command
// APDU and shows the responses.
#include <fmt/format.h>

#include <array>

#include "apdu_exchange.h"
#include "card_connection.h"
#include "command.h"
#include "json.h"

namespace ccidkit::ccidctl {
namespace {

bool sw_ok(const ApduExchange& e) {
    if (!e.response) return false;
    const std::uint8_t sw1 = (*e.response)[e.response->size() - 2];
    return sw1 == 0x90 || sw1 == 0x61;
}

ExitCode run_apdu(Context& ctx, const ParsedArgs& args) {
    if (args.positional.empty()) return fail(ctx, ExitCode::Usage, "apdu: give at least one command APDU in hex");
    std::vector<Bytes> commands;
    for (const auto& p : args.positional) {
        auto bytes = from_hex(p);
        if (!bytes || bytes->size() < 4) {
            return fail(ctx, ExitCode::Usage, "apdu: '" + p + "' is not a command APDU (at least 4 hex bytes)");
        }
        commands.push_back(std::move(*bytes));
    }
    auto card = connect_card(ctx);
    if (!card) return fail(ctx, card.error().code, card.error().message);

    std::vector<ApduExchange> exchanges;
    ExitCode code = ExitCode::Ok;
    for (const auto& c : commands) {
        exchanges.push_back(transmit(*card->slot, c));
        const auto& e = exchanges.back();
        if (e.error) {
            code = exit_code_for(*e.error);
            break;  // the card or the reader failed: later commands would fail the same way
        }
        if (args.has("check") && !sw_ok(e)) code = ExitCode::CardError;
    }
    (void)card->slot->power_off();

    if (ctx.json) {
        JsonWriter j(ctx.out);
        j.begin_object().field("reader", card->opened.info.name).field("slot", ctx.slot);
        j.hex_field("atr", card->session.atr).field("protocol", unsigned{card->session.protocol});
        j.key("exchanges").begin_array();
        for (const auto& e : exchanges) write_exchange_json(j, e);
        j.end_array().field("exit_code", to_int(code)).end_object();
    } else {
        ctx.out << "Reader: " << card->opened.info.name << ", slot " << ctx.slot << '\n';
        ctx.out << "ATR: " << to_hex(card->session.atr) << "  (" << protocol_name(card->session) << ")\n";
        for (const auto& e : exchanges) print_exchange(ctx.out, e);
    }
    if (!exchanges.empty() && exchanges.back().error)
        ctx.err << "ccidctl: " << ccid::describe(*exchanges.back().error) << '\n';
    return code;
}

constexpr std::array kOptions = {
    OptionSpec{"check", '\0', "", "exit with status 4 unless every status word is 90xx or 61xx"},
};

}  // namespace

const Command& apdu_command() {
    static const Command c{
        "apdu",
        "HEX [HEX...]",
        "send command APDUs to the card and show the responses",
        "Each argument is one command APDU in hex (quote it when it contains spaces):\n"
        "  ccidctl apdu 00A4040007A0000000041010 00B0000000\n"
        "The card is powered on with protocol negotiation first and powered off at the end.\n"
        "Responses are shown as pcsc-tools' scriptor does. The exit status is 3 without a card,\n"
        "4 when the card or the protocol fails.\n",
        kOptions,
        run_apdu,
    };
    return c;
}

}  // namespace ccidkit::ccidctl

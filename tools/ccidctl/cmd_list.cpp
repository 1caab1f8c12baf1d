// `ccidctl list`: the readers, their index and location (what --reader accepts), and whether a
// card is in each slot.
#include <fmt/format.h>

#include <array>

#include "ccid/slot.h"
#include "command.h"
#include "json.h"
#include "readers.h"

namespace ccidkit::ccidctl {
namespace {

struct SlotState {
    unsigned slot = 0;
    std::string card;  // "absent", "present", "active"
};

struct Listed {
    ReaderInfo info;
    std::vector<SlotState> slots;
    std::optional<std::string> error;  // the reader could not be opened for its status
};

std::string_view card_text(ccid::CardPresence p) {
    switch (p) {
        case ccid::CardPresence::Absent: return "absent";
        case ccid::CardPresence::PresentInactive: return "present";
        case ccid::CardPresence::PresentActive: return "active";
    }
    return "unknown";
}

Listed status_of(const Context& ctx, const ReaderInfo& info) {
    Listed l{info, {}, std::nullopt};
    auto opened = open_reader(ctx, info);
    if (!opened) {
        l.error = opened.error().message;
        return l;
    }
    for (unsigned s = 0; s < opened->reader->slot_count(); ++s) {
        auto st = opened->reader->slot(s)->status();
        l.slots.push_back(SlotState{s, st ? std::string(card_text(st->presence)) : "unknown"});
    }
    return l;
}

ExitCode run_list(Context& ctx, const ParsedArgs& args) {
    if (!args.positional.empty()) return fail(ctx, ExitCode::Usage, "list takes no arguments (see --help)");
    auto readers = list_readers(ctx);
    if (!readers) return fail(ctx, readers.error().code, readers.error().message);
    std::vector<Listed> listed;
    for (const auto& r : *readers) {
        listed.push_back(args.has("no-status") ? Listed{r, {}, std::nullopt} : status_of(ctx, r));
    }

    if (ctx.json) {
        JsonWriter j(ctx.out);
        j.begin_object().key("readers").begin_array();
        for (std::size_t i = 0; i < listed.size(); ++i) {
            const auto& l = listed[i];
            j.begin_object().field("index", i).field("name", l.info.name).field("location", l.info.location);
            j.field("vendor_id", unsigned{l.info.vendor_id}).field("product_id", unsigned{l.info.product_id});
            j.field("bcd_device", unsigned{l.info.bcd_device});
            j.field("interface_number", unsigned{l.info.interface_number});
            j.field("interface_class", unsigned{l.info.interface_class});
            j.key("slots").begin_array();
            for (const auto& s : l.slots) j.begin_object().field("slot", s.slot).field("card", s.card).end_object();
            j.end_array();
            j.key("error");
            if (l.error) {
                j.value(*l.error);
            } else {
                j.null();
            }
            j.end_object();
        }
        j.end_array().end_object();
    } else {
        for (std::size_t i = 0; i < listed.size(); ++i) {
            const auto& l = listed[i];
            ctx.out << fmt::format("{}: {}\n   {}  {:04X}:{:04X}", i, l.info.name, l.info.location, l.info.vendor_id,
                                   l.info.product_id);
            if (l.info.interface_class != 0x0B) ctx.out << "  (vendor-class interface)";
            ctx.out << '\n';
            for (const auto& s : l.slots) ctx.out << fmt::format("   slot {}: card {}\n", s.slot, s.card);
            if (l.error) ctx.out << "   status unknown: " << *l.error << '\n';
        }
    }
    if (listed.empty()) {
        ctx.err << "ccidctl: no smart-card reader found\n";
        return ExitCode::NoReader;
    }
    return ExitCode::Ok;
}

constexpr std::array kOptions = {
    OptionSpec{"no-status", '\0', "", "do not open the readers to ask for the card status"},
};

}  // namespace

const Command& list_command() {
    static const Command c{
        "list",
        "",
        "list the readers and the cards in them",
        "Each reader is shown with its index and its location, which --reader accepts, as well\n"
        "as its name (or any unique part of it) and VID:PID. Readers are enumerated on USB:\n"
        "every interface of class 0Bh, and vendor-class interfaces of readers in the quirks table.\n"
        "The simulated readers of $CCID_VIRTUAL_READERS come first, as SCardListReaders shows them\n"
        "(same names; CCIDKIT_USB=0 leaves USB out). A USB reader that cannot be opened is listed\n"
        "here with the reason; PC/SC programs do not see it.\n"
        "With --virtual SPEC, only these simulated readers are used: a comma-separated list of\n"
        "KIND[:CARD], KIND = tpdu | short | extended | file=PATH (a descriptor file, see\n"
        "`ccidctl info --help`), CARD = t1 (default) | t0 | t1-1v8 (class C only) | none.\n"
        "Example: --virtual short:t1,tpdu:none\n"
        "socket=PATH (no CARD) is the reader a `ccid-simd serve --socket PATH` process serves,\n"
        "shared with other programs; ccidctl claims it while it uses it. A server that is not\n"
        "there leaves the reader out (with a warning), as it does for PC/SC programs.\n"
        "The exit status is 2 when no reader is found.\n",
        kOptions,
        run_list,
    };
    return c;
}

}  // namespace ccidkit::ccidctl

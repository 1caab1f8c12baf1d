// `ccidctl udev-rules`: the udev rules giving users access to smart-card readers, with the
// vendor-class readers taken from the quirks table. The build runs it on udev/70-ccidkit.rules.in.
#include <fmt/format.h>

#include <array>
#include <fstream>
#include <sstream>

#include "command.h"
#include "json.h"
#include "udev_rules.h"

namespace ccidkit::ccidctl {
namespace {

ExitCode run_udev_rules(Context& ctx, const ParsedArgs& args) {
    if (!args.positional.empty()) return fail(ctx, ExitCode::Usage, "udev-rules takes no arguments (see --help)");
    const auto ids = vendor_class_reader_ids(args.has("include-user-quirks"));

    if (ctx.json) {
        JsonWriter j(ctx.out);
        j.begin_object().key("vendor_class_readers").begin_array();
        for (const auto& [vid, pid] : ids) {
            j.begin_object().field("vendor_id", unsigned{vid}).field("product_id", unsigned{pid}).end_object();
        }
        j.end_array().end_object();
        return ExitCode::Ok;
    }

    std::string text;
    if (auto templ_path = args.value("template")) {
        std::ifstream in(*templ_path, std::ios::binary);
        if (!in) return fail(ctx, ExitCode::IoError, *templ_path + ": cannot open the template");
        std::ostringstream buffer;
        buffer << in.rdbuf();
        auto rendered = render_udev_rules(buffer.str(), ids, args.value("group").value_or("plugdev"));
        if (!rendered) return fail(ctx, ExitCode::Usage, *templ_path + ": " + rendered.error());
        text = std::move(*rendered);
    } else {
        if (args.has("group")) return fail(ctx, ExitCode::Usage, "--group only applies with --template");
        text = vendor_class_rules(ids);
    }

    if (auto out_path = args.value("output")) {
        // Written next to the target and renamed, so a failed build never leaves half a file.
        const std::string tmp = *out_path + ".tmp";
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            out << text;
            if (!out) return fail(ctx, ExitCode::IoError, tmp + ": cannot write");
        }
        if (std::rename(tmp.c_str(), out_path->c_str()) != 0)
            return fail(ctx, ExitCode::IoError, *out_path + ": cannot replace");
        return ExitCode::Ok;
    }
    ctx.out << text;
    return ExitCode::Ok;
}

constexpr std::array kOptions = {
    OptionSpec{"template", '\0', "FILE",
               "rules template with @CCIDKIT_VENDOR_CLASS_RULES@ and @CCIDKIT_GROUP@ (default: print only the "
               "vendor-class match rules)"},
    OptionSpec{"group", '\0', "NAME", "group given access on headless systems (default plugdev)"},
    OptionSpec{"output", 'o', "FILE", "write the rules there instead of standard output"},
    OptionSpec{"include-user-quirks", '\0', "",
               "also list the vendor-class readers of the user's quirks file (--quirks-file or "
               "$CCIDKIT_QUIRKS_FILE)"},
};

}  // namespace

const Command& udev_rules_command() {
    static const Command c{
        "udev-rules",
        "",
        "generate the udev rules for reader access from the quirks table",
        "The rules give the logged-in user (TAG+=\"uaccess\") and a group access to every USB device\n"
        "with a smart-card (class 0Bh) interface and to every vendor-class reader of the quirks\n"
        "table, and start the ccidkit-diag@.service diagnostics when a reader is plugged in.\n"
        "With --json, prints the vendor-class reader list only.\n",
        kOptions,
        run_udev_rules,
    };
    return c;
}

}  // namespace ccidkit::ccidctl

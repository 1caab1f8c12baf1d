// The command table.
#include <vector>

#include "command.h"
#include "commands.h"

namespace ccidkit::ccidctl {

std::span<const Command> all_commands() {
    static const std::vector<Command> table = {
        list_command(), atr_command(),  apdu_command(),  script_command(),     monitor_command(),
        info_command(), diag_command(), trace_command(), udev_rules_command(),
    };
    return table;
}

}  // namespace ccidkit::ccidctl

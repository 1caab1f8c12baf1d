// One function per command, each in its cmd_*.cpp file.
#pragma once

#include "command.h"

namespace ccidkit::ccidctl {

const Command& list_command();
const Command& atr_command();
const Command& apdu_command();
const Command& script_command();
const Command& monitor_command();
const Command& info_command();
const Command& diag_command();
const Command& trace_command();
const Command& udev_rules_command();

}  // namespace ccidkit::ccidctl

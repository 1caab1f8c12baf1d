// ccidctl's exit status: what a script can branch on. Documented in `ccidctl --help` and
// docs/design/tools.md; never renumber.
#pragma once

#include <string_view>

namespace ccidkit::ccidctl {

enum class ExitCode : int {
    Ok = 0,
    Usage = 1,       // bad command line: unknown command or option, missing or malformed argument
    NoReader = 2,    // no reader found, or none matches --reader
    NoCard = 3,      // the reader has no card (or it was removed during the command)
    CardError = 4,   // the card or the protocol failed: mute card, bad ATR, T=0/T=1 error, bad SW in a script
    IoError = 5,     // USB or file I/O failed: permission, device busy or gone, unreadable file
    DiagFailed = 6,  // `diag` ran to the end and found problems the reader needs a fix for
};

inline int to_int(ExitCode c) { return static_cast<int>(c); }

std::string_view describe(ExitCode c);

}  // namespace ccidkit::ccidctl

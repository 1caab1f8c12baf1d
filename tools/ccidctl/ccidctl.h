// ccidctl as a function, so that tests run it in-process (and under the sanitizers).
#pragma once

#include <atomic>
#include <ostream>
#include <span>
#include <string>

namespace ccidkit::ccidctl {

// Runs `ccidctl ARGS...` (no program name) and returns the exit status. `interrupted` (may be
// null) is polled by long-running commands (monitor) and makes them end cleanly.
int run(std::span<const std::string> args, std::ostream& out, std::ostream& err,
        const std::atomic<bool>* interrupted = nullptr);

}  // namespace ccidkit::ccidctl

// ccidctl: the command-line tool. Everything but signal handling lives in ccidctl.cpp.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "card_signals.h"
#include "ccidctl.h"

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int) { g_interrupted.store(true); }
extern "C" void on_card_signal(int signal) {
    using ccidkit::ccidctl::CardRequest;
    ccidkit::ccidctl::request_card_change(signal == SIGUSR1 ? CardRequest::Insert : CardRequest::Remove);
}

}  // namespace

int main(int argc, char** argv) {
    // SIGINT/SIGTERM end long-running commands (monitor) cleanly instead of killing the
    // process in the middle of a USB transfer.
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    // Card insertion/removal on simulated readers for `monitor` (card_signals.h); harmless
    // otherwise, instead of the default action (ending the process).
    sa.sa_handler = on_card_signal;
    sigaction(SIGUSR1, &sa, nullptr);
    sigaction(SIGUSR2, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    std::vector<std::string> args(argv + 1, argv + argc);
    return ccidkit::ccidctl::run(args, std::cout, std::cerr, &g_interrupted);
}

// Behaviour switches of the service, normally read from the environment.
#pragma once

#include <string>

namespace ccidkit::api {

struct ServiceOptions {
    // PCSCLITE_NO_BLOCKING: SCardTransmit/SCardStatus/SCardReconnect answer
    // SCARD_E_SHARING_VIOLATION instead of waiting for another handle's transaction.
    bool no_blocking = false;
    // Directory for the cross-process lock files; empty disables cross-process sharing.
    std::string lock_dir;
};

// PCSCLITE_NO_BLOCKING, and the lock directory from default_lock_dir().
ServiceOptions options_from_environment();

}  // namespace ccidkit::api

// The process-wide service behind the C ABI.
#pragma once

#include <memory>

#include "api/backend.h"
#include "api/service_options.h"

namespace ccidkit::api {

class Service;

// The current service, created on first use with make_default_provider() and the options
// from the environment. nullptr when no provider could be created (SCARD_E_NO_SERVICE).
std::shared_ptr<Service> current_service();

// Replaces the reader provider. The previous service is shut down: its contexts and handles
// become invalid and its blocked calls return SCARD_E_NO_SERVICE. nullptr goes back to the
// default provider at the next use. Meant for tests and for programs that bring their own
// readers (e.g. a simulator).
void install_provider(std::shared_ptr<ReaderProvider> provider);
// Same, with explicit options instead of the environment (tests use a private lock directory).
void install_provider(std::shared_ptr<ReaderProvider> provider, ServiceOptions options);

}  // namespace ccidkit::api

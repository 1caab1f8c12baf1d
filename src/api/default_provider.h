// The reader provider used when the application did not install one.
#pragma once

#include <memory>

#include "api/backend.h"

namespace ccidkit::api {

// Never null. May throw if the underlying system (e.g. USB) cannot be initialised; the
// caller then reports SCARD_E_NO_SERVICE.
std::shared_ptr<ReaderProvider> make_default_provider();

// A provider without readers.
class EmptyProvider final : public ReaderProvider {
public:
    std::vector<std::shared_ptr<ReaderBackend>> readers() override { return {}; }
    void set_listener(ChangeListener*) override {}
};

}  // namespace ccidkit::api

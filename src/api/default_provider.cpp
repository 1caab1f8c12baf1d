#include "api/default_provider.h"

namespace ccidkit::api {

// The USB CCID driver and the reader simulator plug in here once their adapters exist
// (see docs/_parts/api.md, "Backends"); until then an application sees no reader.
std::shared_ptr<ReaderProvider> make_default_provider() { return std::make_shared<EmptyProvider>(); }

}  // namespace ccidkit::api

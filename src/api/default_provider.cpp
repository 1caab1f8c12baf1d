#include "api/default_provider.h"

#include "api/ccid_backend_provider.h"

namespace ccidkit::api {

// USB CCID readers through the host driver, plus the simulated readers of
// $CCID_VIRTUAL_READERS (api/ccid_backend_provider.h). Throws when that variable does not
// parse, which the caller reports as SCARD_E_NO_SERVICE (after the message is logged).
std::shared_ptr<ReaderProvider> make_default_provider() { return make_ccid_provider(); }

}  // namespace ccidkit::api

// Lets the C ABI test (a C program) put a fake reader with a T=1 card behind the API.
#include "api/fake_backend.h"
#include "api/service_registry.h"

using namespace ccidkit::api;
using namespace ccidkit::api::testing;

extern "C" void ccidkit_test_install_fake(void) {
    auto provider = std::make_shared<FakeProvider>();
    provider->add(FakeReader::describe("C Reader", "C1"))->insert(kAtrT1);
    install_provider(provider, ServiceOptions{});
}

extern "C" void ccidkit_test_uninstall(void) { install_provider(nullptr); }

#include "api/service_registry.h"

#include <mutex>
#include <optional>

#include "api/default_provider.h"
#include "api/service.h"
#include "ccid/logging.h"

namespace ccidkit::api {

namespace {

struct Registry {
    std::mutex m;
    std::shared_ptr<Service> service;
    std::shared_ptr<ReaderProvider> installed;
    std::optional<ServiceOptions> options;

    // At exit, or when the shared library is unloaded (applications such as OpenSC dlopen and
    // dlclose libpcsclite): stop the service so that no provider thread outlives the code.
    ~Registry() {
        std::shared_ptr<Service> last;
        {
            std::lock_guard g(m);
            last = std::move(service);
        }
        if (last) last->shutdown();
    }
};

Registry& registry() {
    // The service's threads may log until ~Registry has stopped them, so the logger (and
    // spdlog's registry behind it) must be destroyed after it. Statics are destroyed in the
    // reverse order of their construction: make the logger first.
    [[maybe_unused]] static const bool logger_first = ccid::logger() != nullptr;
    static Registry r;
    return r;
}

}  // namespace

std::shared_ptr<Service> current_service() {
    Registry& reg = registry();
    std::lock_guard g(reg.m);
    if (!reg.service) {
        std::shared_ptr<ReaderProvider> provider = reg.installed;
        if (!provider) {
            try {
                provider = make_default_provider();
            } catch (...) {
                return nullptr;
            }
        }
        if (!provider) return nullptr;
        reg.service = std::make_shared<Service>(std::move(provider), reg.options ? *reg.options : options_from_environment());
    }
    return reg.service;
}

namespace {

void replace(std::shared_ptr<ReaderProvider> provider, std::optional<ServiceOptions> options) {
    Registry& reg = registry();
    std::shared_ptr<Service> old;
    {
        std::lock_guard g(reg.m);
        old = std::move(reg.service);
        reg.service.reset();
        reg.installed = std::move(provider);
        reg.options = std::move(options);
    }
    if (old) old->shutdown();
}

}  // namespace

void install_provider(std::shared_ptr<ReaderProvider> provider) { replace(std::move(provider), std::nullopt); }

void install_provider(std::shared_ptr<ReaderProvider> provider, ServiceOptions options) {
    replace(std::move(provider), std::move(options));
}

}  // namespace ccidkit::api

// Sets (or, with nullopt, unsets) an environment variable for a scope's lifetime, then puts
// back what was there. Tests that read the library's variables use it so that one test's
// setting never leaks into the next.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace ccidkit::testing {

class ScopedEnv {
public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) {
            ::setenv(name, value->c_str(), 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace ccidkit::testing

// Runs ccidctl in-process for the tests (ctl({"atr", "3B00"})) and parses --json output.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "ccidctl.h"
#include "tools/json_parse.h"

namespace ccidkit::testing_ccidctl {

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

inline Run ctl(std::vector<std::string> args, const std::atomic<bool>* interrupted = nullptr) {
    std::ostringstream out, err;
    Run r;
    r.code = ccidkit::ccidctl::run(args, out, err, interrupted);
    r.out = out.str();
    r.err = err.str();
    return r;
}

// The output must be exactly one JSON document.
inline testing_json::Value json_of(const Run& r) {
    auto v = testing_json::parse(r.out);
    EXPECT_TRUE(v.has_value()) << "not one JSON document:\n" << r.out << "\nstderr:\n" << r.err;
    return v.value_or(testing_json::Value{});
}

}  // namespace ccidkit::testing_ccidctl

// Replays the committed reproducers of a fuzz target (fuzz/regressions/<target>/) through the
// target's own harness, each in a child process: a violated invariant aborts the child, a
// clean run exits 0. For the tests/<layer>/fuzz_regression_<target>_test.cpp files, which
// include the harness itself (it defines LLVMFuzzerTestOneInput).
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace ccidkit::fuzz_replay {

using FuzzEntry = int (*)(const std::uint8_t*, std::size_t);

// Call from a test whose suite name ends in "DeathTest". Fails if fewer than `at_least`
// reproducers were found.
inline void expect_reproducers_pass(const std::string& target, FuzzEntry entry, int at_least) {
    const std::filesystem::path dir = std::filesystem::path(CCIDKIT_SOURCE_DIR) / "fuzz" / "regressions" / target;
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    int replayed = 0;
    for (const auto& file : std::filesystem::directory_iterator(dir)) {
        if (!file.is_regular_file() || file.path().extension() == ".md") continue;
        std::ifstream f(file.path(), std::ios::binary);
        const std::vector<std::uint8_t> input((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        ASSERT_FALSE(input.empty()) << file.path();
        EXPECT_EXIT(
            {
                entry(input.data(), input.size());
                std::exit(0);
            },
            ::testing::ExitedWithCode(0), "")
            << "reproducer " << file.path().filename();
        ++replayed;
    }
    EXPECT_GE(replayed, at_least);
}

}  // namespace ccidkit::fuzz_replay

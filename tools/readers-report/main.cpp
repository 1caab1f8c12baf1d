// readers-report: emulates every reader of the real-reader corpus against the host driver
// (the same run as tests/ccid/corpus_emulation_test.cpp) and writes docs/READERS.md.
//
//   readers-report --corpus DIR [--output FILE]
//
// DIR is the corpus folder (shared/corpus/ccid-readers); FILE defaults to standard output.
// Exit status: 0 when the report was written (failing readers are part of the report; the test
// t_ccid_corpus_emulation_test is the gate), 2 on usage or I/O errors (a missing corpus included).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "../../tests/ccid/corpus_emulation_run.h"
#include "readers_markdown.h"

namespace {

int usage() {
    std::cerr << "usage: readers-report --corpus DIR [--output FILE]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::filesystem::path corpus;
    std::filesystem::path output;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--corpus" && i + 1 < argc) corpus = argv[++i];
        else if (arg == "--output" && i + 1 < argc) output = argv[++i];
        else return usage();
    }
    if (corpus.empty()) {
        std::cerr << "readers-report: --corpus is required (e.g. ../shared/corpus/ccid-readers)\n";
        return usage();
    }
    if (!std::filesystem::is_directory(corpus)) {
        std::cerr << "readers-report: no corpus directory at " << corpus << "\n";
        return 2;
    }

    const auto start = std::chrono::steady_clock::now();
    const ccidkit::emulation::CorpusRun run = ccidkit::emulation::emulate_corpus(corpus);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    ccidkit::readers_report::ReportInfo info;
    info.corpus_label = corpus.filename().string();
    const std::string text = ccidkit::readers_report::render_markdown(run, info);
    if (output.empty()) {
        std::cout << text;
    } else {
        std::ofstream out(output, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) {
            std::cerr << "readers-report: cannot write " << output << "\n";
            return 2;
        }
    }

    std::size_t emulated = 0, passed = 0;
    for (const auto& r : run.interfaces) {
        if (!r.emulated()) continue;
        ++emulated;
        if (r.passed()) ++passed;
    }
    std::cerr << "readers-report: " << run.interfaces.size() << " interfaces, " << emulated << " emulated, "
              << passed << " passed, " << (emulated - passed) << " failed (" << seconds << " s)\n";
    return 0;
}

// docs/READERS.md from a corpus emulation run: the summary per exchange level and protocol,
// the sweep per size, every failure with the driver's reason (grouped by known cause), the
// interfaces not emulated and why, then one row per interface. The text depends on the run
// only (no dates, no timings), so regenerating it without a change gives the same file.
#pragma once

#include <string>

#include "../../tests/ccid/corpus_emulation_model.h"

namespace ccidkit::readers_report {

struct ReportInfo {
    std::string corpus_label;  // how the corpus is named in the text (no absolute path)
};

std::string render_markdown(const emulation::CorpusRun& run, const ReportInfo& info);

}  // namespace ccidkit::readers_report

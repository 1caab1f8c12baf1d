// Real readers of the corpus impersonated by ccid-gadget, seen through the kernel: the
// descriptor, identity and strings a libccid `parse` dump recorded come back out of
// enumerate_readers(), and the driver runs a card through each of them. A fixed sample of the
// corpus by default (every 50th file); CCIDKIT_VM_CORPUS_ALL=1 takes every file. Runs only in
// the test VM, and skips when the corpus (../shared/corpus/ccid-readers) is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "ccid/descriptor_meaning.h"
#include "sim/reader/reader_config.h"
#include "sim/reader_corpus.h"
#include "vm_apdu.h"
#include "vm_reader.h"

namespace ccidkit::vmtest {
namespace {

using ccid::Millis;

std::filesystem::path corpus_dir() { return std::filesystem::path(CCIDKIT_SHARED_DIR) / "corpus" / "ccid-readers"; }

bool is_bcd(std::uint16_t v) {
    return (v & 0xF) <= 9 && ((v >> 4) & 0xF) <= 9 && ((v >> 8) & 0xF) <= 9 && (v >> 12) <= 9;
}

// One reader: returns false (after recording failures) when it could not be driven.
bool check_reader(const std::filesystem::path& path, const sim::CorpusInterface& rec, bool& driven) {
    const sim::ReaderSimConfig config = sim::reader_config_from_corpus(rec);
    const ccid::ExchangeLevel level = sim::simulated_level(config.descriptor);
    const bool t1 = (config.descriptor.dwProtocols & 0x2) != 0;
    SCOPED_TRACE(path.filename().string());
    auto g = plug_gadget({"--corpus", path.string(), "--card", t1 ? "t1" : "t0"}, config.vendor_id,
                         config.product_id);
    if (!g) return false;
    // What `parse` recorded is what the host reads (type forced to 21h: see ccid-gadget).
    Bytes expected = rec.descriptor_bytes;
    expected.resize(ccid::kCcidDescriptorLength);
    expected[1] = ccid::kCcidDescriptorType;
    EXPECT_EQ(to_hex(g.candidate.class_descriptor), to_hex(expected));
    if (is_bcd(rec.device.bcd_device)) {
        EXPECT_EQ(g.candidate.bcd_device, rec.device.bcd_device);
    }
    EXPECT_EQ(g.candidate.interrupt_in.has_value(), rec.bNumEndpoints >= 3);
    if (level == ccid::ExchangeLevel::Character) return true;  // not driven by this stack

    ccid::ReaderOptions options = vm_reader_options();
    options.auto_get_response = true;  // T=0-only readers: case 4 needs GET RESPONSE
    auto reader = open_driver(g.candidate, options);
    if (!reader) return false;
    auto session = reader->slot(0)->power_on();
    EXPECT_TRUE(session) << ccid::describe(session.error());
    if (!session) return false;
    const Bytes data = test_data(200, 3);
    auto response = reader->slot(0)->transmit(echo_apdu(data, 200));
    EXPECT_TRUE(response) << ccid::describe(response.error());
    if (!response) return false;
    EXPECT_EQ(*response, plus_9000(data));
    driven = true;
    return true;
}

TEST(GadgetCorpus, ImpersonatedReadersEnumerateAndRunACard) {
    CCIDKIT_VM_ONLY();
    if (!std::filesystem::is_directory(corpus_dir())) GTEST_SKIP() << "no corpus at " << corpus_dir();
    auto files = sim::list_corpus(corpus_dir());
    ASSERT_TRUE(files) << files.error().message;
    const bool all = std::getenv("CCIDKIT_VM_CORPUS_ALL") != nullptr;
    int tried = 0, driven = 0;
    std::vector<std::string> failed;
    for (std::size_t i = 0; i < files->size(); i += all ? 1 : 50) {
        const auto& path = (*files)[i];
        auto file = sim::load_reader_file(path);
        if (!file || file->interfaces.empty()) continue;
        ++tried;
        bool ok_driven = false;
        if (!check_reader(path, file->interfaces.front(), ok_driven)) failed.push_back(path.filename().string());
        driven += ok_driven ? 1 : 0;
    }
    std::printf("[   INFO   ] %d corpus readers enumerated, %d driven with a card, %zu failed\n", tried, driven,
                failed.size());
    for (const auto& f : failed) std::printf("[   INFO   ] failed: %s\n", f.c_str());
    EXPECT_GT(tried, 0);
}

}  // namespace
}  // namespace ccidkit::vmtest

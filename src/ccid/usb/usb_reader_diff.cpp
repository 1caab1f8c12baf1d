#include "ccid/usb/usb_reader_diff.h"

#include <map>
#include <set>

namespace ccidkit::ccid::usb {

ReaderChanges diff_readers(const std::vector<UsbReaderCandidate>& before, const std::vector<UsbReaderCandidate>& after) {
    std::map<ReaderKey, const UsbReaderCandidate*> known;
    for (const UsbReaderCandidate& c : before) known.emplace(key_of(c), &c);

    ReaderChanges out;
    std::set<ReaderKey> present;
    for (const UsbReaderCandidate& c : after) {
        const ReaderKey key = key_of(c);
        if (!present.insert(key).second) continue;
        const auto it = known.find(key);
        if (it == known.end()) {
            out.added.push_back(c);
            out.current.push_back(c);
        } else {
            out.current.push_back(*it->second);
        }
    }
    std::set<ReaderKey> reported;
    for (const UsbReaderCandidate& c : before) {
        const ReaderKey key = key_of(c);
        if (present.count(key) == 0 && reported.insert(key).second) out.removed.push_back(c);
    }
    return out;
}

}  // namespace ccidkit::ccid::usb

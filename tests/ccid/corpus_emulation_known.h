// Failures of the corpus emulation that are understood: driver defects reported to the lead,
// each with the readers it hits. corpus_emulation_test.cpp pins them (a reader outside this list
// failing, a listed reader passing, or a listed reader failing for another reason all fail the
// test); docs/READERS.md groups its failures by these causes.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

namespace ccidkit::emulation {

struct KnownCause {
    const char* title;
    const char* explanation;
    // Every failure text of a reader listed under this cause contains one of these.
    std::initializer_list<const char*> signatures;
};

// No failure is known today. The two causes this table held until the corpus first ran clean
// were driver defects, now fixed and covered by their own tests:
//  - SetParameters refused after an accepted PPS, the reader left at Fd/Dd while the card ran
//    TA1's rate (7 readers: ATMEL AT90SCR050/100, BUDGET BUD001, Feitian SCR310, Generic
//    MultiCard, MySmartPad, SAFETRUST SABRE): tests/ccid/slot_negotiation_test.cpp;
//  - dwMaxCCIDMessageLength below 271 raised to 271 for what the host sends (20 readers, 64 to
//    266 bytes): tests/ccid/slot_message_limit_test.cpp.
// A new understood failure goes here as a KnownCause with the readers it hits.
inline const std::map<std::string_view, const KnownCause*>& known_failures() {
    static const std::map<std::string_view, const KnownCause*> table = {};
    return table;
}

inline const KnownCause* known_cause(std::string_view file) {
    const auto& table = known_failures();
    const auto it = table.find(file);
    return it == table.end() ? nullptr : it->second;
}

inline bool explained_by(std::string_view failure_text, const KnownCause& cause) {
    for (const char* signature : cause.signatures)
        if (failure_text.find(signature) != std::string_view::npos) return true;
    return false;
}

}  // namespace ccidkit::emulation

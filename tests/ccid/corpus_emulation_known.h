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

// Slot::negotiate (src/ccid/slot.cpp): after the host's PPS moved the card to TA1's Fi/Di, the
// reader refused SetParameters, and the driver accepted the reader's GetParameters comparing
// only the protocol. Reader and card then run at different rates and every character is garbled.
inline const KnownCause kRateMismatchAfterPps{
    "SetParameters refused after a successful PPS: reader and card left at different rates",
    "The host sent a PPS for TA1's Fi/Di and the card accepted it; the reader then refused SetParameters with that "
    "Fi/Di (its GET_DATA_RATES list, which the driver does not read because bNumDataRatesSupported is 0, holds no "
    "such rate or only zeros; MySmartPad's shifted descriptor names no T=0/T=1 bit and a 1024 MHz clock, so it "
    "refuses every SetParameters). Slot::negotiate() falls back to the reader's GetParameters after comparing the "
    "protocol only, so the reader stays at Fd/Dd while the card runs at TA1's rate: T=0 exchanges end in "
    "XFR_PARITY_ERROR, T=1 in exhausted retries. Driver defect: compare bmFindexDindex as well and, when they "
    "differ, cold-reset the card and use its default protocol at Fd/Dd as after a failed PPS.",
    {"XFR_PARITY_ERROR", "retries and resynchronisation exhausted"}};

// effective_limits() (src/ccid/descriptor_checks.cpp) raises dwMaxCCIDMessageLength below 271
// to 271; apdu_transfer.cpp / the T=1 set-up size messages from that value.
inline const KnownCause kMessageLengthIgnored{
    "dwMaxCCIDMessageLength below 271 not honoured: messages longer than the reader takes",
    "The reader reports a dwMaxCCIDMessageLength below 271 (64 to 266 bytes). effective_limits() raises it to 271, "
    "so the driver sends messages the reader refuses (bError 01, dwLength) instead of cutting them to the reader's "
    "size (extended-APDU parts, T=1 I-blocks: IFSC capped to what fits) or refusing them before the wire "
    "(short APDUs and T=0 TPDUs that cannot fit: ApduTooLong). SCM readers reporting 263 are known (libccid) to accept 270-byte messages: a quirk row "
    "overriding their dwMaxCCIDMessageLength would model that.",
    {"rejected dwLength", "not refused before the wire"}};

inline const std::map<std::string_view, const KnownCause*>& known_failures() {
    static const std::map<std::string_view, const KnownCause*> table = {
        {"ATMEL_AT90SCR050.txt", &kRateMismatchAfterPps},
        {"ATMEL_AT90SCR100.txt", &kRateMismatchAfterPps},
        {"BUDGET_BUD001.txt", &kRateMismatchAfterPps},
        {"Feitian_SCR310.txt", &kRateMismatchAfterPps},
        {"Generic_MultiCard_Device.txt", &kRateMismatchAfterPps},
        {"MySmartPad.txt", &kRateMismatchAfterPps},
        {"SAFETRUST_SABRE_SCR.txt", &kRateMismatchAfterPps},
        {"AxaltoV3.txt", &kMessageLengthIgnored},                                // 263, TPDU
        {"Bluink_CCID.txt", &kMessageLengthIgnored},                             // 240, short APDU
        {"Elatec_TWN4_MULTITECH.txt", &kMessageLengthIgnored},                   // 64, extended APDU
        {"Elatec_TWN4_SmartCard_NFC.txt", &kMessageLengthIgnored},               // 64, TPDU
        {"Fsij_gnuk.txt", &kMessageLengthIgnored},                               // 64, extended APDU
        {"HPUSBSmartCardKeyboard.txt", &kMessageLengthIgnored},                  // 263, TPDU
        {"HPUSBSmartCardReader.txt", &kMessageLengthIgnored},                    // 263, TPDU
        {"IIT_E.Key_Almaz-1C.txt", &kMessageLengthIgnored},                      // 264, short APDU
        {"IIT_E.Key_Crystal-1.txt", &kMessageLengthIgnored},                     // 264, short APDU
        {"Identiv_uTrust_3720_Contactless_Reader.txt", &kMessageLengthIgnored},  // 263, short APDU
        {"Identiv_uTrust_FIDO2_Security_Key.txt", &kMessageLengthIgnored},       // 64, TPDU
        {"ReinerSCT_cyberJack_RFID_basis.txt", &kMessageLengthIgnored},          // 266, extended APDU
        {"SCM_SCL010.txt", &kMessageLengthIgnored},                              // 262, extended APDU
        {"SCM_SCL011.txt", &kMessageLengthIgnored},                              // 262, extended APDU
        {"SCR331-DI-NTTCom.txt", &kMessageLengthIgnored},                        // 263, TPDU
        {"SCR331-DI.txt", &kMessageLengthIgnored},                               // 263, TPDU
        {"SCR3310_2.txt", &kMessageLengthIgnored},                               // 263, TPDU
        {"SCR355.txt", &kMessageLengthIgnored},                                  // 263, TPDU
        {"authenton_1-CTAP2.1.txt", &kMessageLengthIgnored},                     // 64, TPDU
        {"bit4id_minilector-AIR.txt", &kMessageLengthIgnored},                   // 250, TPDU
    };
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

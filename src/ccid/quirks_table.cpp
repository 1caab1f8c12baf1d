// The built-in reader quirks. Facts come from the CCID class descriptors recorded for each
// reader (idVendor/idProduct/bcdDevice) and from what the free CCID drivers (libccid,
// GnuPG's scdaemon) had to do for these readers; see docs/design/quirks.md. Only fixes
// that one of the `Quirks` switches expresses are here; PIN-pad message rewriting, escape
// sequences and per-slot rate lists belong to the code that needs them.
//
// Rows of the same VID:PID never overlap: where a fix depends on the firmware, the range is
// split and each piece carries every fix that applies to it.
#include <vector>

#include "ccid/quirks.h"

namespace ccidkit::ccid {

namespace {

using std::chrono::milliseconds;

constexpr std::uint16_t kAnyMin = 0x0000;
constexpr std::uint16_t kAnyMax = 0xFFFF;

class TableBuilder {
public:
    template <typename Fn>
    void add(std::uint16_t vid, std::uint16_t pid, std::uint16_t bcd_min, std::uint16_t bcd_max, std::string name,
             std::string reason, Fn&& set) {
        QuirkRow row;
        row.vid = vid;
        row.pid = pid;
        row.bcd_min = bcd_min;
        row.bcd_max = bcd_max;
        row.name = std::move(name);
        row.reason = std::move(reason);
        set(row.quirks);
        rows_.push_back(std::move(row));
    }
    template <typename Fn>
    void add(std::uint16_t vid, std::uint16_t pid, std::string name, std::string reason, Fn&& set) {
        add(vid, pid, kAnyMin, kAnyMax, std::move(name), std::move(reason), std::forward<Fn>(set));
    }
    // A model whose firmware below `first_good` is known broken: the row for the old
    // firmware refuses it (min_firmware) on top of `common`; newer firmware gets `common`
    // alone, if it changes anything.
    template <typename Fn>
    void bogus_below(std::uint16_t vid, std::uint16_t pid, std::uint16_t first_good, const std::string& name,
                     const std::string& reason, Fn&& common) {
        add(vid, pid, kAnyMin, static_cast<std::uint16_t>(first_good - 1), name,
            "firmware known to be broken (libccid refuses it too)" + (reason.empty() ? std::string() : "; " + reason),
            [&](Quirks& q) {
                common(q);
                q.min_firmware = first_good;
            });
        Quirks probe;
        common(probe);
        if (!(probe == Quirks{})) add(vid, pid, first_good, kAnyMax, name, reason, common);
    }
    std::vector<QuirkRow> take() { return std::move(rows_); }

private:
    std::vector<QuirkRow> rows_;
};

void nothing(Quirks&) {}

// SCM readers whose firmware reports dwMaxCCIDMessageLength 263 while taking 270-byte
// messages (libccid lets them through): a 260-byte T=0 TPDU (CLA INS P1 P2 P3 and 255 bytes)
// then fits in one message.
constexpr std::uint32_t kScmRealMessageLength = 270;
const char* const kScmMessageLengthReason =
    "reports dwMaxCCIDMessageLength 263 but takes 270-byte messages (libccid knows it): 270 used";
void scm_message_length(Quirks& q) { q.descriptor.dwMaxCCIDMessageLength = kScmRealMessageLength; }

// SCM readers whose USB stack hangs when the reader has to send a frame of exactly
// n * wMaxPacketSize (64) bytes; an IFSD of 64 - 10 (CCID header) - 4 (T=1 prologue and
// epilogue) - 2 (reserve) = 48 keeps every response block below that (GnuPG scdaemon).
constexpr std::uint8_t kScmSafeIfsd = 48;
const char* const kScmIfsdReason =
    "the reader's USB stack hangs on responses of a multiple of 64 bytes; IFSD capped at 48 so T=1 blocks stay "
    "shorter";

std::vector<QuirkRow> build() {
    TableBuilder t;

    // ---- Descriptor fields reported wrongly ----
    t.add(0x09BE, 0x0002, "MySmartPad (MySMART PAD V2.0)",
          "reports a dwMaxIFSD that does not match what it handles (forced to 254 as libccid does); vendor-class "
          "interface (0xFF) with a CCID descriptor",
          [](Quirks& q) {
              q.descriptor.dwMaxIFSD = 254;
              q.vendor_class_ccid = true;
          });

    // Readers that announce a PIN pad they do not have, and whose firmware chains long
    // responses the way extended-APDU readers do (libccid ccid_open_hack_post).
    auto no_pinpad_extended = [](Quirks& q) {
        q.descriptor.bPINSupport = 0;
        q.level = ExchangeLevelOverride::ExtendedApdu;
    };
    const char* const kFakePinpadChaining =
        "the chip advertises a PIN pad the reader does not have, and the firmware chains long responses like an "
        "extended-APDU reader";
    t.add(0x076B, 0x3A21, "HID OMNIKEY AVIATOR / Generic USB Smart Card Reader", kFakePinpadChaining,
          no_pinpad_extended);
    t.add(0x076B, 0x3031, "HID Global OMNIKEY 3x21 (3021/3121/1021)", kFakePinpadChaining, no_pinpad_extended);
    t.add(0x076B, 0x6632, "HID Global OMNIKEY 6121", kFakePinpadChaining, no_pinpad_extended);
    t.add(0x046A, 0x00A7, "Cherry SmartTerminal XX44 / ST-1144", kFakePinpadChaining, no_pinpad_extended);
    t.add(0x0BF8, 0x1024, "Fujitsu Smartcard Reader D323", kFakePinpadChaining, no_pinpad_extended);

    // PIN pads that must not be used.
    auto no_pinpad = [](Quirks& q) { q.descriptor.bPINSupport = 0; };
    const char* const kLeakingPinpad =
        "secure PIN entry also sends the typed PIN to the host, so it is not secure: PIN pad disabled";
    t.add(0x03F0, 0x1024, "HP USB Smart Card Keyboard", kLeakingPinpad, no_pinpad);
    t.bogus_below(0x03F0, 0x0036, 0x0124, "HP USB CCID Smartcard Keyboard", kLeakingPinpad, no_pinpad);
    t.add(0x0BF8, 0x1017, "Fujitsu SmartCase KB SCR eSIG (smart card keyboard)", kLeakingPinpad, no_pinpad);
    t.add(0x04F2, 0x1469, "Chicony HP Skylab USB Smartcard Keyboard", kLeakingPinpad, no_pinpad);
    t.add(0x0783, 0x0006, "C3PO LTC31 v2", "the PIN pad does not work: disabled", no_pinpad);
    t.add(0x25DD, 0x3111, 0x0111, 0x0111, "Bit4id miniLector EVO",
          "firmware 1.11 advertises a PIN pad the reader does not have", no_pinpad);

    // ---- Exchange level ----
    t.add(0x0D46, 0x3010, "KOBIL TriBank (EMV CAP - SecOVID Reader III)",
          "claims extended APDU but cannot chain (old firmware crashed): used as a short-APDU reader",
          [](Quirks& q) { q.level = ExchangeLevelOverride::ShortApdu; });
    t.add(0x2F7C, 0x6007, "Diebold Nixdorf PN7362AU",
          "declares short APDU but chains responses longer than 256 bytes: used as an extended-APDU reader",
          [](Quirks& q) { q.level = ExchangeLevelOverride::ExtendedApdu; });
    t.add(0x046A, 0x00A1, 0x0100, 0x0100, "Cherry KC 1000 SC",
          "firmware 1.00 returns at most 128 bytes of a T=1 case 2 response and chains the rest like an "
          "extended-APDU reader",
          [](Quirks& q) { q.level = ExchangeLevelOverride::ExtendedApdu; });
    t.add(0x076B, 0x3022, "OMNIKEY AG 3121 USB",
          "announces APDU level but exchanges TPDUs (libccid and acsccid treat it as TPDU)",
          [](Quirks& q) { q.level = ExchangeLevelOverride::Tpdu; });

    // ---- T=1 parameters ----
    t.add(0x0529, 0x0620, 0x0012, 0x0013, "SafeNet eToken 5100",
          "firmware 0.12 and 0.13 fail the T=1 IFSD request: behave as if the reader negotiated IFSD itself",
          [](Quirks& q) { q.skip_ifsd_exchange = true; });
    // GemPC readers break on a non-zero NAD (GnuPG disables it for the whole vendor 08E6;
    // the GemPC models are listed here).
    auto gempc_no_nad = [](Quirks& q) { q.no_nad = true; };
    const char* const kGemNad = "T=1 blocks with a NAD other than 0 fail (GnuPG disables non-null NAD for GemPC)";
    t.add(0x08E6, 0x3437, "Gemalto GemPC Twin", kGemNad, gempc_no_nad);
    t.add(0x08E6, 0x3438, "Gemalto GemPC Key (USB Shell Token V2)", kGemNad, gempc_no_nad);
    t.add(0x08E6, 0x3478, "Gemalto GemPC Pinpad", kGemNad, gempc_no_nad);
    t.add(0x08E6, 0x4433, "Gemalto GemPC433 SL", kGemNad, gempc_no_nad);
    t.add(0x08E6, 0x34EC, "Gemalto GemPC Express", kGemNad, gempc_no_nad);

    // ---- Data rate and PPS ----
    t.add(0x058F, 0x9540, "Alcor Micro AU9540 / AU9560",
          "data rates above 200000 bit/s fail although the reader lists them", [](Quirks& q) {
              q.max_data_rate = 200000;
          });
    auto oz776 = [](Quirks& q) {
        q.no_pps = true;
        q.max_data_rate = 9600;
    };
    const char* const kOz776 = "cannot do PPS and fails above 9600 bit/s: the card's default protocol is used";
    t.add(0x0B97, 0x7762, "O2Micro OZ776S", kOz776, oz776);
    t.add(0x0B97, 0x7772, "O2Micro OZ776 (7772)", kOz776, oz776);

    // ---- Slow to start ----
    t.add(0x0B81, 0x0200, "id3 Semiconductors CL1356D / CL1356T",
          "the firmware needs about a second to start (libccid waits 1 s and allows 60 s)",
          [](Quirks& q) { q.open_timeout_factor = 20; });
    auto wait10 = [](Quirks& q) { q.open_timeout_factor = 10; };
    const char* const kNoTagSlow = "GetSlotStatus takes up to 1 s when no tag is present";
    t.add(0x09D8, 0x0427, "Elatec TWN4 SmartCard NFC (CCID-CDC)", kNoTagSlow, wait10);
    t.add(0x09D8, 0x0428, "Elatec TWN4 (CCID)", kNoTagSlow, wait10);
    t.bogus_below(0x072F, 0x2200, 0x0206, "ACS ACR122U PICC", kNoTagSlow, wait10);
    auto wait4 = [](Quirks& q) { q.open_timeout_factor = 4; };
    const char* const kSlow350 = "the reader needs about 350 ms to answer";
    t.add(0x04E6, 0x5293, "SCM SCL011", kSlow350, wait4);
    t.add(0x04E6, 0x5790, "Identiv uTrust 3700 F", kSlow350, wait4);
    t.add(0x04E6, 0x5791, "Identiv uTrust 3701 F", kSlow350, wait4);
    t.add(0x04E6, 0x5724, "Identiv uTrust 4701 F", kSlow350, wait4);

    // ---- Power sequencing ----
    t.add(0x0D46, 0x301D, "KOBIL IDToken", "the card must be powered off before each power on",
          [](Quirks& q) { q.power_off_before_on = true; });
    t.add(0x0424, 0x1202, "Microchip SEC1210", "the slot must be powered off before each power on",
          [](Quirks& q) { q.power_off_before_on = true; });

    // ---- SCM Microsystems family ----
    // SPR532: vendor-class interface; bSeq out of step after SET_INTERFACE (ABORT at open)
    // and removal events missed on the interrupt pipe (poll); old firmware as above.
    auto spr532 = [](Quirks& q) {
        q.vendor_class_ccid = true;
        q.abort_on_open = true;
        q.poll_slot_status = true;
    };
    const char* const kSpr532 =
        "vendor-class interface (0xFF) with a CCID descriptor; bSeq gets out of step with the host (ABORT at open); "
        "card removal can be missed on the interrupt pipe (poll GetSlotStatus)";
    t.add(0x04E6, 0xE003, kAnyMin, 0x0503, "SCM SPR532",
          std::string("firmware known to be broken (libccid refuses it too); ") + kScmIfsdReason + "; " + kSpr532,
          [&](Quirks& q) {
              spr532(q);
              q.max_ifsd = kScmSafeIfsd;
              q.min_firmware = 0x0510;
          });
    t.add(0x04E6, 0xE003, 0x0504, 0x050F, "SCM SPR532",
          std::string("firmware known to be broken (libccid refuses it too); ") + kSpr532, [&](Quirks& q) {
              spr532(q);
              q.min_firmware = 0x0510;
          });
    t.add(0x04E6, 0xE003, 0x0510, kAnyMax, "SCM SPR532", kSpr532, spr532);

    t.add(0x04E6, 0xE001, kAnyMin, 0x0515, "SCM SCR331",
          std::string("firmware known to be broken (libccid refuses it too); ") + kScmIfsdReason, [](Quirks& q) {
              q.max_ifsd = kScmSafeIfsd;
              q.min_firmware = 0x0516;
          });
    // Old firmware is both capped and refused; newer firmware is only vendor class.
    t.add(0x04E6, 0x5111, kAnyMin, 0x061F, "SCM SCR331-DI",
          std::string("firmware known to be broken (libccid refuses it too); ") + kScmIfsdReason +
              "; vendor-class interface (0xFF) with a CCID descriptor; " + kScmMessageLengthReason,
          [](Quirks& q) {
              q.max_ifsd = kScmSafeIfsd;
              q.min_firmware = 0x0620;
              q.vendor_class_ccid = true;
              scm_message_length(q);
          });
    t.add(0x04E6, 0x5111, 0x0620, kAnyMax, "SCM SCR331-DI",
          std::string("vendor-class interface (0xFF) with a CCID descriptor; ") + kScmMessageLengthReason,
          [](Quirks& q) {
              q.vendor_class_ccid = true;
              scm_message_length(q);
          });
    t.add(0x04E6, 0x511C, "Axalto Reflex USB v3 (SCM)", kScmMessageLengthReason, scm_message_length);
    t.add(0x04E6, 0x511F, "SCM SCR3310 (511F)", kScmMessageLengthReason, scm_message_length);
    t.add(0x04E6, 0x5410, "SCM SCR35xx (5410)", kScmMessageLengthReason, scm_message_length);
    t.add(0x04E6, 0x5612, "Identiv uTrust 3720 Contactless Reader", kScmMessageLengthReason, scm_message_length);
    t.add(0x04E6, 0x5115, kAnyMin, 0x0513, "SCM SCR335", kScmIfsdReason,
          [](Quirks& q) { q.max_ifsd = kScmSafeIfsd; });
    t.add(0x04E6, 0x5117, kAnyMin, 0x0521, "SCM SCR3320", kScmIfsdReason,
          [](Quirks& q) { q.max_ifsd = kScmSafeIfsd; });
    // SCL010: the early firmware is both broken and vendor class; 1.12 uses class 0x0B.
    t.add(0x04E6, 0x5291, kAnyMin, 0x0111, "SCM SCL010 Contactless Reader",
          "firmware known to be broken (libccid refuses it too); vendor-class interface (0xFF) with a CCID "
          "descriptor",
          [](Quirks& q) {
              q.min_firmware = 0x0112;
              q.vendor_class_ccid = true;
          });

    // ---- Other firmware known to be broken (libccid's list) ----
    t.bogus_below(0x0D46, 0x3001, 0x0037, "KOBIL KAAN Base", "", nothing);
    t.bogus_below(0x0D46, 0x3002, 0x0037, "KOBIL KAAN Advanced", "", nothing);
    t.bogus_below(0x09C3, 0x0008, 0x0203, "ActivCard USB Reader V2", "", nothing);
    t.bogus_below(0x0DC3, 0x1004, 0x0502, "Athena ASE IIIe USB v2", "", nothing);
    t.bogus_below(0x0DC3, 0x1102, 0x0607, "Athena ASEDrive IIIe KB USB", "", nothing);
    t.bogus_below(0x058F, 0x9520, 0x0102, "Alcor Micro AU9520-G", "", nothing);
    t.bogus_below(0x08C3, 0x0402, 0x5000, "Precise Biometrics Precise 200 MC", "", nothing);
    t.bogus_below(0x08C3, 0x0401, 0x5000, "Precise Biometrics Precise 250 MC", "", nothing);
    t.bogus_below(0x0B0C, 0x0050, 0x0101, "Todos Argos Mini II", "", nothing);
    t.bogus_below(0x0DC3, 0x0900, 0x0200, "Athena IDProtect Key v2", "", nothing);
    t.bogus_below(0x062D, 0x0001, 0x0102, "THRC Smart Card Reader", "", nothing);

    // ---- Vendor-class (0xFF) interfaces that carry a CCID descriptor ----
    auto vendor_class = [](Quirks& q) { q.vendor_class_ccid = true; };
    const char* const kVendorClass = "vendor-class interface (0xFF) with a CCID descriptor";
    t.add(0x046A, 0x003E, "Cherry SmartTerminal ST-2xxx", kVendorClass, vendor_class);
    t.add(0x413C, 0x2100, "Dell keyboard SK-3106", kVendorClass, vendor_class);
    t.add(0x08E6, 0x2202, "Gemalto Gem e-Seal Pro USB Token", kVendorClass, vendor_class);
    t.add(0x08E6, 0x1359, "Verisign Secure Storage Token", kVendorClass, vendor_class);
    t.add(0x08E6, 0xACE0, "Verisign Secure Token", kVendorClass, vendor_class);
    t.add(0x1A74, 0x6354, "OCS ID-One Cosmo Card USB Smart Chip Device (ICCD)", kVendorClass, vendor_class);
    t.add(0x0973, 0x0003, "SchlumbergerSema Cyberflex Access e-gate (ICCD)", kVendorClass, vendor_class);
    t.add(0x04E6, 0x5120, "SCM SCR331-DI (NTT Communications)",
          std::string(kVendorClass) + "; " + kScmMessageLengthReason, [](Quirks& q) {
              q.vendor_class_ccid = true;
              scm_message_length(q);
          });
    t.add(0x04E6, 0x511A, "SCR3310-NTTCom", kVendorClass, vendor_class);
    t.add(0x04E6, 0x5121, "SCM SDI010", kVendorClass, vendor_class);
    t.add(0x04E6, 0x512B, "SCM SDI011 Contactless Reader", kVendorClass, vendor_class);
    t.add(0x04E6, 0x512C, "SCM SDI011 Contactless Reader (512C)", kVendorClass, vendor_class);

    return t.take();
}

}  // namespace

std::span<const QuirkRow> builtin_quirks() {
    static const std::vector<QuirkRow> table = build();
    return table;
}

}  // namespace ccidkit::ccid

#include "ccid/descriptor.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>
#include <string>

#include "ccid/descriptor_checks.h"
#include "ccid/descriptor_meaning.h"
#include "ccid/descriptor_report.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

// A two-slot short-APDU reader with a PIN pad and an LCD, written byte by byte from CCID 1.1
// table 5.1-1 (not produced by our encoder).
Bytes sample_bytes() {
    return *from_hex(
        "36 21 10 01"      // bLength, bDescriptorType, bcdCCID 1.10
        "01 07"            // bMaxSlotIndex 1, bVoltageSupport 5/3/1.8 V
        "03 00 00 00"      // dwProtocols T=0 T=1
        "FB 0D 00 00"      // dwDefaultClock 3579 kHz
        "40 1F 00 00"      // dwMaximumClock 8000 kHz
        "02"               // bNumClockSupported
        "80 25 00 00"      // dwDataRate 9600
        "16 40 05 00"      // dwMaxDataRate 344086
        "05"               // bNumDataRatesSupported
        "FE 00 00 00"      // dwMaxIFSD 254
        "07 00 00 00"      // dwSynchProtocols 2-wire, 3-wire, I2C
        "09 00 00 00"      // dwMechanical accept + lock
        "BE 06 12 00"      // dwFeatures
        "0F 01 00 00"      // dwMaxCCIDMessageLength 271
        "FF 00"            // bClassGetResponse echo, bClassEnvelope 0
        "10 02"            // wLcdLayout 2 lines x 16
        "03 02");          // bPINSupport verify+modify, bMaxCCIDBusySlots 2
}

CcidDescriptor plausible() {
    CcidDescriptor d;  // the defaults describe an ordinary single-slot TPDU reader
    return d;
}

}  // namespace

TEST(CcidDescriptor, DecodesEveryField) {
    const auto d = decode_ccid_descriptor(sample_bytes());
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->bLength, 54);
    EXPECT_EQ(d->bDescriptorType, 0x21);
    EXPECT_EQ(d->bcdCCID, 0x0110);
    EXPECT_EQ(d->bMaxSlotIndex, 1);
    EXPECT_EQ(d->bVoltageSupport, 0x07);
    EXPECT_EQ(d->dwProtocols, 3u);
    EXPECT_EQ(d->dwDefaultClock, 3579u);
    EXPECT_EQ(d->dwMaximumClock, 8000u);
    EXPECT_EQ(d->bNumClockSupported, 2);
    EXPECT_EQ(d->dwDataRate, 9600u);
    EXPECT_EQ(d->dwMaxDataRate, 344086u);
    EXPECT_EQ(d->bNumDataRatesSupported, 5);
    EXPECT_EQ(d->dwMaxIFSD, 254u);
    EXPECT_EQ(d->dwSynchProtocols, 7u);
    EXPECT_EQ(d->dwMechanical, 9u);
    EXPECT_EQ(d->dwFeatures, 0x001206BEu);
    EXPECT_EQ(d->dwMaxCCIDMessageLength, 271u);
    EXPECT_EQ(d->bClassGetResponse, 0xFF);
    EXPECT_EQ(d->bClassEnvelope, 0x00);
    EXPECT_EQ(d->wLcdLayout, 0x0210);
    EXPECT_EQ(d->bPINSupport, 0x03);
    EXPECT_EQ(d->bMaxCCIDBusySlots, 2);
    EXPECT_TRUE(d->trailing.empty());
    EXPECT_EQ(encode_ccid_descriptor(*d), sample_bytes());
}

TEST(CcidDescriptor, DistinctErrors) {
    const Bytes good = sample_bytes();
    EXPECT_EQ(decode_ccid_descriptor({}).error(), DescriptorError::Truncated);
    EXPECT_EQ(decode_ccid_descriptor(ByteView(good).first(1)).error(), DescriptorError::Truncated);
    EXPECT_EQ(decode_ccid_descriptor(ByteView(good).first(53)).error(), DescriptorError::Truncated);

    Bytes short_one = good;
    short_one[0] = 53;  // claims to be shorter than the standard descriptor
    EXPECT_EQ(decode_ccid_descriptor(short_one).error(), DescriptorError::TooShort);
    EXPECT_EQ(decode_ccid_descriptor(*from_hex("09 21")).error(), DescriptorError::TooShort);

    Bytes wrong_type = good;
    wrong_type[1] = 0x24;
    EXPECT_EQ(decode_ccid_descriptor(wrong_type).error(), DescriptorError::WrongType);

    std::set<std::string_view> texts;
    for (auto e : {DescriptorError::Truncated, DescriptorError::TooShort, DescriptorError::WrongType})
        texts.insert(to_string(e));
    EXPECT_EQ(texts.size(), 3u);
}

TEST(CcidDescriptor, VendorTypeAndLongerDescriptors) {
    Bytes vendor = sample_bytes();
    vendor[1] = 0xFF;
    const auto v = parse_ccid_descriptor(vendor);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->fields.bDescriptorType, 0xFF);
    ASSERT_EQ(v->warnings.size(), 1u);
    EXPECT_EQ(v->warnings[0].field, "bDescriptorType");

    Bytes longer = sample_bytes();
    longer[0] = 58;
    longer.insert(longer.end(), {0xA1, 0xA2, 0xA3, 0xA4, 0xEE /* beyond bLength: ignored */});
    const auto l = parse_ccid_descriptor(longer);
    ASSERT_TRUE(l.has_value());
    EXPECT_EQ(l->fields.trailing, (Bytes{0xA1, 0xA2, 0xA3, 0xA4}));
    ASSERT_EQ(l->warnings.size(), 1u);
    EXPECT_EQ(l->warnings[0].field, "bLength");
    EXPECT_EQ(encode_ccid_descriptor(l->fields), Bytes(longer.begin(), longer.begin() + 58));

    longer[0] = 70;  // more than there is
    EXPECT_EQ(decode_ccid_descriptor(longer).error(), DescriptorError::Truncated);
}

TEST(CcidDescriptor, EncoderRecomputesLength) {
    CcidDescriptor d = plausible();
    d.bLength = 3;
    d.trailing = {1, 2};
    const Bytes b = encode_ccid_descriptor(d);
    ASSERT_EQ(b.size(), 56u);
    EXPECT_EQ(b[0], 56);
    EXPECT_EQ(b[54], 1);
    d.trailing.assign(400, 0x55);
    EXPECT_EQ(encode_ccid_descriptor(d).size(), 255u);
}

TEST(CcidDescriptor, RandomBytesNeverCrashAndRoundTrip) {
    std::mt19937 rng(1234);
    std::size_t decoded = 0;
    for (int n = 0; n < 20000; ++n) {
        Bytes raw(rng() % 300);
        for (auto& b : raw) b = static_cast<std::uint8_t>(rng());
        if (raw.size() >= 2 && n % 2 == 0) {
            raw[0] = static_cast<std::uint8_t>(54 + rng() % 8);
            raw[1] = n % 4 == 0 ? 0x21 : 0xFF;
        }
        const auto parsed = parse_ccid_descriptor(raw);
        if (!parsed) continue;
        ++decoded;
        EXPECT_EQ(encode_ccid_descriptor(parsed->fields), Bytes(raw.begin(), raw.begin() + raw[0]));
        EXPECT_FALSE(describe_parsed_descriptor(*parsed).empty());
    }
    EXPECT_GT(decoded, 1000u);
}

TEST(DescriptorMeaning, ExchangeLevels) {
    EXPECT_EQ(exchange_level(0x00000000), ExchangeLevel::Character);
    EXPECT_EQ(exchange_level(0x000100FE), ExchangeLevel::Tpdu);
    EXPECT_EQ(exchange_level(0x00020000), ExchangeLevel::ShortApdu);
    EXPECT_EQ(exchange_level(0x00040000), ExchangeLevel::ExtendedApdu);
    for (std::uint32_t bad : {3u, 5u, 6u, 7u}) EXPECT_EQ(exchange_level(bad << 16), ExchangeLevel::Contradictory) << bad;
    // Bits outside 16-18 do not change the level.
    EXPECT_EQ(exchange_level(0x00140000), ExchangeLevel::ExtendedApdu);
}

TEST(DescriptorMeaning, EachFeatureBitAlone) {
    std::set<std::string_view> names;
    for (const Feature f : kAllFeatures) {
        CcidDescriptor d;
        d.dwFeatures = static_cast<std::uint32_t>(f);
        const DescriptorMeaning m = interpret(d);
        for (const Feature other : kAllFeatures) EXPECT_EQ(m.has(other), other == f) << to_string(f);
        EXPECT_EQ(m.reserved_feature_bits, 0u);
        names.insert(to_string(f));
    }
    EXPECT_EQ(names.size(), kAllFeatures.size());
    CcidDescriptor d;
    d.dwFeatures = 0x80000001;  // bit 0 and bit 31 are not defined
    EXPECT_EQ(interpret(d).reserved_feature_bits, 0x80000001u);
    EXPECT_EQ(interpret(d).feature_bits, 0u);
}

TEST(DescriptorMeaning, OtherFields) {
    const DescriptorMeaning m = interpret(*decode_ccid_descriptor(sample_bytes()));
    EXPECT_EQ(m.slot_count, 2u);
    EXPECT_TRUE(m.voltage_5v && m.voltage_3v && m.voltage_1v8);
    EXPECT_TRUE(m.t0 && m.t1);
    EXPECT_TRUE(m.synch_2wire && m.synch_3wire && m.synch_i2c);
    EXPECT_TRUE(m.mech_accept && m.mech_lock);
    EXPECT_FALSE(m.mech_eject || m.mech_capture);
    EXPECT_EQ(m.level, ExchangeLevel::ShortApdu);
    EXPECT_TRUE(m.has(Feature::UsbWakeUp));
    EXPECT_TRUE(m.has(Feature::AutoConfigFromAtr));
    EXPECT_FALSE(m.has(Feature::AutoParameterNegotiation));
    EXPECT_TRUE(m.get_response_echoes_class);
    EXPECT_FALSE(m.envelope_echoes_class);
    EXPECT_EQ(m.lcd_lines, 2u);
    EXPECT_EQ(m.lcd_columns, 16u);
    EXPECT_TRUE(m.pin_verify && m.pin_modify);

    CcidDescriptor odd;
    odd.bVoltageSupport = 0xF1;
    odd.dwProtocols = 0x00020300;
    odd.bPINSupport = 0x84;
    const DescriptorMeaning o = interpret(odd);
    EXPECT_TRUE(o.voltage_5v);
    EXPECT_EQ(o.reserved_voltage_bits, 0xF0);
    EXPECT_FALSE(o.t0 || o.t1);
    EXPECT_EQ(o.reserved_protocol_bits, 0x00020300u);
    EXPECT_EQ(o.reserved_pin_bits, 0x84);
    EXPECT_EQ(format_bcd_version(0x1001), "10.01");
}

TEST(DescriptorMeaning, TextRendering) {
    const auto lines = describe_descriptor(*decode_ccid_descriptor(sample_bytes()));
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    for (const char* expected :
         {"bcdCCID: 1.10\n", "bMaxSlotIndex: 1 (2 slots)\n", "  1.8 V (class C)\n", "dwProtocols: 0x00000003\n  T=0\n  T=1\n",
          "dwDefaultClock: 3579 kHz (3.579 MHz)\n", "dwMaximumClock: 8000 kHz (8.000 MHz)\n", "dwMaxIFSD: 254\n",
          "  I2C protocol\n", "  card lock/unlock mechanism\n", "  0x00020000 short APDU level exchange\n",
          "  0x00100000 USB remote wake-up", "bClassGetResponse: 0xFF (echoes", "wLcdLayout: 0x0210 (2 lines of 16 characters)\n",
          "  PIN modification\n", "bMaxCCIDBusySlots: 2\n"})
        EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << text;
}

TEST(DescriptorChecks, PlausibleDescriptorHasNoWarnings) {
    EXPECT_TRUE(check_descriptor(plausible()).empty());
    EXPECT_TRUE(check_descriptor(*decode_ccid_descriptor(sample_bytes())).empty());
}

TEST(DescriptorChecks, EachImplausibleValueIsNamed) {
    struct Case {
        const char* field;
        std::function<void(CcidDescriptor&)> spoil;
    };
    const std::vector<Case> cases = {
        {"bcdCCID", [](CcidDescriptor& d) { d.bcdCCID = 0x1001; }},
        {"bcdCCID", [](CcidDescriptor& d) { d.bcdCCID = 0x0200; }},
        {"bMaxSlotIndex", [](CcidDescriptor& d) { d.bMaxSlotIndex = 200; }},
        {"bVoltageSupport", [](CcidDescriptor& d) { d.bVoltageSupport = 0; }},
        {"bVoltageSupport", [](CcidDescriptor& d) { d.bVoltageSupport = 0x17; }},
        {"dwProtocols", [](CcidDescriptor& d) { d.dwProtocols = 0x0300; }},
        {"dwProtocols", [](CcidDescriptor& d) { d.dwProtocols = 0x00020003; }},
        {"dwDefaultClock", [](CcidDescriptor& d) { d.dwDefaultClock = 0; }},
        {"dwDefaultClock", [](CcidDescriptor& d) { d.dwDefaultClock = 250; d.dwMaximumClock = 1000; }},
        {"dwMaximumClock", [](CcidDescriptor& d) { d.dwMaximumClock = 1024000; }},
        {"dwMaximumClock", [](CcidDescriptor& d) { d.dwDefaultClock = 5000; d.dwMaximumClock = 4000; }},
        {"dwDataRate", [](CcidDescriptor& d) { d.dwDataRate = 0; }},
        {"dwMaxDataRate", [](CcidDescriptor& d) { d.dwMaxDataRate = 0x80000000; }},  // negative as %d
        {"dwMaxDataRate", [](CcidDescriptor& d) { d.dwMaxDataRate = 9600; }},
        {"dwMaxDataRate", [](CcidDescriptor& d) { d.dwMaxDataRate = 12643980; }},
        {"dwMaxIFSD", [](CcidDescriptor& d) { d.dwMaxIFSD = 0; }},
        {"dwMaxIFSD", [](CcidDescriptor& d) { d.dwMaxIFSD = 255; }},
        {"dwSynchProtocols", [](CcidDescriptor& d) { d.dwSynchProtocols = 0x10; }},
        {"dwMechanical", [](CcidDescriptor& d) { d.dwMechanical = 0x03000000; }},
        {"dwFeatures", [](CcidDescriptor& d) { d.dwFeatures = 0x000300BA; }},            // TPDU + short APDU
        {"dwFeatures", [](CcidDescriptor& d) { d.dwFeatures = 0x000100FA; }},            // 0x40 and 0x80
        {"dwFeatures", [](CcidDescriptor& d) { d.dwFeatures = 0x00020080; }},            // APDU without 0x02
        {"dwFeatures", [](CcidDescriptor& d) { d.dwFeatures = 0x00040002; }},            // APDU without PPS/negotiation
        {"dwFeatures", [](CcidDescriptor& d) { d.dwFeatures |= 0x00001000; }},
        {"dwMaxCCIDMessageLength", [](CcidDescriptor& d) { d.dwMaxCCIDMessageLength = 63; }},
        {"dwMaxCCIDMessageLength", [](CcidDescriptor& d) { d.dwMaxCCIDMessageLength = 262; }},
        {"dwMaxCCIDMessageLength", [](CcidDescriptor& d) { d.dwMaxCCIDMessageLength = 524288; }},
        {"wLcdLayout", [](CcidDescriptor& d) { d.wLcdLayout = 0x0010; }},
        {"bPINSupport", [](CcidDescriptor& d) { d.bPINSupport = 0x04; }},
        {"bMaxCCIDBusySlots", [](CcidDescriptor& d) { d.bMaxCCIDBusySlots = 0; }},
        {"bMaxCCIDBusySlots", [](CcidDescriptor& d) { d.bMaxCCIDBusySlots = 5; }},
    };
    for (const Case& c : cases) {
        CcidDescriptor d = plausible();
        c.spoil(d);
        const auto warnings = check_descriptor(d);
        ASSERT_FALSE(warnings.empty()) << c.field;
        for (const auto& w : warnings) {
            EXPECT_EQ(w.field, c.field) << w.reason;
            EXPECT_FALSE(w.reason.empty());
        }
    }
}

TEST(DescriptorChecks, IfsdIrrelevantWithoutT1) {
    CcidDescriptor d = plausible();
    d.dwProtocols = 0x01;  // T=0 only: IFSD 0 is normal there
    d.dwMaxIFSD = 0;
    EXPECT_TRUE(check_descriptor(d).empty());
}

TEST(DescriptorChecks, CharacterLevelAcceptsSmallMessages) {
    CcidDescriptor d = plausible();
    d.dwFeatures = 0x000000BA;  // character level
    d.dwMaxCCIDMessageLength = 64;
    EXPECT_TRUE(check_descriptor(d).empty());
    EXPECT_EQ(effective_limits(d).max_message_length, 64u);
}

TEST(EffectiveLimits, PlausibleValuesPassThrough) {
    const EffectiveLimits e = effective_limits(*decode_ccid_descriptor(sample_bytes()));
    EXPECT_EQ(e.slot_count, 2u);
    EXPECT_EQ(e.max_busy_slots, 2u);
    EXPECT_TRUE(e.t0 && e.t1);
    EXPECT_EQ(e.voltages, 0x07);
    EXPECT_EQ(e.default_clock_khz, 3579u);
    EXPECT_EQ(e.max_clock_khz, 8000u);
    EXPECT_EQ(e.default_data_rate, 9600u);
    EXPECT_EQ(e.max_data_rate, 344086u);
    EXPECT_EQ(e.level, ExchangeLevel::ShortApdu);
    EXPECT_EQ(e.max_message_length, 271u);
    EXPECT_EQ(e.max_send_length, 271u);
    EXPECT_EQ(e.ifsd, 254u);  // 271 - 10 - 5 = 256 leaves room for 254
}

TEST(EffectiveLimits, ImplausibleValuesReplaced) {
    auto with = [](std::function<void(CcidDescriptor&)> change) {
        CcidDescriptor d = plausible();
        change(d);
        return effective_limits(d);
    };
    EXPECT_EQ(with([](auto& d) { d.dwMaxIFSD = 0; }).ifsd, 254u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxIFSD = 4096; }).ifsd, 254u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxIFSD = 32; }).ifsd, 32u);
    // A whole T=1 block must fit in what the reader says it can take: 64 - 10 - 5.
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 64; }).ifsd, 49u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 262; }).ifsd, 247u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 0; }).ifsd, 1u);
    // ... while the message length is floored for the level and capped at 65544 + 10.
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 64; }).max_message_length, 271u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 524288; }).max_message_length, 65554u);
    EXPECT_EQ(with([](auto& d) { d.dwFeatures = 0; d.dwMaxCCIDMessageLength = 20; }).max_message_length, 64u);
    // What the host sends keeps to the reported length itself, floored at one bulk packet only.
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 64; }).max_send_length, 64u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 263; }).max_send_length, 263u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 263; }).max_message_length, 271u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 20; }).max_send_length, 64u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 0; }).max_send_length, 64u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 524288; }).max_send_length, 65554u);
    EXPECT_EQ(with([](auto& d) { d.dwMaxCCIDMessageLength = 1000; }).max_send_length, 1000u);

    const auto clocks = with([](auto& d) { d.dwDefaultClock = 0; d.dwMaximumClock = 1024000; d.dwDataRate = 0; d.dwMaxDataRate = 0; });
    EXPECT_EQ(clocks.default_clock_khz, kFallbackClockKhz);
    EXPECT_EQ(clocks.max_clock_khz, kFallbackClockKhz);
    EXPECT_EQ(clocks.default_data_rate, 10752u);  // 4 MHz / 372
    EXPECT_EQ(clocks.max_data_rate, 10752u);
    const auto inverted = with([](auto& d) { d.dwDefaultClock = 5000; d.dwMaximumClock = 4000; d.dwDataRate = 20000; d.dwMaxDataRate = 9600; });
    EXPECT_EQ(inverted.max_clock_khz, 5000u);
    EXPECT_EQ(inverted.max_data_rate, 20000u);
    EXPECT_EQ(with([](auto& d) { d.dwDataRate = 0xF0000000; }).default_data_rate, 10752u);

    EXPECT_EQ(with([](auto& d) { d.bMaxSlotIndex = 255; }).slot_count, kMaxUsableSlots);
    EXPECT_EQ(with([](auto& d) { d.bMaxCCIDBusySlots = 0; }).max_busy_slots, 1u);
    EXPECT_EQ(with([](auto& d) { d.bMaxCCIDBusySlots = 8; }).max_busy_slots, 1u);
    const auto no_protocol = with([](auto& d) { d.dwProtocols = 0x0300; });
    EXPECT_TRUE(no_protocol.t0 && no_protocol.t1);
    const auto t0_only = with([](auto& d) { d.dwProtocols = 1; });
    EXPECT_TRUE(t0_only.t0 && !t0_only.t1);
    EXPECT_EQ(with([](auto& d) { d.bVoltageSupport = 0; }).voltages, 0x07);
    EXPECT_EQ(with([](auto& d) { d.bVoltageSupport = 0x12; }).voltages, 0x02);
    EXPECT_EQ(with([](auto& d) { d.dwFeatures = 0x00030000; }).level, ExchangeLevel::Tpdu);
    EXPECT_EQ(with([](auto& d) { d.dwFeatures = 0x00060000; }).level, ExchangeLevel::ShortApdu);
}

TEST(DescriptorReport, ParseBundlesWarningsAndEffectiveValues) {
    Bytes raw = encode_ccid_descriptor(plausible());
    store_le32(raw.data() + ccid_offset::dwMaxIFSD, 1024);
    const auto parsed = parse_ccid_descriptor(raw);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->fields.dwMaxIFSD, 1024u);
    ASSERT_EQ(parsed->warnings.size(), 1u);
    EXPECT_EQ(parsed->warnings[0].field, "dwMaxIFSD");
    EXPECT_EQ(parsed->warnings[0].value, 1024u);
    EXPECT_EQ(parsed->effective.ifsd, 254u);
    std::string text;
    for (const auto& l : describe_parsed_descriptor(*parsed)) text += l + "\n";
    EXPECT_NE(text.find("warning: dwMaxIFSD = 0x400 (1024): above 254"), std::string::npos) << text;
    EXPECT_NE(text.find("  IFSD 254\n"), std::string::npos) << text;
    EXPECT_EQ(parse_ccid_descriptor(ByteView(raw).first(10)).error(), DescriptorError::Truncated);
}

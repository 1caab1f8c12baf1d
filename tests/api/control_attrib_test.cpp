// SCardControl (PC/SC part 10 features, escape, PIN pad pass-through) and
// SCardGetAttrib / SCardSetAttrib.
#include <map>
#include <string>

#include "api/api_fixture.h"
#include "api/part10.h"

namespace ccidkit::api::testing {
namespace {

std::uint32_t be32(const BYTE* p) { return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

// Decodes tag/length/value records (little-endian values) of FEATURE_GET_TLV_PROPERTIES.
std::map<int, std::uint32_t> tlv_values(const Bytes& b, std::map<int, std::string>* strings = nullptr) {
    std::map<int, std::uint32_t> out;
    for (std::size_t i = 0; i + 2 <= b.size();) {
        const int tag = b[i];
        const std::size_t len = b[i + 1];
        if (i + 2 + len > b.size()) break;
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < len && k < 4; ++k) v |= static_cast<std::uint32_t>(b[i + 2 + k]) << (8 * k);
        out[tag] = v;
        if (strings) (*strings)[tag] = std::string(b.begin() + static_cast<long>(i) + 2, b.begin() + static_cast<long>(i + 2 + len));
        i += 2 + len;
    }
    return out;
}

TEST(Part10, FeatureListFollowsTheReader) {
    ReaderDescription d = FakeReader::describe("m", "s");
    auto f = part10::features(d);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].tag, FEATURE_GET_TLV_PROPERTIES);
    EXPECT_EQ(f[0].control_code, 0x42330012u);
    d.pin_pad.verify = true;
    d.pin_pad.modify = true;
    d.escape_allowed = true;
    f = part10::features(d);
    ASSERT_EQ(f.size(), 5u);
    EXPECT_EQ(f[0].tag, FEATURE_VERIFY_PIN_DIRECT);
    EXPECT_EQ(f[0].control_code, SCARD_CTL_CODE(0x330000 + 6));  // libccid's numbering
    EXPECT_EQ(f[1].tag, FEATURE_MODIFY_PIN_DIRECT);
    EXPECT_EQ(f[2].tag, FEATURE_IFD_PIN_PROPERTIES);
    EXPECT_EQ(f[3].tag, FEATURE_GET_TLV_PROPERTIES);
    EXPECT_EQ(f[4].tag, FEATURE_CCID_ESC_COMMAND);
    EXPECT_EQ(f[4].control_code, SCARD_CTL_CODE(1));
    EXPECT_EQ(part10::feature_of(d, SCARD_CTL_CODE(1)), std::optional<std::uint8_t>(FEATURE_CCID_ESC_COMMAND));
    EXPECT_EQ(part10::feature_of(d, SCARD_CTL_CODE(2)), std::nullopt);
}

TEST(Part10, TlvPropertiesContent) {
    ReaderDescription d = FakeReader::describe("m", "s");
    d.pin_pad.verify = true;
    d.pin_pad.lcd_layout = 0x0210;  // 2 lines of 16 characters
    d.pin_pad.min_pin_size = 4;
    d.pin_pad.max_pin_size = 12;
    d.firmware_id = "FW 1.2";
    std::map<int, std::string> strings;
    const auto v = tlv_values(part10::tlv_properties_answer(d), &strings);
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_wLcdLayout), 0x0210u);
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_wLcdMaxCharacters), 0x10u);
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_wLcdMaxLines), 0x02u);
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_bMinPINSize), 4u);
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_bMaxPINSize), 12u);
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_bEntryValidationCondition), 2u);
    EXPECT_EQ(strings.at(PCSCv2_PART10_PROPERTY_sFirmwareID), "FW 1.2");
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_bPPDUSupport), 0u);
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_wIdVendor), 0x1234u);
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_wIdProduct), 0x5678u);
    EXPECT_EQ(v.at(PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize), 0x10000u);
    EXPECT_EQ(part10::pin_properties_answer(d), (Bytes{0x10, 0x02, 0x02, 0x00}));
}

class Control : public ApiTest {
protected:
    void SetUp() override {
        ApiTest::SetUp();
        ReaderDescription d = FakeReader::describe("PinPad", "P1");
        d.pin_pad.verify = true;
        d.pin_pad.modify = true;
        d.escape_allowed = true;
        reader = provider->add(d);
        reader->insert(kAtrT1);
        name = single_reader_name();
        ctx = establish();
        ASSERT_EQ(connect(ctx, name, h), SCARD_S_SUCCESS);
    }
    void TearDown() override {
        SCardReleaseContext(ctx);
        ApiTest::TearDown();
    }
    LONG control(DWORD code, const Bytes& in, Bytes& out, DWORD room = 1024) {
        out.assign(room, 0);
        DWORD len = 0;
        const LONG rc = SCardControl(h, code, in.empty() ? nullptr : in.data(), static_cast<DWORD>(in.size()),
                                     out.data(), room, &len);
        out.resize(rc == SCARD_S_SUCCESS ? len : 0);
        return rc;
    }
    std::shared_ptr<FakeReader> reader;
    std::string name;
    SCARDCONTEXT ctx = 0;
    SCARDHANDLE h = 0;
};

TEST_F(Control, GetFeatureRequestListsControlCodes) {
    Bytes out;
    ASSERT_EQ(control(CM_IOCTL_GET_FEATURE_REQUEST, {}, out), SCARD_S_SUCCESS);
    ASSERT_EQ(out.size(), 5 * sizeof(PCSC_TLV_STRUCTURE));
    std::map<int, std::uint32_t> codes;
    for (std::size_t i = 0; i < out.size(); i += 6) {
        EXPECT_EQ(out[i + 1], 4);
        codes[out[i]] = be32(&out[i + 2]);
    }
    EXPECT_EQ(codes.at(FEATURE_VERIFY_PIN_DIRECT), SCARD_CTL_CODE(0x330006));
    EXPECT_EQ(codes.at(FEATURE_CCID_ESC_COMMAND), SCARD_CTL_CODE(1));
    Bytes windows;
    ASSERT_EQ(control(0x313520, {}, windows), SCARD_S_SUCCESS);  // RDP clients
    EXPECT_EQ(windows, out);

    // Each advertised code works.
    Bytes props;
    ASSERT_EQ(control(codes.at(FEATURE_IFD_PIN_PROPERTIES), {}, props), SCARD_S_SUCCESS);
    EXPECT_EQ(props.size(), sizeof(PIN_PROPERTIES_STRUCTURE));
    Bytes tlv;
    ASSERT_EQ(control(codes.at(FEATURE_GET_TLV_PROPERTIES), {}, tlv), SCARD_S_SUCCESS);
    EXPECT_EQ(tlv_values(tlv).at(PCSCv2_PART10_PROPERTY_bPPDUSupport), 1u);
    Bytes esc;
    ASSERT_EQ(control(codes.at(FEATURE_CCID_ESC_COMMAND), {0x01, 0x02}, esc), SCARD_S_SUCCESS);
    EXPECT_EQ(esc, (Bytes{'E', 'S', 'C', 0x01, 0x02}));
}

TEST_F(Control, PinVerifyAndModifyArePassedThrough) {
    Bytes verify(sizeof(PIN_VERIFY_STRUCTURE) + 5, 0);
    verify[sizeof(PIN_VERIFY_STRUCTURE) - 4] = 5;  // ulDataLength
    Bytes out;
    ASSERT_EQ(control(SCARD_CTL_CODE(0x330000 + FEATURE_VERIFY_PIN_DIRECT), verify, out), SCARD_S_SUCCESS);
    EXPECT_EQ(out, (Bytes{0x90, 0x00}));
    EXPECT_EQ(reader->last_pin_structure(), verify);
    EXPECT_EQ(logged_in(h), 1);
    Bytes modify(sizeof(PIN_MODIFY_STRUCTURE), 0);
    ASSERT_EQ(control(SCARD_CTL_CODE(0x330000 + FEATURE_MODIFY_PIN_DIRECT), modify, out), SCARD_S_SUCCESS);
    EXPECT_EQ(reader->last_pin_structure(), modify);
    EXPECT_EQ(control(SCARD_CTL_CODE(0x330000 + FEATURE_VERIFY_PIN_DIRECT), {0x00}, out), SCARD_E_INVALID_PARAMETER);
}

TEST_F(Control, OtherCodesGoToTheBackend) {
    Bytes out;
    ASSERT_EQ(control(FakeReader::kReverseControl, {1, 2, 3}, out), SCARD_S_SUCCESS);
    EXPECT_EQ(out, (Bytes{3, 2, 1}));
    EXPECT_EQ(control(SCARD_CTL_CODE(0x777), {}, out), SCARD_E_UNSUPPORTED_FEATURE);
}

TEST_F(Control, BuffersAndArguments) {
    Bytes out;
    EXPECT_EQ(control(CM_IOCTL_GET_FEATURE_REQUEST, {}, out, 11), SCARD_E_INSUFFICIENT_BUFFER);
    DWORD len = 0;
    BYTE small[4];
    EXPECT_EQ(SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, small, sizeof(small), &len),
              SCARD_E_INSUFFICIENT_BUFFER);
    EXPECT_EQ(len, 30u);  // the size needed
    EXPECT_EQ(SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, small, sizeof(small), nullptr),
              SCARD_E_INSUFFICIENT_BUFFER);
    EXPECT_EQ(SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 3, small, sizeof(small), &len),
              SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, nullptr, 8, &len), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardControl(h + 1, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, small, sizeof(small), &len),
              SCARD_E_INVALID_HANDLE);
    EXPECT_EQ(SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, small, MAX_BUFFER_SIZE_EXTENDED + 1, small, 4, &len),
              SCARD_E_INSUFFICIENT_BUFFER);
}

TEST_F(Control, WorksOnADirectConnectionWithoutCard) {
    SCardDisconnect(h, SCARD_LEAVE_CARD);
    reader->remove();
    DWORD p = 0;
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_DIRECT, 0, &h, &p), SCARD_S_SUCCESS);
    Bytes out;
    EXPECT_EQ(control(CM_IOCTL_GET_FEATURE_REQUEST, {}, out), SCARD_S_SUCCESS);
    EXPECT_EQ(control(SCARD_CTL_CODE(1), {0x05}, out), SCARD_S_SUCCESS);
}

TEST_F(Control, EscapeRefusedUnlessAllowed) {
    add_reader("Plain", "Q1");
    SCARDHANDLE d = 0;
    DWORD p = 0;
    ASSERT_EQ(SCardConnect(ctx, "Fake Plain (Q1) 01 00", SCARD_SHARE_DIRECT, 0, &d, &p), SCARD_S_SUCCESS);
    Bytes out(64);
    DWORD len = 0;
    const BYTE cmd = 0x05;
    // As pcsc-lite + libccid: the refused escape is SCARD_E_NOT_TRANSACTED, an unknown code
    // (here a PIN feature the reader lacks) SCARD_E_UNSUPPORTED_FEATURE.
    len = 99;
    EXPECT_EQ(SCardControl(d, SCARD_CTL_CODE(1), &cmd, 1, out.data(), 64, &len), SCARD_E_NOT_TRANSACTED);
    EXPECT_EQ(len, 0u);
    EXPECT_EQ(SCardControl(d, SCARD_CTL_CODE(0x330000 + FEATURE_VERIFY_PIN_DIRECT), &cmd, 1, out.data(), 64, &len),
              SCARD_E_UNSUPPORTED_FEATURE);
    ASSERT_EQ(SCardControl(d, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, out.data(), 64, &len), SCARD_S_SUCCESS);
    EXPECT_EQ(len, 6u);  // GET_TLV_PROPERTIES only
}

using Attrib = Control;

LONG get_attrib(SCARDHANDLE h, DWORD id, Bytes& v) {
    DWORD len = 0;
    LONG rc = SCardGetAttrib(h, id, nullptr, &len);
    if (rc != SCARD_S_SUCCESS) return rc;
    v.assign(len, 0);
    rc = SCardGetAttrib(h, id, v.data(), &len);
    v.resize(len);
    return rc;
}

std::uint32_t le32(const Bytes& v) { return v.size() == 4 ? load_le32(v.data()) : 0xFFFFFFFF; }

TEST_F(Attrib, CoreAttributes) {
    Bytes v;
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_ATR_STRING, v), SCARD_S_SUCCESS);
    EXPECT_EQ(v, kAtrT1);
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_VENDOR_NAME, v), SCARD_S_SUCCESS);
    EXPECT_EQ(std::string(v.begin(), v.end()), std::string("Fake", 5));
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_VENDOR_IFD_TYPE, v), SCARD_S_SUCCESS);
    EXPECT_EQ(std::string(v.begin(), v.end()), std::string("PinPad", 7));
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_VENDOR_IFD_SERIAL_NO, v), SCARD_S_SUCCESS);
    EXPECT_EQ(std::string(v.begin(), v.end()), std::string("P1", 3));
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_VENDOR_IFD_VERSION, v), SCARD_S_SUCCESS);
    EXPECT_EQ(le32(v), 0x01020000u);
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_CHANNEL_ID, v), SCARD_S_SUCCESS);
    EXPECT_EQ(le32(v), 0x00200305u);
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_MAXINPUT, v), SCARD_S_SUCCESS);
    EXPECT_EQ(le32(v), 261u);
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_CURRENT_PROTOCOL_TYPE, v), SCARD_S_SUCCESS);
    EXPECT_EQ(le32(v), static_cast<std::uint32_t>(SCARD_PROTOCOL_T1));
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_ICC_PRESENCE, v), SCARD_S_SUCCESS);
    EXPECT_EQ(v, Bytes{2});
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_ICC_INTERFACE_STATUS, v), SCARD_S_SUCCESS);
    EXPECT_EQ(v, Bytes{1});
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_DEVICE_FRIENDLY_NAME, v), SCARD_S_SUCCESS);
    EXPECT_EQ(std::string(v.begin(), v.end()), name + '\0');
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_DEVICE_SYSTEM_NAME, v), SCARD_S_SUCCESS);
    EXPECT_EQ(std::string(v.begin(), v.end()), name + '\0');
    // Answered by the backend.
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_CURRENT_IFSC, v), SCARD_S_SUCCESS);
    EXPECT_EQ(v, Bytes{0xFE});
    EXPECT_EQ(get_attrib(h, SCARD_ATTR_CURRENT_BWT, v), SCARD_E_UNSUPPORTED_FEATURE);
}

TEST_F(Attrib, BufferConventions) {
    DWORD len = 2;
    BYTE small[2];
    EXPECT_EQ(SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, small, &len), SCARD_E_INSUFFICIENT_BUFFER);
    EXPECT_EQ(len, kAtrT1.size());
    BYTE big[4096];  // any size is accepted (pcsc-lite refuses more than 264 bytes)
    len = sizeof(big);
    ASSERT_EQ(SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, big, &len), SCARD_S_SUCCESS);
    EXPECT_EQ(len, kAtrT1.size());
    BYTE* alloc = nullptr;
    len = SCARD_AUTOALLOCATE;
    ASSERT_EQ(SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, reinterpret_cast<LPBYTE>(&alloc), &len), SCARD_S_SUCCESS);
    EXPECT_EQ(Bytes(alloc, alloc + len), kAtrT1);
    SCardFreeMemory(ctx, alloc);
    len = SCARD_AUTOALLOCATE;
    EXPECT_EQ(SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, nullptr, &len), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, big, nullptr), SCARD_E_INVALID_PARAMETER);
    len = sizeof(big);
    EXPECT_EQ(SCardGetAttrib(h + 1, SCARD_ATTR_ATR_STRING, big, &len), SCARD_E_INVALID_HANDLE);
}

TEST_F(Attrib, EventsAreReported) {
    reader->remove();
    Bytes v;
    EXPECT_EQ(get_attrib(h, SCARD_ATTR_ATR_STRING, v), SCARD_W_REMOVED_CARD);
    DWORD p = 0;
    SCardDisconnect(h, SCARD_LEAVE_CARD);
    ASSERT_EQ(SCardConnect(ctx, name.c_str(), SCARD_SHARE_DIRECT, 0, &h, &p), SCARD_S_SUCCESS);
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_ICC_PRESENCE, v), SCARD_S_SUCCESS);
    EXPECT_EQ(v, Bytes{0});
    ASSERT_EQ(get_attrib(h, SCARD_ATTR_ATR_STRING, v), SCARD_S_SUCCESS);
    EXPECT_TRUE(v.empty());
}

TEST_F(Attrib, SetAttrib) {
    const BYTE value[] = {0xAB, 0xCD};
    EXPECT_EQ(SCardSetAttrib(h, FakeReader::kSettableAttribute, nullptr, 2), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardSetAttrib(h, FakeReader::kSettableAttribute, value, 0), SCARD_E_INVALID_PARAMETER);
    EXPECT_EQ(SCardSetAttrib(h + 1, FakeReader::kSettableAttribute, value, 2), SCARD_E_INVALID_HANDLE);
    Bytes big(MAX_BUFFER_SIZE + 1, 1);
    EXPECT_EQ(SCardSetAttrib(h, FakeReader::kSettableAttribute, big.data(), static_cast<DWORD>(big.size())),
              SCARD_E_INSUFFICIENT_BUFFER);
    ASSERT_EQ(SCardSetAttrib(h, FakeReader::kSettableAttribute, value, 2), SCARD_S_SUCCESS);
    Bytes v;
    ASSERT_EQ(get_attrib(h, FakeReader::kSettableAttribute, v), SCARD_S_SUCCESS);
    EXPECT_EQ(v, (Bytes{0xAB, 0xCD}));
    EXPECT_EQ(SCardSetAttrib(h, SCARD_ATTR_ATR_STRING, value, 2), SCARD_E_UNSUPPORTED_FEATURE);
}

}  // namespace
}  // namespace ccidkit::api::testing

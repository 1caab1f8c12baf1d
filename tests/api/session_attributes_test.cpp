// SCardGetAttrib for the current protocol attributes (SCARD_ATTR_CURRENT_*), answered by the
// CCID backend from the slot's card session (src/api/session_attributes.h), through the C ABI
// on virtual readers.
#include "api/virtual_reader_fixture.h"

namespace ccidkit::api::testing {
namespace {

class SessionAttributesTest : public VirtualReaderTest {};

// A T=1 card with its own IFSC, CRC and TC1.
sim::SimCard t1_card(std::uint8_t ifsc, proto::T1Edc edc, std::uint8_t n) {
    sim::SimCardConfig c;
    c.atr = sim::SimCard::t1_default_atr();
    c.atr.ifsc = ifsc;
    c.atr.edc = edc;
    c.atr.tc1 = n;
    return sim::SimCard(std::move(c));
}

TEST_F(SessionAttributesTest, T1SessionReportsIfscIfsdClockAndRates) {
    // Inserted into an empty reader: replacing a preset card would be a swap, whose
    // notification the event thread may apply only after the connect below (which then
    // loses its session); from empty, PRESENT means the insertion was applied.
    start("tpdu:none");
    sim().insert_card(0, t1_card(100, proto::T1Edc::Crc, 2));
    ASSERT_TRUE(wait_for(names[0], SCARD_STATE_PRESENT).dwEventState & SCARD_STATE_PRESENT);
    SCARDHANDLE h = 0;
    DWORD active = 0;
    ASSERT_EQ(connect(0, h, active), SCARD_S_SUCCESS);
    ASSERT_EQ(active, static_cast<DWORD>(SCARD_PROTOCOL_T1));

    const ccid::CcidDescriptor& d = sim().config().descriptor;
    EXPECT_EQ(dword_attribute(h, SCARD_ATTR_CURRENT_IFSC), 100u);  // the card's TA3
    // TPDU reader without automatic IFSD: the host announced the reader's dwMaxIFSD.
    EXPECT_EQ(dword_attribute(h, SCARD_ATTR_CURRENT_IFSD), std::min<std::uint32_t>(d.dwMaxIFSD, 254));
    EXPECT_EQ(dword_attribute(h, SCARD_ATTR_CURRENT_CLK), d.dwDefaultClock);  // kHz
    EXPECT_EQ(dword_attribute(h, SCARD_ATTR_CURRENT_EBC_ENCODING), 1u);       // CRC
    EXPECT_EQ(dword_attribute(h, SCARD_ATTR_CURRENT_N), 2u);
    // The preset ATR's TA1 = 96 (Fi 512, Di 32) is what the reader negotiated.
    EXPECT_EQ(dword_attribute(h, SCARD_ATTR_CURRENT_F), 512u);
    EXPECT_EQ(dword_attribute(h, SCARD_ATTR_CURRENT_D), 32u);
    // WI belongs to T=0.
    LONG rc = 0;
    EXPECT_EQ(dword_attribute(h, SCARD_ATTR_CURRENT_W, &rc), std::nullopt);
    EXPECT_EQ(rc, SCARD_E_UNSUPPORTED_FEATURE);

    // A too small buffer gets the size.
    BYTE one[1];
    DWORD len = sizeof one;
    EXPECT_EQ(SCardGetAttrib(h, SCARD_ATTR_CURRENT_IFSC, one, &len), SCARD_E_INSUFFICIENT_BUFFER);
    EXPECT_EQ(len, 4u);
    EXPECT_EQ(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
}

TEST_F(SessionAttributesTest, LrcCardAndT0SessionHaveTheirOwnValues) {
    start("tpdu:t1,tpdu:t0");
    SCARDHANDLE h1 = 0, h0 = 0;
    DWORD p1 = 0, p0 = 0;
    ASSERT_EQ(connect(0, h1, p1), SCARD_S_SUCCESS);
    ASSERT_EQ(connect(1, h0, p0), SCARD_S_SUCCESS);
    ASSERT_EQ(p0, static_cast<DWORD>(SCARD_PROTOCOL_T0));
    EXPECT_EQ(dword_attribute(h1, SCARD_ATTR_CURRENT_EBC_ENCODING), 0u);  // LRC
    EXPECT_EQ(dword_attribute(h1, SCARD_ATTR_CURRENT_IFSC), 254u);

    LONG rc = 0;
    EXPECT_EQ(dword_attribute(h0, SCARD_ATTR_CURRENT_IFSC, &rc), std::nullopt);
    EXPECT_EQ(rc, SCARD_E_UNSUPPORTED_FEATURE);
    EXPECT_EQ(dword_attribute(h0, SCARD_ATTR_CURRENT_IFSD, &rc), std::nullopt);
    EXPECT_EQ(dword_attribute(h0, SCARD_ATTR_CURRENT_W), 10u);  // no TC2: the default WI
    // The T=0 preset's TA1 = 13: Fi 372, Di 4.
    EXPECT_EQ(dword_attribute(h0, SCARD_ATTR_CURRENT_F), 372u);
    EXPECT_EQ(dword_attribute(h0, SCARD_ATTR_CURRENT_D), 4u);
    EXPECT_EQ(dword_attribute(h0, SCARD_ATTR_CURRENT_CLK), sim(1).config().descriptor.dwDefaultClock);
    SCardDisconnect(h1, SCARD_LEAVE_CARD);
    SCardDisconnect(h0, SCARD_LEAVE_CARD);
}

TEST_F(SessionAttributesTest, NoSessionMeansNoValue) {
    start("tpdu:none");
    SCARDHANDLE h = 0;
    DWORD active = 0;
    ASSERT_EQ(connect(0, h, active, 0, SCARD_SHARE_DIRECT), SCARD_S_SUCCESS);
    LONG rc = 0;
    EXPECT_EQ(dword_attribute(h, SCARD_ATTR_CURRENT_CLK, &rc), std::nullopt);
    EXPECT_EQ(rc, SCARD_E_UNSUPPORTED_FEATURE);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
}

}  // namespace
}  // namespace ccidkit::api::testing

// API-level fault suite: what an application sees through the C ABI when the reader, the
// card or the USB transport misbehaves. The simulator (sim::ReaderFaults, T1CardConfig,
// SimCard faults) is told to misbehave behind the host driver of a virtual reader; each case
// checks the pcsc-lite code, that the call returns within a bound (steady_clock), and that
// the reader works again afterwards when that is physically possible. The CCID-level view of
// the same faults is in tests/ccid/ and tests/sim/reader_faults_test.cpp.
//
// | Fault (simulator knob)                                 | SCard call  | Code                          | Bound | Afterwards                    |
// |--------------------------------------------------------|-------------|-------------------------------|-------|-------------------------------|
// | reply with a stale bSeq first (stale_seq)              | Transmit    | SCARD_S_SUCCESS (dropped)     | 2 s   | next Transmit works           |
// | reply beyond dwMaxCCIDMessageLength (oversize)         | Transmit    | SCARD_E_NOT_TRANSACTED        | 2 s   | next Transmit works           |
// | reply longer than the command allows (oversize_bytes)  | Transmit    | SCARD_S_SUCCESS or NOT_TRANS. | 2 s   | next Transmit works           |
// |   (TPDU reader: the T=1 block is bad, the engine asks again and recovers: success)                                             |
// | dwLength larger than the payload (truncated)           | Transmit    | SCARD_E_NOT_TRANSACTED        | 2 s   | next Transmit works           |
// | no reply at all (silent, USB timeout)                  | Transmit    | SCARD_E_NOT_TRANSACTED        | 10 s  | next Transmit works           |
// | endless time extensions (endless_time_extension)       | Transmit    | SCARD_E_NOT_TRANSACTED        | 10 s  | next Transmit works           |
// | bulk-IN stall, once (bulk_in_stalls=1)                 | Transmit    | SCARD_S_SUCCESS (clear_halt)  | 2 s   | next Transmit works           |
// | bulk-IN stalls that persist (bulk_in_stalls=10)        | Transmit    | SCARD_E_NOT_TRANSACTED        | 5 s   | next Transmit works           |
// | card S(WTX) request before every block, endless        | Transmit    | SCARD_E_NOT_TRANSACTED        | 10 s  | next Transmit works           |
// | T=1 response chain that never ends                     | Transmit    | SCARD_E_NOT_TRANSACTED        | 10 s  | next Transmit works           |
// | card S(IFS request) with IFSC 0 or 255 (out of range)  | Transmit    | SCARD_E_NOT_TRANSACTED        | 10 s  | Reconnect(RESET), works       |
// | card goes mute (set_mute)                              | Transmit    | SCARD_E_NOT_TRANSACTED        | 10 s  | unmuted: Reconnect(RESET)     |
// |   and its reset while still mute                       | Reconnect   | SCARD_W_UNRESPONSIVE_CARD     | 10 s  |                               |
// | card removed during an APDU                            | Transmit    | SCARD_E_NO_SMARTCARD, then    | 5 s   | reinserted: Reconnect works   |
// |                                                        |             | SCARD_W_REMOVED_CARD          |       |                               |
// | reader hardware error (RDR_to_PC_HardwareError)        | Transmit    | SCARD_E_NOT_TRANSACTED        | 5 s   | Reconnect(RESET) works        |
// | reader unplugged during an APDU (disconnect)           | Transmit    | SCARD_E_READER_UNAVAILABLE    | 5 s   | Connect: READER_UNAVAILABLE;  |
// |                                                        |             |                               |       | GetStatusChange: UNAVAILABLE  |
// | reader unplugged during an APDU, then plugged back    | Transmit    | SCARD_E_READER_UNAVAILABLE    | 5 s   | same name listed again; old   |
// |   (provider unplug_virtual / plug_virtual)            | GetStatusCh.| PnP: CHANGED at the re-plug   | 5 s   | handle dead, new Connect works|
// | reader unplugged during GetStatusChange                | GetStatusCh.| SCARD_S_SUCCESS, UNAVAILABLE  | 5 s   | (a virtual reader stays gone) |
// | interrupt endpoint storm (20000 NotifySlotChange)      | GetStatusCh.| SCARD_S_SUCCESS / TIMEOUT     | 5 s   | Transmit works meanwhile      |
// | no answer to power-on (mute card at connect)           | Connect     | SCARD_W_UNPOWERED_CARD        | 10 s  | unmuted: Connect works        |
//
// "Bound" is generous (a loaded machine, sanitizers); the real times are a fraction of it.
#pragma once

#include <chrono>
#include <functional>

#include "api/virtual_reader_fixture.h"

namespace ccidkit::api::testing {

using namespace std::chrono_literals;

// How long `call` took.
inline std::chrono::milliseconds timed(const std::function<void()>& call) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

class FaultSuiteTest : public VirtualReaderTest {
protected:
    // Starts `spec`, connects to reader 0 and checks that the card answers.
    void start_connected(std::string_view spec, DWORD protocols = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1) {
        start(spec);
        ASSERT_FALSE(names.empty());
        ASSERT_EQ(connect(0, h, active, protocols), SCARD_S_SUCCESS);
        expect_echo_works();
    }
    // Faults on the final replies of XfrBlock only (the event thread's own commands untouched).
    void xfr_faults(sim::ReaderFaults f) {
        f.only_for = ccid::MessageType::PcToRdrXfrBlock;
        sim().set_faults(f);
    }
    // One Transmit of ECHO, timed.
    LONG timed_echo(std::chrono::milliseconds& took) {
        Bytes r;
        LONG rc = 0;
        took = timed([&] { rc = transmit(h, active, kEchoApdu, r); });
        return rc;
    }
    void expect_echo_works() {
        Bytes r;
        ASSERT_EQ(transmit(h, active, kEchoApdu, r), SCARD_S_SUCCESS);
        EXPECT_EQ(r, kEchoAnswer);
    }
    // The reader is usable again: the card answers, after a reset when `reset` (some faults
    // leave the card or the protocol state unknown, as with pcsc-lite and libccid).
    void expect_usable_again(bool reset = false) {
        sim().set_faults({});
        if (reset) {
            ASSERT_EQ(SCardReconnect(h, SCARD_SHARE_SHARED, active, SCARD_RESET_CARD, &active), SCARD_S_SUCCESS);
        }
        expect_echo_works();
    }

    SCARDHANDLE h = 0;
    DWORD active = 0;
};

}  // namespace ccidkit::api::testing

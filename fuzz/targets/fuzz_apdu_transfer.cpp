// Moving an APDU through a CCID reader (src/ccid/apdu_transfer.h) when the reader's replies
// are hostile: T=0 and T=1 at TPDU level, short APDU level, extended APDU level with command
// and response chaining (CCID Rev 1.1 6.1.4 / 6.2.1 wLevelParameter / bChainParameter), and
// the stand-alone S(IFS) exchange. Input:
//   u8 mode (mod 5: T=0, T=1, short, extended, S(IFS)), u8 T=1 flags (bit 0 CRC), u8 IFSC,
//   u16 dwMaxCCIDMessageLength, u16 APDU length + APDU bytes,
//   then replies, one per XfrBlock, tag % 4:
//     0 a failed XfrBlock: u8 selects card mute / parity error / timeout / card removed,
//     1 u8 bChainParameter from {00, 01, 02, 03, 10, raw}, data (u8 length + bytes),
//     2 raw bChainParameter byte, data (u16 length + bytes),
//     3 a well-formed T=1 block: u8 PCB, u8 INF length, INF (NAD/LEN/EDC filled in).
// When the replies run out the card is mute. Invariants: the number of XfrBlocks stays within
// the replies given plus a bounded number of mute rounds (termination), results are within
// 65536 + 2 bytes, requests are well-formed (chained parts fit the message length), and the
// T=1 engine is never left busy once a transfer returned (docs/SECURITY.md, F1).
#include <cstddef>
#include <cstdint>

#include "ccid/apdu_transfer.h"
#include "ccid/message_status.h"
#include "ccid/message_types.h"
#include "ccid/reader_error.h"
#include "fuzz_support.h"
#include "protocol/t0_exchange.h"
#include "protocol/t1_edc.h"
#include "protocol/t1_engine.h"

using namespace ccidkit;
using namespace ccidkit::ccid;

namespace {

ReaderError failed_xfr(std::uint8_t which) {
    switch (which % 4) {
        case 0: return make_error(ReaderErrc::CardMute, "fuzz: mute");
        case 1:
            return from_failed_status(Status::make(IccStatus::PresentActive, CommandStatus::Failed, 0xFD),
                                      MessageType::PcToRdrXfrBlock);  // XFR_PARITY_ERROR
        case 2: return make_error(ReaderErrc::Timeout, "fuzz: timeout");
        default:
            return from_failed_status(Status::make(IccStatus::Absent, CommandStatus::Failed, 0xFE),
                                      MessageType::PcToRdrXfrBlock);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const unsigned mode = in.u8() % 5;
    const std::uint8_t t1_flags = in.u8();
    const std::uint8_t ifsc = static_cast<std::uint8_t>(1 + in.u8() % 254);
    TransferSetup setup;
    setup.max_message_length = in.u16();
    const ByteView apdu = in.chunk16();

    proto::T1Config t1;
    t1.edc = (t1_flags & 1) ? proto::T1Edc::Crc : proto::T1Edc::Lrc;
    t1.ifsc = ifsc;
    setup.timing.protocol = mode == 0 ? 0 : 1;
    setup.timing.ifsc = ifsc;

    std::size_t replies_given = 0, mute_rounds = 0;
    const XfrFunction xfr = [&](const XfrRequest& request) -> std::expected<XfrReply, ReaderError> {
        // What the host sends is well-formed whatever the reader said before.
        if (mode == 3) {
            const std::size_t room = setup.max_message_length > kHeaderSize ? setup.max_message_length - kHeaderSize : 1;
            FUZZ_CHECK(request.data.size() <= room);
            const auto w = request.wLevelParameter;
            FUZZ_CHECK(w == chain::kBeginsAndEnds || w == chain::kBegins || w == chain::kEnds ||
                       w == chain::kContinues || w == chain::kEmptyContinue);
        }
        FUZZ_CHECK(request.timeout.count() >= 0);
        if (in.empty()) {
            ++mute_rounds;
            // A mute card ends any exchange after a bounded number of rounds.
            FUZZ_CHECK(mute_rounds <= 1000);
            return std::unexpected(make_error(ReaderErrc::CardMute, "fuzz: out of replies"));
        }
        ++replies_given;
        XfrReply reply;
        switch (in.u8() % 4) {
            case 0: return std::unexpected(failed_xfr(in.u8()));
            case 1: {
                constexpr std::uint8_t codes[] = {chain::kBeginsAndEnds, chain::kBegins, chain::kEnds,
                                                  chain::kContinues, chain::kEmptyContinue};
                const std::uint8_t c = in.u8();
                reply.bChainParameter = c < 250 ? codes[c % 5] : c;
                const ByteView d = in.chunk8();
                reply.data.assign(d.begin(), d.end());
                break;
            }
            case 2: {
                reply.bChainParameter = in.u8();
                const ByteView d = in.chunk16();
                reply.data.assign(d.begin(), d.end());
                break;
            }
            default: {
                const std::uint8_t pcb = in.u8();
                const std::size_t inf = in.u8() % (proto::kT1MaxInf + 1);
                reply.data = {proto::swap_nad(t1.nad), pcb, static_cast<std::uint8_t>(inf)};
                const ByteView d = in.bytes(inf);
                reply.data.insert(reply.data.end(), d.begin(), d.end());
                reply.data.resize(proto::kT1PrologueSize + inf, 0);
                proto::append_edc(reply.data, t1.edc);
                break;
            }
        }
        return reply;
    };

    std::expected<Bytes, ReaderError> result = Bytes{};
    switch (mode) {
        case 0: {
            proto::T0Exchange engine;
            result = transfer_t0_tpdu(apdu, engine, setup, xfr);
            if (result) FUZZ_CHECK(result->size() >= 2);
            break;
        }
        case 1: {
            proto::T1Engine engine(t1);
            result = transfer_t1_tpdu(apdu, engine, setup, xfr);
            // Otherwise every later APDU on the slot is refused ("exchange in progress"):
            // finding F1 of docs/SECURITY.md.
            FUZZ_CHECK(engine.state() != proto::T1State::Busy);
            break;
        }
        case 2: result = transfer_short_apdu(apdu, setup, xfr); break;
        case 3: result = transfer_extended_apdu(apdu, setup, xfr); break;
        default: {
            proto::T1Engine engine(t1);
            const auto done = negotiate_t1_ifsd(static_cast<std::uint8_t>(1 + ifsc % 254), engine, setup, xfr);
            FUZZ_CHECK(engine.state() != proto::T1State::Busy);
            if (!done) result = std::unexpected(done.error());
            break;
        }
    }
    if (result) {
        FUZZ_CHECK(result->size() <= kMaxResponseApdu);
    } else {
        FUZZ_CHECK(!describe(result.error()).empty());
    }
    return 0;
}

// Two CcidDevices on one simulated reader, each through its own transport handle and its own
// opens of the lock file (OFD locks conflict between separate opens even in one process), as
// two processes would be: presence seen by both, one T=1 session continued by both, the claim
// kept while alone and handed over otherwise, a holder that goes away, sharing disabled.
// A fork() test checks that a process dying with the token does not block the others.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>

#include "api/ccid_backend.h"
#include "api/shared_device.h"
#include "sim/card/sim_card.h"
#include "sim/reader/shared_reader_sim.h"

namespace ccidkit::api {
namespace {

using namespace std::chrono_literals;

const Bytes kEcho{0x80, 0x10, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x03};
const Bytes kEchoReply{0x01, 0x02, 0x03, 0x90, 0x00};

// Waits for a condition that the devices' change callbacks (or time) make true.
class Changes {
public:
    CcidDevice::ChangeCallback callback() {
        return [this] {
            std::lock_guard lock(mutex_);
            ++count_;
            cv_.notify_all();
        };
    }
    template <class Pred>
    bool wait_for(Pred pred, std::chrono::milliseconds limit = 3s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        std::unique_lock lock(mutex_);
        while (!pred()) {
            // Re-check at least every 10 ms: some conditions (the claim) have no callback.
            if (std::chrono::steady_clock::now() >= deadline) return false;
            cv_.wait_for(lock, 10ms);
        }
        return true;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    unsigned count_ = 0;
};

class SharedDeviceTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/ccidkit-shared-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        if (const char* old = std::getenv("CCIDKIT_LOCK_DIR")) saved_ = old;
        ::setenv("CCIDKIT_LOCK_DIR", dir_.c_str(), 1);
    }
    void TearDown() override {
        if (saved_) {
            ::setenv("CCIDKIT_LOCK_DIR", saved_->c_str(), 1);
        } else {
            ::unsetenv("CCIDKIT_LOCK_DIR");
        }
        std::filesystem::remove_all(dir_);
    }

    std::expected<std::shared_ptr<CcidDevice>, std::string> open(bool shared = true) {
        CcidDeviceSource source;
        source.transport = reader_.open_handle();
        source.descriptor = reader_.sim().config().descriptor;
        source.identity.device_id = "sim:shared-test";
        source.identity.vendor = "ccidkit";
        source.identity.model = "shared";
        source.shared = shared;
        return open_ccid_device(std::move(source), changes_.callback());
    }

    static std::shared_ptr<ReaderBackend> slot0(const std::shared_ptr<CcidDevice>& d) { return d->backends().at(0); }

    sim::SharedReaderSim reader_{sim::make_reader_config(ccid::ExchangeLevel::Tpdu)};
    Changes changes_;
    std::string dir_;
    std::optional<std::string> saved_;
};

TEST_F(SharedDeviceTest, BothSeeInsertionAndRemoval) {
    auto a = open();
    ASSERT_TRUE(a) << a.error();
    auto b = open();
    ASSERT_TRUE(b) << b.error();
    EXPECT_TRUE((*a)->shared());
    auto sa = slot0(*a), sb = slot0(*b);
    EXPECT_EQ(sa->status().presence, CardPresence::Absent);
    EXPECT_EQ(sb->status().presence, CardPresence::Absent);

    reader_.sim().insert_card(0, sim::SimCard::t1_default());
    EXPECT_TRUE(changes_.wait_for([&] {
        return sa->status().presence == CardPresence::Present && sb->status().presence == CardPresence::Present;
    })) << "a: " << static_cast<int>(sa->status().presence) << " b: " << static_cast<int>(sb->status().presence);
    EXPECT_EQ(sa->status().card_events, 1u);
    EXPECT_EQ(sb->status().card_events, 1u);

    reader_.sim().remove_card(0);
    EXPECT_TRUE(changes_.wait_for([&] {
        return sa->status().presence == CardPresence::Absent && sb->status().presence == CardPresence::Absent;
    }));
    EXPECT_EQ(sa->status().card_events, 2u);
    EXPECT_EQ(sb->status().card_events, 2u);
}

TEST_F(SharedDeviceTest, OneT1SessionContinuedByBothWithoutReset) {
    auto card = reader_.sim().insert_card(0, sim::SimCard::t1_default());
    auto a = open();
    ASSERT_TRUE(a) << a.error();
    auto b = open();
    ASSERT_TRUE(b) << b.error();
    auto sa = slot0(*a), sb = slot0(*b);

    auto atr = sa->power_on();
    ASSERT_TRUE(atr);
    auto r = sa->transmit(kEcho, CardProtocol::T1);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kEchoReply);
    const auto power_ons = reader_.sim().stats().count(ccid::MessageType::PcToRdrIccPowerOn);

    // B finds the card powered by A: same ATR, no reset.
    auto atr_b = sb->power_on();
    ASSERT_TRUE(atr_b);
    EXPECT_EQ(*atr_b, *atr);
    EXPECT_EQ(reader_.sim().stats().count(ccid::MessageType::PcToRdrIccPowerOn), power_ons);

    constexpr int kRounds = 40;
    for (int i = 0; i < kRounds; ++i) {
        auto& who = (i % 3 == 0) ? sa : sb;  // uneven turns: N(S) parity differs at hand-over
        auto reply = who->transmit(kEcho, CardProtocol::T1);
        ASSERT_TRUE(reply) << "round " << i << ": " << to_string(reply.error());
        EXPECT_EQ(*reply, kEchoReply);
    }
    // The card checks N(S)/N(R): any state lost at a hand-over shows as invalid blocks,
    // retransmissions or a resynchronisation.
    const auto& stats = card->t1().stats();
    EXPECT_EQ(stats.invalid_blocks, 0u);
    EXPECT_EQ(stats.retransmissions, 0u);
    EXPECT_EQ(stats.resyncs, 0u);
    EXPECT_EQ(stats.commands, static_cast<std::size_t>(kRounds + 1));
    EXPECT_EQ(reader_.sim().stats().count(ccid::MessageType::PcToRdrIccPowerOn), power_ons);
}

// One card state for all, as pcscd's: a card powered through A shows powered to B, which
// did not power it; a power-off through B shows to A; a removal ends it for both.
TEST_F(SharedDeviceTest, BothSeeTheCardPoweredWhoeverPoweredIt) {
    reader_.sim().insert_card(0, sim::SimCard::t1_default());
    auto a = open();
    ASSERT_TRUE(a) << a.error();
    auto b = open();
    ASSERT_TRUE(b) << b.error();
    auto sa = slot0(*a), sb = slot0(*b);
    EXPECT_EQ(sb->status().presence, CardPresence::Present);

    ASSERT_TRUE(sa->power_on());
    EXPECT_EQ(sa->status().presence, CardPresence::Powered);
    EXPECT_EQ(sb->status().presence, CardPresence::Powered);

    ASSERT_TRUE(sb->power_on());  // adopts A's session
    ASSERT_TRUE(sb->power_off());
    EXPECT_EQ(sb->status().presence, CardPresence::Present);
    EXPECT_EQ(sa->status().presence, CardPresence::Present);
    // A adopts B's (unpowered) session and powers the card again.
    ASSERT_TRUE(sa->power_on());
    EXPECT_EQ(sa->status().presence, CardPresence::Powered);
    EXPECT_EQ(sb->status().presence, CardPresence::Powered);

    reader_.sim().remove_card(0);
    EXPECT_TRUE(changes_.wait_for([&] {
        return sa->status().presence == CardPresence::Absent && sb->status().presence == CardPresence::Absent;
    }));
    reader_.sim().insert_card(0, sim::SimCard::t1_default());
    EXPECT_TRUE(changes_.wait_for([&] { return sb->status().presence != CardPresence::Absent; }));
    EXPECT_EQ(sb->status().presence, CardPresence::Present) << "the new card is not powered";
    EXPECT_EQ(sa->status().presence, CardPresence::Present);
}

// The device leaves while both have it open: the one that polls sees its I/O fail, the other
// finds the claim refused with NoDevice; both must call the reader gone (not "busy").
TEST_F(SharedDeviceTest, AnUnplugIsSeenByBoth) {
    reader_.sim().insert_card(0, sim::SimCard::t1_default());
    auto a = open();
    ASSERT_TRUE(a) << a.error();
    auto b = open();
    ASSERT_TRUE(b) << b.error();
    auto sa = slot0(*a), sb = slot0(*b);
    reader_.sim().disconnect();
    EXPECT_TRUE(changes_.wait_for([&] {
        return sa->status().presence == CardPresence::Unavailable && sb->status().presence == CardPresence::Unavailable;
    })) << "a: " << static_cast<int>(sa->status().presence) << " b: " << static_cast<int>(sb->status().presence);
    EXPECT_TRUE((*a)->gone());
    EXPECT_TRUE((*b)->gone());
    auto r = sb->transmit(kEcho, CardProtocol::T1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), BackendError::ReaderGone);
}

TEST_F(SharedDeviceTest, ClaimKeptWhileAloneAndHandedOverWhenAnotherOpens) {
    auto a = open();
    ASSERT_TRUE(a) << a.error();
    EXPECT_TRUE(reader_.claimed());
    reader_.sim().insert_card(0, sim::SimCard::t1_default());
    auto sa = slot0(*a);
    ASSERT_TRUE(changes_.wait_for([&] { return sa->status().presence == CardPresence::Present; }));
    ASSERT_TRUE(sa->power_on());
    ASSERT_TRUE(sa->transmit(kEcho, CardProtocol::T1));
    EXPECT_TRUE(reader_.claimed()) << "alone: the claim stays";

    auto b = open();
    ASSERT_TRUE(b) << b.error();
    // Two users: nobody keeps the claim while idle.
    EXPECT_TRUE(changes_.wait_for([&] { return !reader_.claimed(); }));
    auto sb = slot0(*b);
    auto r = sb->transmit(kEcho, CardProtocol::T1);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kEchoReply);
    EXPECT_TRUE(changes_.wait_for([&] { return !reader_.claimed(); }));

    // B alone again: it takes the claim back and keeps it.
    sa.reset();  // the backends share the device's ownership
    a->reset();
    EXPECT_TRUE(changes_.wait_for([&] { return reader_.claimed(); }));
    r = sb->transmit(kEcho, CardProtocol::T1);
    ASSERT_TRUE(r);
    EXPECT_TRUE(reader_.claimed());
}

TEST_F(SharedDeviceTest, DestroyingTheHolderLetsTheOtherProceed) {
    reader_.sim().insert_card(0, sim::SimCard::t1_default());
    auto a = open();
    ASSERT_TRUE(a) << a.error();
    auto atr = slot0(*a)->power_on();
    ASSERT_TRUE(atr);
    // A holds the token (alone); B's opening waits for it, then A goes away.
    auto b = std::async(std::launch::async, [&] { return open(); });
    a->reset();
    ASSERT_EQ(b.wait_for(5s), std::future_status::ready);
    auto opened = b.get();
    ASSERT_TRUE(opened) << opened.error();
    auto sb = slot0(*opened);
    // B either joined before A left (it adopted A's session) or after (it found the page of a
    // process that is gone, which is never trusted, and powers the card itself): same card.
    auto atr_b = sb->power_on();
    ASSERT_TRUE(atr_b) << to_string(atr_b.error());
    EXPECT_EQ(*atr_b, *atr);
    auto r = sb->transmit(kEcho, CardProtocol::T1);
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(*r, kEchoReply);
    EXPECT_TRUE(reader_.claimed()) << "B is alone: it keeps the claim";
}

TEST_F(SharedDeviceTest, EmptyLockDirKeepsTheClaimAsBefore) {
    ::setenv("CCIDKIT_LOCK_DIR", "", 1);
    auto a = open();
    ASSERT_TRUE(a) << a.error();
    EXPECT_FALSE((*a)->shared());
    EXPECT_TRUE(reader_.claimed());
    auto b = open();
    ASSERT_FALSE(b);  // the first one keeps its claim: the second cannot have it
    EXPECT_NE(b.error().find("claimed by another"), std::string::npos) << b.error();
    EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(SharedDeviceTest, NotSharedWhenAskedNot) {
    auto a = open(false);
    ASSERT_TRUE(a) << a.error();
    EXPECT_FALSE((*a)->shared());
    EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

// Alone, an I/O is pinned with no lock call (the join count did not move); once another
// process joins, the pin is refused and the claim goes back at the end of the pinned I/O, so
// the newcomer's begin_io, waiting meanwhile, gets the device right after it.
TEST_F(SharedDeviceTest, PinnedWhileAloneRefusedOnceAnotherJoins) {
    auto ha = reader_.open_handle();
    auto a = SharedDevice::open(dir_, "sim:pin", *ha, 1);
    ASSERT_NE(a, nullptr);
    EXPECT_FALSE(a->try_pin()) << "not holding the claim yet";
    ASSERT_TRUE(a->begin_io());
    a->end_io(std::nullopt);
    ASSERT_TRUE(ha->claimed()) << "alone: kept";
    ASSERT_TRUE(a->try_pin());
    a->end_io(std::nullopt);

    ASSERT_TRUE(a->try_pin());  // an I/O in progress when B arrives
    auto hb = reader_.open_handle();
    auto b = SharedDevice::open(dir_, "sim:pin", *hb, 1);
    ASSERT_NE(b, nullptr);
    auto b_io = std::async(std::launch::async, [&] { return b->begin_io(); });
    EXPECT_EQ(b_io.wait_for(100ms), std::future_status::timeout) << "A's pinned I/O is not over";
    a->end_io(std::nullopt);  // sees B: gives the claim back
    ASSERT_EQ(b_io.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(b_io.get());
    EXPECT_TRUE(hb->claimed());
    EXPECT_FALSE(a->try_pin()) << "B holds the device";
    b->end_io(std::nullopt);
    EXPECT_FALSE(hb->claimed()) << "two users: B gives it back";

    // B leaves: A is alone again once it asks the kernel (the join count only grows).
    b.reset();
    hb.reset();
    ASSERT_TRUE(a->begin_io());
    a->end_io(std::nullopt);
    EXPECT_TRUE(ha->claimed());
    EXPECT_TRUE(a->try_pin());
    a->end_io(std::nullopt);
}

// A process that dies holding the token: the kernel drops its locks, the others go on.
TEST_F(SharedDeviceTest, ProcessDyingWithTheTokenDoesNotBlockOthers) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    // Whatever happens below, the child does not outlive the test.
    struct Reaper {
        pid_t pid;
        ~Reaper() {
            if (pid <= 0) return;
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    } reaper{child};
    if (child == 0) {
        ::close(ready[0]);
        auto handle = reader_.open_handle();  // the child's copy of the simulator
        auto device = SharedDevice::open(dir_, "sim:fork", *handle, 1);
        const char ok = device && device->begin_io() ? 'y' : 'n';
        (void)!::write(ready[1], &ok, 1);
        for (;;) ::pause();  // killed while holding the token
    }
    ::close(ready[1]);
    char ok = 0;
    ASSERT_EQ(::read(ready[0], &ok, 1), 1);
    ::close(ready[0]);
    ASSERT_EQ(ok, 'y');

    auto handle = reader_.open_handle();
    auto device = SharedDevice::open(dir_, "sim:fork", *handle, 1);
    ASSERT_NE(device, nullptr);
    EXPECT_FALSE(device->alone());
    EXPECT_EQ(device->try_begin_io(), SharedDevice::TryIo::Busy) << "the child holds the token";
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    reaper.pid = 0;
    auto began = std::async(std::launch::async, [&] { return device->begin_io(); });
    ASSERT_EQ(began.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(began.get());
    EXPECT_TRUE(handle->claimed());
    EXPECT_TRUE(device->alone());
    device->end_io(std::nullopt);
    EXPECT_TRUE(handle->claimed()) << "alone: kept";
}

}  // namespace
}  // namespace ccidkit::api

// The virtual reader syntax shared by ccidctl --virtual and $CCID_VIRTUAL_READERS: every
// kind and card spelling, counts, socket=PATH, and the errors.
#include "sim/virtual_spec.h"

#include <gtest/gtest.h>

namespace ccidkit::sim {
namespace {

using Card = VirtualReaderSpec::Card;

TEST(VirtualSpec, KindsAndCards) {
    auto specs = parse_virtual_spec("tpdu,short:t0,extended:t1-1v8,tpdu:none");
    ASSERT_TRUE(specs) << specs.error();
    ASSERT_EQ(specs->size(), 4u);
    EXPECT_EQ((*specs)[0].card, Card::T1);
    EXPECT_EQ(simulated_level((*specs)[0].config.descriptor), ccid::ExchangeLevel::Tpdu);
    EXPECT_EQ((*specs)[1].card, Card::T0);
    EXPECT_EQ(simulated_level((*specs)[1].config.descriptor), ccid::ExchangeLevel::ShortApdu);
    EXPECT_EQ((*specs)[2].card, Card::T1ClassC);
    EXPECT_EQ(simulated_level((*specs)[2].config.descriptor), ccid::ExchangeLevel::ExtendedApdu);
    EXPECT_EQ((*specs)[3].card, Card::None);
    EXPECT_EQ((*specs)[1].spec, "short:t0");
    for (const auto& s : *specs) EXPECT_FALSE(s.served());
}

TEST(VirtualSpec, FileKindUsesTheLoaderAndKeepsColonsInPaths) {
    std::string seen;
    const VirtualFileLoader loader = [&](const std::string& path) -> std::expected<ReaderSimConfig, std::string> {
        seen = path;
        return make_reader_config(ccid::ExchangeLevel::ShortApdu);
    };
    auto plain = parse_virtual_spec("file=/a/b:c.txt", loader);
    ASSERT_TRUE(plain) << plain.error();
    EXPECT_EQ(seen, "/a/b:c.txt");
    EXPECT_EQ(plain->front().card, Card::T1);
    auto with_card = parse_virtual_spec("file=/a/b:c.txt:t0", loader);
    ASSERT_TRUE(with_card);
    EXPECT_EQ(seen, "/a/b:c.txt");
    EXPECT_EQ(with_card->front().card, Card::T0);
    EXPECT_FALSE(parse_virtual_spec("file=", loader));
}

TEST(VirtualSpec, SocketNamesAServedReader) {
    auto specs = parse_virtual_spec("socket=/run/sim/reader.sock,tpdu:t0");
    ASSERT_TRUE(specs) << specs.error();
    ASSERT_EQ(specs->size(), 2u);
    EXPECT_TRUE((*specs)[0].served());
    EXPECT_EQ((*specs)[0].socket_path, "/run/sim/reader.sock");
    EXPECT_EQ((*specs)[0].spec, "socket=/run/sim/reader.sock");
    EXPECT_FALSE((*specs)[1].served());
    // The whole rest is the path, ':' included (the server has the card).
    auto colon = parse_virtual_spec("socket=rel/a:t1");
    ASSERT_TRUE(colon);
    EXPECT_EQ(colon->front().socket_path, "rel/a:t1");
    auto env = parse_virtual_readers_env("socket=/tmp/s");
    ASSERT_TRUE(env);
    EXPECT_TRUE(env->front().served());
    auto empty = parse_virtual_spec("socket=");
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().find("socket="), std::string::npos);
}

TEST(VirtualSpec, CountsAndErrors) {
    auto three = parse_virtual_readers_env("3");
    ASSERT_TRUE(three);
    EXPECT_EQ(three->size(), 3u);
    EXPECT_TRUE(parse_virtual_readers_env("")->empty());
    EXPECT_TRUE(parse_virtual_readers_env("0")->empty());
    EXPECT_FALSE(parse_virtual_readers_env("17"));
    auto unknown = parse_virtual_spec("usb");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().find("socket=PATH"), std::string::npos) << unknown.error();
    EXPECT_FALSE(parse_virtual_spec("tpdu:t2"));
    EXPECT_FALSE(parse_virtual_spec("tpdu,,short"));
    EXPECT_FALSE(parse_virtual_spec(""));
    std::string many;
    for (std::size_t i = 0; i <= kMaxVirtualReaders; ++i) many += i ? ",socket=/s" : "socket=/s";
    EXPECT_FALSE(parse_virtual_spec(many));
}

TEST(VirtualSpec, CardNamesRoundTrip) {
    for (Card c : {Card::None, Card::T0, Card::T1, Card::T1ClassC}) {
        const auto back = virtual_card_named(virtual_card_name(c));
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, c);
    }
    EXPECT_FALSE(virtual_card_named("T1"));
    EXPECT_FALSE(make_virtual_card(Card::None));
    EXPECT_TRUE(make_virtual_card(Card::T0));
}

}  // namespace
}  // namespace ccidkit::sim

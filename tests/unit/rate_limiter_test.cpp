// Per-client rate limits: exact counts per address and per network, fixed windows that
// reset, and two reactors that see each other's events through the exchange.
#include "rate_limiter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <thread>

namespace mxring::engine {
namespace {

ClientKey v4(const char* text) {
  sockaddr_storage address{};
  auto& a4 = reinterpret_cast<sockaddr_in&>(address);
  a4.sin_family = AF_INET;
  inet_pton(AF_INET, text, &a4.sin_addr);
  return ClientKey{mapped_octets(address)};
}

ClientKey v6(const char* text) {
  sockaddr_storage address{};
  auto& a6 = reinterpret_cast<sockaddr_in6&>(address);
  a6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, text, &a6.sin6_addr);
  return ClientKey{mapped_octets(address)};
}

RateLimits limits(RateLimits::Kind kind, std::uint32_t per_address, std::uint32_t per_network) {
  RateLimits l;
  l.per_address[kind] = per_address;
  l.per_network[kind] = per_network;
  l.window = std::chrono::seconds(60);
  return l;
}

TEST(RateLimiterTest, AnAddressGetsExactlyItsCountPerWindow) {
  RateLimiter limiter(limits(RateLimits::messages, 3, 0), 0, nullptr);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.admit(RateLimits::messages, v4("192.0.2.1"), 100));
  EXPECT_FALSE(limiter.admit(RateLimits::messages, v4("192.0.2.1"), 159));
  EXPECT_TRUE(limiter.admit(RateLimits::messages, v4("192.0.2.2"), 159));    // its own count
  EXPECT_TRUE(limiter.admit(RateLimits::recipients, v4("192.0.2.1"), 159));  // not limited
  EXPECT_TRUE(limiter.admit(RateLimits::messages, v4("192.0.2.1"), 160));    // a new window
}

TEST(RateLimiterTest, NetworksAreSlash24AndSlash64) {
  RateLimiter limiter(limits(RateLimits::connections, 0, 2), 0, nullptr);
  EXPECT_TRUE(limiter.admit(RateLimits::connections, v4("198.51.100.1"), 10));
  EXPECT_TRUE(limiter.admit(RateLimits::connections, v4("198.51.100.200"), 10));
  EXPECT_FALSE(limiter.admit(RateLimits::connections, v4("198.51.100.7"), 10));
  EXPECT_TRUE(limiter.admit(RateLimits::connections, v4("198.51.101.7"), 10));
  EXPECT_TRUE(limiter.admit(RateLimits::connections, v6("2001:db8:1:2::1"), 10));
  EXPECT_TRUE(limiter.admit(RateLimits::connections, v6("2001:db8:1:2:ffff::9"), 10));
  EXPECT_FALSE(limiter.admit(RateLimits::connections, v6("2001:db8:1:2::77"), 10));
  EXPECT_TRUE(limiter.admit(RateLimits::connections, v6("2001:db8:1:3::1"), 10));
}

// Memory is bounded under a spread of clients (an IPv6 sender has more /64s than memory):
// past the cap a new client goes uncounted (admitted, and counted as untracked) while those
// held keep their limits; once their windows end, the room is theirs again.
TEST(RateLimiterTest, HoldsAtMostItsCapAndFailsOpenPastIt) {
  OwnedCounter untracked;
  RateLimiter limiter(limits(RateLimits::messages, 1, 1), 0, nullptr, &untracked, 4);
  for (int i = 0; i < 4; ++i) {
    const auto client = v6(("2001:db8:0:" + std::to_string(i) + "::1").c_str());
    EXPECT_TRUE(limiter.admit(RateLimits::messages, client, 100));
    EXPECT_FALSE(limiter.admit(RateLimits::messages, client, 100));  // held: limited
  }
  EXPECT_EQ(untracked.get(), 0u);
  for (int i = 4; i < 1000; ++i) {
    const auto client = v6(("2001:db8:0:" + std::to_string(i) + "::1").c_str());
    EXPECT_TRUE(limiter.admit(RateLimits::messages, client, 101));
    EXPECT_TRUE(limiter.admit(RateLimits::messages, client, 101));  // not held: not limited
  }
  EXPECT_LE(limiter.tracked(), 8u);      // four addresses, four networks
  EXPECT_EQ(untracked.get(), 2u * 996);  // once an event, full as both its tables were
  EXPECT_FALSE(limiter.admit(RateLimits::messages, v6("2001:db8:0:1::1"), 120));  // still held
  // A window later the old ones are swept when room is wanted: the new client is held.
  const auto later = v6("2001:db8:0:5000::1");
  EXPECT_TRUE(limiter.admit(RateLimits::messages, later, 200));
  EXPECT_FALSE(limiter.admit(RateLimits::messages, later, 200));
}

TEST(RateLimiterTest, NetworkOfMasksOnlyTheHostBits) {
  EXPECT_EQ(network_of(v4("203.0.113.77"), 24, 64), v4("203.0.113.0"));
  EXPECT_EQ(network_of(v4("203.0.113.77"), 16, 64), v4("203.0.0.0"));
  EXPECT_EQ(network_of(v6("2001:db8:aa:bb:cc::1"), 24, 48), v6("2001:db8:aa::"));
}

TEST(RateLimiterTest, ReactorsShareTheirCountsThroughTheExchange) {
  RateExchange exchange(2);
  const auto l = limits(RateLimits::connections, 4, 0);
  RateLimiter a(l, 0, &exchange), b(l, 1, &exchange);
  const auto client = v4("192.0.2.9");
  EXPECT_TRUE(a.admit(RateLimits::connections, client, 5));
  EXPECT_TRUE(a.admit(RateLimits::connections, client, 5));
  b.take_peer_events(5);
  EXPECT_TRUE(b.admit(RateLimits::connections, client, 5));
  EXPECT_TRUE(b.admit(RateLimits::connections, client, 5));
  EXPECT_FALSE(b.admit(RateLimits::connections, client, 5));
  a.take_peer_events(5);
  EXPECT_FALSE(a.admit(RateLimits::connections, client, 5));
}

// A reactor that takes a peer's events only after their window ended (it was idle) must not
// start a new window with them: the client that waited out the window is admitted again.
TEST(RateLimiterTest, PeerEventsTakenLateCountInTheirOwnWindow) {
  RateExchange exchange(2);
  const auto l = limits(RateLimits::connections, 2, 0);
  RateLimiter a(l, 0, &exchange), b(l, 1, &exchange);
  const auto client = v4("192.0.2.11");
  EXPECT_TRUE(a.admit(RateLimits::connections, client, 100));
  EXPECT_TRUE(a.admit(RateLimits::connections, client, 100));
  EXPECT_FALSE(a.admit(RateLimits::connections, client, 101));
  b.take_peer_events(161);
  EXPECT_TRUE(b.admit(RateLimits::connections, client, 161));
  EXPECT_TRUE(b.admit(RateLimits::connections, client, 161));
  EXPECT_FALSE(b.admit(RateLimits::connections, client, 161));
}

// Two threads admitting for the same client: together they never admit more than the limit
// plus what was in flight, and once both have taken each other's events they agree.
TEST(RateLimiterTest, ConcurrentReactorsConverge) {
  RateExchange exchange(2);
  const auto l = limits(RateLimits::messages, 1000, 0);
  RateLimiter a(l, 0, &exchange), b(l, 1, &exchange);
  const auto client = v4("192.0.2.10");
  std::atomic<int> admitted{0};
  const auto run = [&](RateLimiter& limiter) {
    for (int i = 0; i < 600; ++i) {
      limiter.take_peer_events(1);
      if (limiter.admit(RateLimits::messages, client, 1)) ++admitted;
    }
  };
  std::thread ta([&] { run(a); });
  std::thread tb([&] { run(b); });
  ta.join();
  tb.join();
  a.take_peer_events(1);
  b.take_peer_events(1);
  EXPECT_GE(admitted.load(), 1000);
  EXPECT_FALSE(a.admit(RateLimits::messages, client, 1));
  EXPECT_FALSE(b.admit(RateLimits::messages, client, 1));
}

}  // namespace
}  // namespace mxring::engine

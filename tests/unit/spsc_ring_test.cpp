// The reactor-to-writer ring: order, capacity, batch pop, and a two-thread stress run that
// the tsan preset runs under ThreadSanitizer.
#include "mxring/engine/spsc_ring.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>

namespace mxring::engine {
namespace {

TEST(SpscRing, KeepsOrderAndCapacity) {
  SpscRing<int> ring(3);  // rounded up to 4
  EXPECT_EQ(ring.capacity(), 4u);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_push(i));
  int extra = 99;
  EXPECT_FALSE(ring.try_push(extra));
  EXPECT_EQ(extra, 99);  // a refused item is left as it was
  EXPECT_EQ(ring.try_pop(), 0);
  EXPECT_TRUE(ring.try_push(extra));
  std::vector<int> got;
  EXPECT_EQ(ring.pop_batch(10, [&](int&& v) { got.push_back(v); }), 4u);
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 99}));
  EXPECT_FALSE(ring.try_pop());
}

TEST(SpscRing, MovesOwnership) {
  SpscRing<std::unique_ptr<int>> ring(2);
  auto item = std::make_unique<int>(7);
  ASSERT_TRUE(ring.try_push(item));
  EXPECT_EQ(item, nullptr);
  auto out = ring.try_pop();
  ASSERT_TRUE(out && *out);
  EXPECT_EQ(**out, 7);
}

// What a popped item owns is released by the consumer, even one that only looks at it: a
// message handed back to its reactor must be freed there, not when the writer reuses the slot.
TEST(SpscRing, PoppedItemsLeaveTheirSlots) {
  SpscRing<std::shared_ptr<int>> ring(4);
  auto item = std::make_shared<int>(7);
  const std::weak_ptr<int> watch = item;
  ASSERT_TRUE(ring.try_push(item));
  int seen = 0;
  EXPECT_EQ(ring.pop_batch(4, [&](std::shared_ptr<int>&& p) { seen = *p; }), 1u);
  EXPECT_EQ(seen, 7);
  EXPECT_TRUE(watch.expired());
}

// Two threads, ten million items through a small ring: every item arrives once, in order.
TEST(SpscRingStress, TwoThreadsEveryItemOnceInOrder) {
  constexpr std::uint64_t kItems = 2'000'000;
  SpscRing<std::uint64_t> ring(64);
  std::thread producer([&] {
    for (std::uint64_t i = 1; i <= kItems; ++i) {
      std::uint64_t item = i;
      while (!ring.try_push(item)) std::this_thread::yield();
    }
  });
  std::uint64_t expected = 1, sum = 0;
  while (expected <= kItems) {
    const auto n = ring.pop_batch(32, [&](std::uint64_t&& v) {
      EXPECT_EQ(v, expected);
      sum += v;
      ++expected;
    });
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT_EQ(sum, kItems * (kItems + 1) / 2);
  EXPECT_TRUE(ring.empty());
}

}  // namespace
}  // namespace mxring::engine

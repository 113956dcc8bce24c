// The reactor's timer wheel: due entries fire once, later laps wait, rescheduling works.
#include "timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

namespace mxring::engine {
namespace {

TEST(TimerWheel, FiresEachEntryOnceWhenDue) {
  TimerWheel wheel(1000, 8);
  wheel.schedule(1, 1002);
  wheel.schedule(2, 1005);
  wheel.schedule(3, 1002 + 8 * 3);  // three laps later, same slot as key 1
  std::vector<std::uint64_t> fired;
  const auto collect = [&](std::uint64_t key) { fired.push_back(key); };
  wheel.advance(1001, collect);
  EXPECT_TRUE(fired.empty());
  wheel.advance(1002, collect);
  EXPECT_EQ(fired, std::vector<std::uint64_t>{1});
  wheel.advance(1010, collect);
  EXPECT_EQ(fired, (std::vector<std::uint64_t>{1, 2}));
  wheel.advance(1026, collect);
  EXPECT_EQ(fired, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, RescheduleFromTheCallbackFiresLater) {
  TimerWheel wheel(0, 16);
  wheel.schedule(9, 1);
  int calls = 0;
  wheel.advance(1, [&](std::uint64_t key) {
    ++calls;
    wheel.schedule(key, 0);  // in the past: next second, not a lap later
  });
  EXPECT_EQ(calls, 1);
  wheel.advance(2, [&](std::uint64_t) { ++calls; });
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace mxring::engine

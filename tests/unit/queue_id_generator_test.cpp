// Queue ids (DESIGN.md: unique across restarts, nodes and reactors): their form, what sets
// them apart, and what happens once a run has used every counter value of its prefix.
#include "mxring/engine/queue_id_generator.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mxring::engine {
namespace {

constexpr std::uint64_t kStart = 1'796'000'000'000'000;  // microseconds, late 2026

std::string first_id(std::uint64_t start_us, std::uint16_t node, std::uint16_t reactor) {
  return std::string(QueueIdGenerator(start_us, node, reactor).next().view());
}

TEST(QueueIdGenerator, PrefixOfStartNodeReactorThenACounterInBase32) {
  QueueIdGenerator ids(kStart, 3, 1);
  const std::string first(ids.next().view());
  ASSERT_EQ(first.size(), 16u);  // 11 digits of time, 2 of node, 2 of reactor, counter "0"
  EXPECT_EQ(first.substr(11, 4), "0301");
  EXPECT_EQ(first.back(), '0');
  for (int i = 1; i < 32; ++i) ids.next();
  const std::string thirty_second(ids.next().view());
  EXPECT_EQ(thirty_second.substr(0, 15), first.substr(0, 15));
  EXPECT_EQ(thirty_second.substr(15), "10");  // 32 in base 32
  EXPECT_EQ(first.find_first_not_of("0123456789abcdefghijklmnopqrstuv"), std::string::npos);
}

TEST(QueueIdGenerator, StartNodeAndReactorEachSetIdsApart) {
  const std::set<std::string> firsts{first_id(kStart, 0, 0), first_id(kStart + 1, 0, 0),
                                     first_id(kStart, 1, 0), first_id(kStart, 0, 1)};
  EXPECT_EQ(firsts.size(), 4u);
  // Ids of a later run sort after an earlier run's (same length, fixed-width time first).
  EXPECT_LT(first_id(kStart, 5, 5), first_id(kStart + 1, 0, 0));
}

TEST(QueueIdGenerator, ARunThatUsedEveryCounterValueGoesOnWithTheNextMicrosecond) {
  QueueIdGenerator ids(kStart, 2, 7, kQueueIdsPerPrefix - 2);
  const std::string second_last(ids.next().view());
  const std::string last(ids.next().view());
  const std::string after(ids.next().view());
  const std::string prefix = first_id(kStart, 2, 7).substr(0, 15);
  EXPECT_EQ(second_last, prefix + "vvvvvvvu");
  EXPECT_EQ(last, prefix + "vvvvvvvv");
  EXPECT_LE(last.size(), 23u);  // what a QueueId holds whole
  // Not the first prefix again (whose counter would repeat), but a run one microsecond later.
  EXPECT_EQ(after, first_id(kStart + 1, 2, 7));
  EXPECT_NE(after.substr(0, 15), prefix);
  EXPECT_EQ(std::string(ids.next().view()), after.substr(0, 15) + "1");
}

}  // namespace
}  // namespace mxring::engine

// mxring bench --size: the sizes and weights it takes, and what it refuses with a word.
#include <gtest/gtest.h>

#include "message_source.h"

namespace mxring::tools::bench {
namespace {

using Sizes = std::vector<std::pair<std::size_t, double>>;

TEST(MessageSizes, OctetsKibibytesMebibytesAndWeights) {
  std::string error;
  EXPECT_EQ(parse_sizes("1024", error), (Sizes{{1024, 1}}));
  EXPECT_EQ(parse_sizes("10k,1M", error), (Sizes{{10240, 1}, {1 << 20, 1}}));
  EXPECT_EQ(parse_sizes("1k:8,100k:2", error), (Sizes{{1024, 8}, {102400, 2}}));
  EXPECT_EQ(parse_sizes("1024m", error), (Sizes{{kMaxMessageSize, 1}}));
}

// Each message is generated whole in memory: --size 99999999999 never finished, and "-5"
// read as 2^64 - 5.
TEST(MessageSizes, NothingOutsideTwoHundredOctetsToOneGibibyte) {
  for (const char* refused : {"199", "0", "-5", "+1k", " 1k", "1025m", "99999999999",
                              "18014398509481984k", "1x", "k", "", "1k:0", "1k:-1", "1k:x"}) {
    std::string error;
    EXPECT_EQ(parse_sizes(refused, error), std::nullopt) << refused;
    EXPECT_FALSE(error.empty()) << refused;
  }
}

}  // namespace
}  // namespace mxring::tools::bench

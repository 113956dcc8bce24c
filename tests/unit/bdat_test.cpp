// BdatChunk: counted framing (RFC 3030 §2) takes exactly the announced octets, wherever the
// reads split, and leaves the next command untouched.
#include "mxring/parser/bdat.h"

#include <gtest/gtest.h>

#include <string>

#include "splits.h"

namespace mxring::parser {
namespace {

TEST(Bdat, TakesExactlyTheChunkAtEverySplit) {
  using namespace std::string_literals;
  const std::string chunk = "Subject: x\r\n.\r\n\0binary\n.\r"s;  // nothing in it ends anything
  ASSERT_EQ(chunk.size(), 25u);
  const std::string input = chunk + "BDAT 0 LAST\r\n";
  for (const auto& pieces : test::all_splits(input)) {
    BdatChunk bdat(chunk.size());
    std::string taken, rest;
    for (auto piece : pieces) {
      const auto part = bdat.take(piece);
      taken.append(part.data(), part.size());
      rest.append(piece.substr(part.size()));
    }
    ASSERT_TRUE(bdat.complete());
    ASSERT_EQ(taken, chunk) << test::describe(pieces);
    ASSERT_EQ(rest, "BDAT 0 LAST\r\n");
  }
}

TEST(Bdat, ZeroSizeChunkIsCompleteAtOnce) {
  BdatChunk bdat(0);
  EXPECT_TRUE(bdat.complete());
  EXPECT_TRUE(bdat.take(std::string_view("QUIT\r\n")).empty());
}

TEST(Bdat, RemainingCountsDown) {
  BdatChunk bdat(10);
  EXPECT_EQ(bdat.take(std::string_view("abcd")).size(), 4u);
  EXPECT_EQ(bdat.remaining(), 6u);
  EXPECT_FALSE(bdat.complete());
}

}  // namespace
}  // namespace mxring::parser

// ContentChecker: each flag, a CRLF split across pieces, and random content fed whole and in
// random pieces against the octet-at-a-time reference, through whole blocks and tails alike.
#include "mxring/parser/content_checker.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "impl_param.h"

namespace mxring::parser {
namespace {

std::span<const char> bytes(std::string_view s) {
  return {s.data(), s.size()};
}

class ContentCheckerTest : public ::testing::TestWithParam<Impl> {
 protected:
  DataFlags checked(const std::vector<std::string_view>& pieces, DataLimits limits = {}) {
    ContentChecker checker(limits, GetParam());
    for (const auto piece : pieces) checker.scan(bytes(piece));
    return checker.final_flags();
  }
};

DataFlags only(bool DataFlags::*flag) {
  DataFlags flags;
  flags.*flag = true;
  return flags;
}

std::string padded(std::string_view middle) {
  // Long enough that the middle lies in a whole 64-octet block, not the tail.
  return std::string(30, 'x') + std::string(middle) + std::string(70, 'y') + "\r\n";
}

TEST_P(ContentCheckerTest, TextLinesRaiseNothing) {
  EXPECT_EQ(checked({}), DataFlags{});
  EXPECT_EQ(checked({"Subject: hi\r\n\r\nbody\r\n"}), DataFlags{});
  // BDAT counts octets: a dot line or DATA's terminator is content like any other.
  EXPECT_EQ(checked({padded("\r\n.\r\n..\r\n")}), DataFlags{});
  // A message need not end on a line end.
  EXPECT_EQ(checked({"no line end"}), DataFlags{});
}

TEST_P(ContentCheckerTest, EachFlag) {
  for (const auto& text : {std::string("a\nb"), padded("\n")})
    EXPECT_EQ(checked({text}), only(&DataFlags::bare_lf)) << text;
  for (const auto& text : {std::string("a\rb"), padded("\r"), std::string("\r\r\n")})
    EXPECT_EQ(checked({text}), only(&DataFlags::bare_cr)) << text;
  for (const auto& text : {std::string("a\0b", 3), padded(std::string_view("\0", 1))})
    EXPECT_EQ(checked({text}), only(&DataFlags::nul));
  for (const auto& text : {std::string("caf\xc3\xa9"), padded("\xff")})
    EXPECT_EQ(checked({text}), only(&DataFlags::eight_bit));
}

TEST_P(ContentCheckerTest, LineLengthExcludesItsCrlf) {
  const std::string at_limit(998, 'a'), over(999, 'a');
  EXPECT_EQ(checked({at_limit + "\r\n" + at_limit}), DataFlags{});
  EXPECT_EQ(checked({over + "\r\n"}), only(&DataFlags::long_line));
  EXPECT_EQ(checked({at_limit + "\r\n", over}), only(&DataFlags::long_line));
  // A bare CR is an octet of its line.
  auto flags = checked({std::string(997, 'a') + "\rb\r\n"});
  EXPECT_TRUE(flags.bare_cr && flags.long_line);
  EXPECT_EQ(checked({"abcd\r\nabcd"}, DataLimits{.max_line = 4}), DataFlags{});
  EXPECT_EQ(checked({"abcde\r\n"}, DataLimits{.max_line = 4}), only(&DataFlags::long_line));
}

TEST_P(ContentCheckerTest, CrlfSplitAcrossPiecesIsOneLineEnd) {
  ContentChecker checker({}, GetParam());
  checker.scan(bytes("line\r"));
  // Not bare yet: the next chunk may start with its LF ...
  EXPECT_EQ(checker.flags(), DataFlags{});
  // ... unless nothing comes.
  EXPECT_EQ(checker.final_flags(), only(&DataFlags::bare_cr));
  checker.scan(bytes("\nnext\r\n"));
  EXPECT_EQ(checker.final_flags(), DataFlags{});
  checker.scan(bytes("\r"));
  checker.scan(bytes("x"));
  EXPECT_EQ(checker.flags(), only(&DataFlags::bare_cr));
  checker.reset();
  EXPECT_EQ(checker.final_flags(), DataFlags{});
}

// Random content over the octets that matter, whole and in random pieces (64-octet blocks
// and shorter tails, cut anywhere), against the reference; with a short line limit so long
// lines come and go.
TEST_P(ContentCheckerTest, MatchesTheReferenceInAnyPieces) {
  std::mt19937 random(20261201);
  const std::string alphabet("aaaaaaaa\r\r\n\n\0\x80.", 15);
  for (int round = 0; round < 20000; ++round) {
    std::string content(random() % 400, 'a');
    const bool sparse = round % 2 == 0;  // long plain runs between the octets that matter
    for (auto& c : content)
      if (!sparse || random() % 12 == 0) c = alphabet[random() % alphabet.size()];
    const DataLimits limits{.max_line = 1 + static_cast<std::uint32_t>(random() % 90)};
    const auto expected = check_content_scalar(bytes(content), limits);
    ASSERT_EQ(checked({content}, limits), expected) << "round " << round << ", whole";
    std::vector<std::string_view> pieces;
    for (std::size_t at = 0; at < content.size();) {
      const std::size_t n = std::min<std::size_t>(content.size() - at, random() % 150);
      pieces.push_back(std::string_view(content).substr(at, n));
      at += n;
    }
    ASSERT_EQ(checked(pieces, limits), expected) << "round " << round;
  }
}

MXRING_INSTANTIATE_FOR_EVERY_IMPL(ContentCheckerTest);

}  // namespace
}  // namespace mxring::parser

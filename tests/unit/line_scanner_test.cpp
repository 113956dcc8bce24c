// LineScanner: framing, bare CR/LF, the cap before the line end, resumption; every case for
// every implementation, whole, byte by byte and at every split, ending at a guard page.
#include "mxring/parser/line_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "guarded_buffer.h"
#include "impl_param.h"
#include "mxring/parser/padding.h"
#include "splits.h"

namespace mxring::parser {
namespace {

struct FramedLine {
  std::string text;  // empty for a line that was too long (its bytes were dropped)
  bool bare_cr, bare_lf, too_long;
  bool operator==(const FramedLine&) const = default;
};

// Feeds pieces the way a connection does: keep the unfinished line, drop what was consumed.
// Returns the lines and the most bytes ever held for one unfinished line.
std::pair<std::vector<FramedLine>, std::size_t> frame(Impl impl, const test::Pieces& pieces,
                                                      std::uint32_t cap) {
  static test::GuardedBuffer buf(1 << 22);
  LineScanner scanner(cap, impl);
  std::vector<FramedLine> lines;
  std::string held;
  std::size_t most_held = 0;
  for (auto piece : pieces) {
    held.append(piece);
    while (!held.empty()) {
      const auto view = buf.place(held, kPadding);
      const auto line = scanner.next(view);
      if (line.status == LineStatus::need_more) break;
      if (line.status == LineStatus::complete)
        lines.push_back({line.too_long ? "" : held.substr(0, line.length), line.bare_cr,
                         line.bare_lf, line.too_long});
      held.erase(0, line.consumed);
    }
    most_held = std::max(most_held, held.size());
  }
  return {lines, most_held};
}

class LineScannerTest : public ::testing::TestWithParam<Impl> {
 protected:
  void expect(std::string_view input, const std::vector<FramedLine>& lines,
              std::uint32_t cap = 512) {
    for (const auto& pieces : test::all_splits(input)) {
      SCOPED_TRACE(test::describe(pieces));
      ASSERT_EQ(frame(GetParam(), pieces, cap).first, lines);
    }
  }
};

TEST_P(LineScannerTest, FramesPipelinedCommands) {
  expect("EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n",
         {{"EHLO client.example", false, false, false},
          {"MAIL FROM:<a@example.com>", false, false, false},
          {"RCPT TO:<b@example.com>", false, false, false}});
}

TEST_P(LineScannerTest, EmptyLineIsALine) {
  expect("\r\n", {{"", false, false, false}});
}

TEST_P(LineScannerTest, BareLfIsNotALineEnd) {
  // The RCPT after the bare LF must not become a command of its own.
  expect("MAIL FROM:<a@x>\nRCPT TO:<b@y>\r\nNOOP\r\n",
         {{"MAIL FROM:<a@x>\nRCPT TO:<b@y>", false, true, false}, {"NOOP", false, false, false}});
}

TEST_P(LineScannerTest, BareCrIsNotALineEnd) {
  expect("NOOP\rQUIT\r\n", {{"NOOP\rQUIT", true, false, false}});
  expect("NOOP\r\r\n", {{"NOOP\r", true, false, false}});
}

TEST_P(LineScannerTest, UnfinishedLineIsHeld) {
  expect("MAIL FROM:<a@b>\r", {});
}

TEST_P(LineScannerTest, CapCountsTheCrLf) {
  const std::string fits(510, 'x');
  const std::string over(511, 'x');
  expect(fits + "\r\n", {{fits, false, false, false}});
  expect(over + "\r\nNOOP\r\n", {{"", false, false, true}, {"NOOP", false, false, false}});
}

TEST_P(LineScannerTest, TenMebibytesWithoutLineEndNeverGrowsTheHeldLine) {
  const std::string chunk(4096, 'A');
  test::Pieces pieces(2560, chunk);  // 10 MiB
  pieces.push_back("\r\nNOOP\r\n");
  const auto [lines, most_held] = frame(GetParam(), pieces, 512);
  ASSERT_EQ(lines,
            (std::vector<FramedLine>{{"", false, false, true}, {"NOOP", false, false, false}}));
  EXPECT_LE(most_held, 512u + chunk.size());
}

TEST_P(LineScannerTest, TooLongLineEndingSplitAcrossCrLfIsFound) {
  const std::string over(600, 'y');
  expect(over + "\r\nQUIT\r\n", {{"", false, false, true}, {"QUIT", false, false, false}});
}

TEST_P(LineScannerTest, GrowingLineIsNotRescanned) {
  // A trickled line: each call scans only the new octet. Count the octets the kernel is asked
  // to look at through a line whose breaks we know.
  LineScanner scanner(4096, GetParam());
  test::GuardedBuffer buf(8192);
  std::string held;
  for (int i = 0; i < 1000; ++i) {
    held += 'z';
    ASSERT_EQ(scanner.next(buf.place(held, kPadding)).status, LineStatus::need_more);
    ASSERT_EQ(scanner.resume_offset(), held.size());
  }
  held += "\r";
  ASSERT_EQ(scanner.next(buf.place(held, kPadding)).status, LineStatus::need_more);
  EXPECT_EQ(scanner.resume_offset(), 1000u);  // parked on the CR until its LF arrives
  held += "\n";
  const auto line = scanner.next(buf.place(held, kPadding));
  EXPECT_TRUE(line.valid());
  EXPECT_EQ(line.length, 1000u);
}

MXRING_INSTANTIATE_FOR_EVERY_IMPL(LineScannerTest);

}  // namespace
}  // namespace mxring::parser

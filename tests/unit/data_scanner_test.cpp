// DataScanner: every case, for every implementation, fed whole, byte by byte and split at every
// point, with inputs and outputs ending at guard pages.
#include "mxring/parser/data_scanner.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "guarded_buffer.h"
#include "impl_param.h"
#include "mxring/parser/padding.h"
#include "splits.h"

namespace mxring::parser {
namespace {

using test::GuardedBuffer;

struct Outcome {
  std::string message;
  std::size_t consumed = 0;
  bool ended = false;
  DataFlags flags;
};

// Short CRLF lines, at least `octets` of them: the plain text the SIMD kernels take in runs.
std::string plain_lines(std::size_t octets) {
  std::string lines;
  while (lines.size() < octets) lines += "a short line of text\r\n";
  return lines;
}

Outcome scan_pieces(Impl impl, const test::Pieces& pieces, DataLimits limits = {}) {
  static GuardedBuffer in_buf(1 << 22), out_buf(1 << 22);
  DataScanner scanner(limits, impl);
  Outcome outcome;
  for (auto piece : pieces) {
    const auto in = in_buf.place(piece, kPadding);
    char* out = out_buf.room(in.size() + kPadding);
    const auto r = scanner.scan(in, out);
    EXPECT_LE(r.consumed, in.size());
    outcome.message.append(out, r.written);
    outcome.consumed += r.consumed;
    // Unstuffing only shrinks; a CR held back from the previous piece may come out now.
    EXPECT_LE(outcome.message.size(), outcome.consumed);
    if (r.ended) {
      outcome.ended = true;
      break;
    }
  }
  outcome.flags = scanner.flags();
  EXPECT_EQ(scanner.ended(), outcome.ended);
  return outcome;
}

class DataScannerTest : public ::testing::TestWithParam<Impl> {
 protected:
  // Every split of `input` must yield the same message, end position and flags.
  void expect(std::string_view input, std::string_view message, std::size_t consumed, bool ended,
              DataFlags flags = {}, DataLimits limits = {}) {
    for (const auto& pieces : test::all_splits(input)) {
      const auto got = scan_pieces(GetParam(), pieces, limits);
      SCOPED_TRACE(test::describe(pieces));
      ASSERT_EQ(got.message, message);
      ASSERT_EQ(got.consumed, consumed);
      ASSERT_EQ(got.ended, ended);
      ASSERT_EQ(got.flags, flags);
    }
  }
};

TEST_P(DataScannerTest, EndsAtCrLfDotCrLf) {
  expect("Subject: hi\r\n\r\nbody\r\n.\r\n", "Subject: hi\r\n\r\nbody\r\n", 24, true);
}

TEST_P(DataScannerTest, DotRightAfterDataEndsAnEmptyMessage) {
  expect(".\r\n", "", 3, true);
}

TEST_P(DataScannerTest, BytesAfterTheTerminatorAreNotConsumed) {
  expect("a\r\n.\r\nQUIT\r\n", "a\r\n", 6, true);
}

TEST_P(DataScannerTest, RemovesDotStuffing) {
  expect("..hidden\r\n...two\r\nx.y\r\n.\r\n", ".hidden\r\n..two\r\nx.y\r\n", 26, true);
}

TEST_P(DataScannerTest, StuffedDotLineIsNotTheTerminator) {
  expect("..\r\n.\r\n", ".\r\n", 7, true);
}

TEST_P(DataScannerTest, WithoutTerminatorNothingEnds) {
  expect("line one\r\nline two\r\n", "line one\r\nline two\r\n", 20, false);
}

// The six SMTP smuggling variants (CVE-2023-51764/51765/51766, CVE-2024-27305): none ends
// data; the real terminator later does, and the message is flagged for refusal.
struct Smuggle {
  const char* name;
  const char* fake_end;
  bool bare_cr, bare_lf;
};

TEST_P(DataScannerTest, NoSmugglingVariantEndsData) {
  const Smuggle variants[] = {
      {"LF.LF", "\n.\n", false, true},     {"LF.CRLF", "\n.\r\n", false, true},
      {"CRLF.LF", "\r\n.\n", false, true}, {"CR.CR", "\r.\r", true, false},
      {"CR.CRLF", "\r.\r\n", true, false}, {"CRLF.CR", "\r\n.\rX", true, false},
  };
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    const std::string smuggled = std::string("Subject: a") + v.fake_end + "MAIL FROM:<evil@x>\r\n";
    const std::string input = smuggled + ".\r\n";
    for (const auto& pieces : test::all_splits(input)) {
      const auto got = scan_pieces(GetParam(), pieces);
      ASSERT_TRUE(got.ended);
      ASSERT_EQ(got.consumed, input.size()) << test::describe(pieces);
      ASSERT_EQ(got.flags.bare_cr, v.bare_cr);
      ASSERT_EQ(got.flags.bare_lf, v.bare_lf);
      ASSERT_NE(got.message.find("MAIL FROM:<evil@x>"), std::string::npos);
    }
  }
}

TEST_P(DataScannerTest, FlagsNulAndEightBit) {
  using namespace std::string_literals;
  expect("a\0b\r\n.\r\n"s, "a\0b\r\n"s, 8, true, {.nul = true});
  expect("caf\xc3\xa9\r\n.\r\n", "caf\xc3\xa9\r\n", 10, true, {.eight_bit = true});
}

TEST_P(DataScannerTest, LongLineLimitIsNinetyEightOctetsExactly) {
  const std::string ok(998, 'x');
  const std::string over(999, 'x');
  for (const auto& [line, flagged] : {std::pair{ok, false}, std::pair{over, true}}) {
    const std::string input = "a\r\n" + line + "\r\nb\r\n.\r\n";
    const auto got = scan_pieces(GetParam(), {input});
    EXPECT_EQ(got.flags.long_line, flagged) << line.size();
    EXPECT_EQ(got.message, "a\r\n" + line + "\r\nb\r\n");  // stored intact, never cut
  }
}

// The AVX-512 kernel takes runs of two-block steps and follows line lengths only coarsely
// inside them; a line of 999 octets must still be found wherever it falls among the steps.
TEST_P(DataScannerTest, LongLineAmongShortOnesIsFoundAtEveryOffset) {
  const std::string short_lines = plain_lines(600);
  for (std::size_t shift = 0; shift < 130; ++shift) {
    for (const auto& [length, flagged] : {std::pair{998, false}, std::pair{999, true}}) {
      // Followed by a plain line, and by a stuffed one (the pair with the line's end then
      // also holds a stuffing dot).
      for (const std::string next : {"plain", ".stuffed"}) {
        const std::string before =
            std::string(shift, 'p') + "\r\n" + short_lines + std::string(length, 'x') + "\r\n";
        const std::string after = next + "\r\n" + short_lines;
        const std::string body = before + after;
        const std::string wire = before + (next[0] == '.' ? "." : "") + after + ".\r\n";
        const auto got = scan_pieces(GetParam(), {wire});
        ASSERT_TRUE(got.ended);
        EXPECT_EQ(got.flags.long_line, flagged)
            << "shift " << shift << ", length " << length << ", then " << next;
        EXPECT_EQ(got.message, body);
      }
    }
  }
  const std::string body = "\r\n" + short_lines + std::string(999, 'x') + "\r\n" + short_lines;
  expect(body + ".\r\n", body, body.size() + 3, true, {.long_line = true});
}

// A stuffing dot, and the terminator's dot, at every position of a 64-octet block, the last
// included (where the octet that follows lies in the next block).
TEST_P(DataScannerTest, LineStartDotsAtEveryBlockOffset) {
  const std::string short_lines = plain_lines(300);
  for (std::size_t shift = 0; shift < 200; ++shift) {
    const std::string lead = std::string(shift, 'p') + "\r\n";
    const std::string wire = lead + "..dot line\r\n" + short_lines + ".\r\n";
    const std::string message = lead + ".dot line\r\n" + short_lines;
    const auto got = scan_pieces(GetParam(), {wire});
    ASSERT_TRUE(got.ended) << "shift " << shift;
    EXPECT_EQ(got.consumed, wire.size()) << "shift " << shift;
    EXPECT_EQ(got.message, message) << "shift " << shift;
  }
}

// Every octet that keeps a block from the fast path, at every position of a 64-octet block
// among plain lines (where the AVX-512 kernels check whole runs of blocks at once): the
// result must be the scalar reference's.
TEST_P(DataScannerTest, IrregularOctetsAtEveryBlockOffsetMatchTheReference) {
  const std::string short_lines = plain_lines(300);
  using namespace std::string_literals;
  for (const auto& odd :
       {"a\rb"s, "a\nb"s, "a\r\rb"s, "a\0b"s, "caf\xc3\xa9"s, "\x8a\x8d\xae"s, "a\x8d\nb"s,
        "a\r\x8a"s, "\x8a.b"s, "..dot\r\na\rb"s, "..dot\r\na\nb"s, "..dot\r\n..\r\n.\rb"s,
        "..dot\r\na\x8d\nb"s, "a\0b\x8d\nc"s, "..dot\r\na\x8a.b"s}) {
    for (std::size_t shift = 0; shift < 200; ++shift) {
      const std::string wire =
          std::string(shift, 'p') + "\r\n" + short_lines + odd + "\r\n" + short_lines + ".\r\n";
      const auto want = scan_pieces(Impl::scalar, {wire});
      const auto got = scan_pieces(GetParam(), {wire});
      ASSERT_EQ(got.message, want.message) << "shift " << shift;
      ASSERT_EQ(got.consumed, want.consumed) << "shift " << shift;
      ASSERT_EQ(got.ended, want.ended) << "shift " << shift;
      ASSERT_TRUE(got.flags == want.flags) << "shift " << shift;
    }
  }
}

// A line opened by a stuffing dot and exactly at the limit without it, cut anywhere by the
// end of a scan call: the dot never counts, whichever path took it.
TEST_P(DataScannerTest, StuffedLineAtTheLimitAcrossScanCalls) {
  const std::string short_lines = plain_lines(400);
  for (const auto& [length, flagged] : {std::pair{998, false}, std::pair{999, true}}) {
    const std::string line = "." + std::string(length - 1, 'x');  // `length` octets unstuffed
    const std::string wire = short_lines + "." + line + "\r\n" + short_lines + ".\r\n";
    for (std::size_t cut = short_lines.size(); cut < short_lines.size() + line.size(); cut += 7) {
      const auto got = scan_pieces(
          GetParam(), {std::string_view(wire).substr(0, cut), std::string_view(wire).substr(cut)});
      ASSERT_TRUE(got.ended) << "cut " << cut;
      EXPECT_EQ(got.flags.long_line, flagged) << "cut " << cut << ", length " << length;
      EXPECT_EQ(got.message, short_lines + line + "\r\n" + short_lines);
    }
  }
}

// Regression (found by data_stream_fuzz): with a limit under 64 octets, a long line lying
// wholly inside one 64-byte block was not checked by the SIMD fast path.
TEST_P(DataScannerTest, SmallLineLimitChecksEveryLineInsideABlock) {
  const std::string input = "\r\n" + std::string(45, 'z') + "\r\nshort\r\n.\r\n";
  expect(input, input.substr(0, input.size() - 3), input.size(), true, {.long_line = true},
         {.max_line = 40});
  const std::string fits = "\r\n" + std::string(40, 'z') + "\r\nshort\r\n.\r\n";
  expect(fits, fits.substr(0, fits.size() - 3), fits.size(), true, {}, {.max_line = 40});
}

TEST_P(DataScannerTest, StuffingDotDoesNotCountTowardLineLength) {
  const std::string input = "." + std::string(998, '.') + "\r\n.\r\n";
  const auto got = scan_pieces(GetParam(), {input});
  EXPECT_FALSE(got.flags.long_line);
  EXPECT_EQ(got.message, std::string(998, '.') + "\r\n");
}

TEST_P(DataScannerTest, TenMebibytesWithoutLineEndStreamsInBoundedMemory) {
  const std::string chunk(64 * 1024, 'A');
  DataScanner scanner({}, GetParam());
  GuardedBuffer in_buf(chunk.size() + kPadding), out_buf(chunk.size() + kPadding);
  std::size_t written = 0;
  for (int i = 0; i < 160; ++i) {
    const auto r =
        scanner.scan(in_buf.place(chunk, kPadding), out_buf.room(chunk.size() + kPadding));
    ASSERT_FALSE(r.ended);
    ASSERT_EQ(r.consumed, chunk.size());
    written += r.written;
  }
  EXPECT_EQ(written, 160u * chunk.size());
  EXPECT_TRUE(scanner.flags().long_line);
  const auto end = scanner.scan(in_buf.place("\r\n.\r\n", kPadding), out_buf.room(5 + kPadding));
  EXPECT_TRUE(end.ended);
}

TEST_P(DataScannerTest, ScanAfterEndConsumesNothing) {
  DataScanner scanner({}, GetParam());
  GuardedBuffer in_buf(4096), out_buf(4096);
  ASSERT_TRUE(scanner.scan(in_buf.place(".\r\n", kPadding), out_buf.room(3 + kPadding)).ended);
  const auto again = scanner.scan(in_buf.place("more", kPadding), out_buf.room(4 + kPadding));
  EXPECT_EQ(again.consumed, 0u);
  EXPECT_TRUE(again.ended);
  scanner.reset();
  EXPECT_FALSE(scanner.ended());
}

// Random streams rich in the octets that matter, compared with the scalar reference over
// random splits: the deterministic cousin of the differential fuzz target.
TEST_P(DataScannerTest, MatchesScalarReferenceOnRandomStreams) {
  using namespace std::string_literals;
  std::mt19937_64 rng(20261128);
  const std::string tokens[] = {"\r"s, "\n"s,   "."s,     "\0"s,     "a"s,         "\x80"s,
                                " "s,  "\r\n"s, "\r\n."s, "\r\n.."s, "\r\n.\r\n"s, "hello"s};
  for (int round = 0; round < 400; ++round) {
    std::string input;
    const auto length = rng() % 300;
    for (std::size_t i = 0; i < length; ++i) input += tokens[rng() % std::size(tokens)];
    test::Pieces pieces;
    for (std::size_t at = 0; at < input.size();) {
      const auto n = std::min<std::size_t>(input.size() - at, 1 + rng() % 200);
      pieces.push_back(std::string_view(input).substr(at, n));
      at += n;
    }
    const auto reference = scan_pieces(Impl::scalar, {input});
    const auto got = scan_pieces(GetParam(), pieces);
    ASSERT_EQ(got.message, reference.message) << round;
    ASSERT_EQ(got.consumed, reference.consumed) << round;
    ASSERT_EQ(got.ended, reference.ended) << round;
    ASSERT_EQ(got.flags, reference.flags) << round;
  }
}

TEST_P(DataScannerTest, UsesTheImplementationItWasGiven) {
  const auto before = scans_served(GetParam());
  DataScanner scanner({}, GetParam());
  GuardedBuffer in_buf(4096), out_buf(4096);
  scanner.scan(in_buf.place("x\r\n.\r\n", kPadding), out_buf.room(6 + kPadding));
  EXPECT_EQ(scans_served(GetParam()), before + 1);
  EXPECT_EQ(scanner.impl(), GetParam());
}

MXRING_INSTANTIATE_FOR_EVERY_IMPL(DataScannerTest);

}  // namespace
}  // namespace mxring::parser

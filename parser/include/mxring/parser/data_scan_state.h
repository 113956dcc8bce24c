// The DATA scanner's carried state, and the masks the BDAT content checker works on: plain data
// with no library includes, so the per-ISA kernels (compiled with -mavx2/-mavx512bw) share them
// without pulling in standard-library code.
#pragma once

#include <cstdint>

namespace mxring::parser {

// Where in a line the previous octet left the scanner.
enum DataPhase : std::uint8_t {
  kMidLine = 0,
  kLineStart = 1,   // after CRLF (or at the start of DATA): a dot here is special
  kSeenCr = 2,      // a CR that may start a CRLF
  kDotAtStart = 3,  // a line-start dot: stuffing, or the start of the terminator
  kDotCr = 4,       // ".\r" at a line start: LF next ends the message
  kEnded = 5,
};

enum DataFlagBit : std::uint8_t {
  kFlagBareCr = 1,
  kFlagBareLf = 2,
  kFlagNul = 4,
  kFlagLongLine = 8,
  kFlagEightBit = 16,
};

struct DataScanState {
  std::uint8_t phase = kLineStart;  // ".\r\n" right after the DATA line ends an empty message
  std::uint8_t flags = 0;
  std::uint32_t line_length = 0;        // octets since the line start, a pending CR included
  std::uint32_t long_line_after = 999;  // max_line + 1: a longer count flags a long line
};

// One 64-octet block of content, a bit an octet: its CRs, LFs, NULs and octets above 127
// (ContentChecker, made by each kernel table's content_masks).
struct ContentMasks {
  std::uint64_t cr, lf, nul, high;
};

}  // namespace mxring::parser

// DATA scanning: the scalar reference state machine, and the driver that runs a SIMD kernel
// over plain blocks and hands every other block to the reference.
#include "mxring/parser/data_scanner.h"

#include <algorithm>

#include "impl_internal.h"

namespace mxring::parser {
namespace {

// One octet in the middle of a line (also the octet after a removed stuffing dot).
inline void mid_line(DataScanState& s, char c, char* out, std::size_t& w) {
  out[w++] = c;
  if (s.line_length <= s.long_line_after) ++s.line_length;
  if (s.line_length > s.long_line_after) s.flags |= kFlagLongLine;
  if (c == '\r') {
    s.phase = kSeenCr;
    return;
  }
  s.phase = kMidLine;
  if (c == '\n') s.flags |= kFlagBareLf;  // content, never a line end
  if (c == '\0') s.flags |= kFlagNul;
  if (static_cast<unsigned char>(c) & 0x80) s.flags |= kFlagEightBit;
}

}  // namespace

// A state machine over the phases in data_scan_state.h; one switch per octet on purpose: this
// is the reference every faster path is tested against.
DataScan scan_data_scalar(DataScanState& s, std::span<const char> in, char* out) {
  std::size_t w = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    switch (s.phase) {
      case kLineStart:
        if (c == '.') {
          s.phase = kDotAtStart;
        } else {
          mid_line(s, c, out, w);
        }
        break;
      case kMidLine:
        mid_line(s, c, out, w);
        break;
      case kSeenCr:
        if (c == '\n') {
          out[w++] = c;
          s.line_length = 0;
          s.phase = kLineStart;
        } else {
          s.flags |= kFlagBareCr;
          mid_line(s, c, out, w);
        }
        break;
      case kDotAtStart:
        if (c == '\r') {
          s.phase = kDotCr;
        } else {
          mid_line(s, c, out, w);  // the stuffing dot is dropped (RFC 5321 §4.5.2)
        }
        break;
      case kDotCr:
        if (c == '\n') {
          s.phase = kEnded;
          return {i + 1, w, true};
        }
        s.flags |= kFlagBareCr;  // ".\r" then not LF: drop the dot, keep the bare CR
        mid_line(s, '\r', out, w);
        s.phase = kMidLine;
        mid_line(s, c, out, w);
        break;
      default:
        return {i, w, true};
    }
  }
  return {in.size(), w, s.phase == kEnded};
}

DataScanner::DataScanner(DataLimits limits, Impl impl) : impl_(impl) {
  state_.long_line_after = limits.max_line + 1;
}

DataScan DataScanner::scan(std::span<const char> in, char* out) {
  detail::count_scan(impl_);
  if (impl_ == Impl::scalar || state_.phase == kEnded) return scan_data_scalar(state_, in, out);
  const auto& kernels = detail::kernels_for(impl_);
  DataScan total;
  while (total.consumed < in.size()) {
    const auto plain = kernels.plain_data_blocks(state_, in.data() + total.consumed,
                                                 in.size() - total.consumed, out + total.written);
    total.consumed += plain.consumed;
    total.written += plain.written;
    if (total.consumed == in.size()) break;
    const std::size_t block = std::min<std::size_t>(64, in.size() - total.consumed);
    const auto slow =
        scan_data_scalar(state_, in.subspan(total.consumed, block), out + total.written);
    total.consumed += slow.consumed;
    total.written += slow.written;
    if (slow.ended) break;
  }
  total.ended = state_.phase == kEnded;
  return total;
}

DataFlags DataScanner::flags() const {
  const auto f = state_.flags;
  return {.bare_cr = (f & kFlagBareCr) != 0,
          .bare_lf = (f & kFlagBareLf) != 0,
          .nul = (f & kFlagNul) != 0,
          .long_line = (f & kFlagLongLine) != 0,
          .eight_bit = (f & kFlagEightBit) != 0};
}

bool DataScanner::ended() const {
  return state_.phase == kEnded;
}

void DataScanner::reset() {
  const auto long_line_after = state_.long_line_after;
  state_ = DataScanState{};
  state_.long_line_after = long_line_after;
}

}  // namespace mxring::parser

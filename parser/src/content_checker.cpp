// Sixty-four octets at a time, as bit masks (one bit an octet) of CR, LF, NUL and octets above
// 127 made by the SIMD kernels (kernels/plain_blocks.h): CR and LF pair up by shifting one mask
// against the other, and only line ends (about one in seventy octets of text) are visited one
// by one, to measure their lines.
#include "mxring/parser/content_checker.h"

#include <algorithm>
#include <cstring>

#include "impl_internal.h"

namespace mxring::parser {

void ContentChecker::scan(std::span<const char> in) {
  const auto& kernels = detail::kernels_for(impl_);
  constexpr std::size_t kRun = 16;  // blocks whose masks one kernel call makes
  ContentMasks run[kRun];
  std::size_t at = 0;
  while (in.size() - at >= 64) {
    const std::size_t blocks = std::min(kRun, (in.size() - at) / 64);
    kernels.content_masks(in.data() + at, blocks, run);
    for (std::size_t b = 0; b < blocks; ++b) block(run[b], 64);
    at += 64 * blocks;
  }
  if (at < in.size()) {
    char last[64];
    std::memset(last, 'x', sizeof last);  // filler that sets no bit in any mask
    std::memcpy(last, in.data() + at, in.size() - at);
    kernels.content_masks(last, 1, run);
    block(run[0], static_cast<unsigned>(in.size() - at));
  }
}

void ContentChecker::block(const ContentMasks& m, unsigned count) {
  if (m.nul != 0) flags_.nul = true;
  if (m.high != 0) flags_.eight_bit = true;
  // Bit i: octet i - 1 is a CR (bit 0: the last octet of the previous block).
  const std::uint64_t after_cr = m.cr << 1 | static_cast<std::uint64_t>(pending_cr_);
  if ((m.lf & ~after_cr) != 0) flags_.bare_lf = true;
  // A CR with no LF after it; the block's last octet waits for the next one.
  const std::uint64_t last = std::uint64_t{1} << (count - 1);
  if ((m.cr & ~(m.lf >> 1) & ~last) != 0 || (pending_cr_ && (m.lf & 1) == 0)) flags_.bare_cr = true;
  pending_cr_ = (m.cr & last) != 0;
  // Each line that ends here: its octets before the LF, the CR of a CRLF not counted.
  for (std::uint64_t ends = m.lf; ends != 0; ends &= ends - 1) {
    const auto i = static_cast<unsigned>(__builtin_ctzll(ends));
    const std::uint64_t end = scanned_ + i;
    if (end - line_start_ - ((after_cr >> i) & 1) > max_line_) flags_.long_line = true;
    line_start_ = end + 1;
  }
  scanned_ += count;
}

// The flags with the open line (no LF yet) measured too; its trailing CR counts as one of its
// octets only once it is known to be bare.
DataFlags ContentChecker::with_open_line(bool cr_is_bare) const {
  auto flags = flags_;
  const std::uint64_t octets = scanned_ - line_start_ - (pending_cr_ && !cr_is_bare ? 1 : 0);
  if (octets > max_line_) flags.long_line = true;
  if (pending_cr_ && cr_is_bare) flags.bare_cr = true;
  return flags;
}

DataFlags ContentChecker::flags() const {
  return with_open_line(false);
}

DataFlags ContentChecker::final_flags() const {
  return with_open_line(true);
}

DataFlags check_content_scalar(std::span<const char> in, DataLimits limits) {
  DataFlags flags;
  std::uint64_t line = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') {
      line = 0;
      ++i;
      continue;
    }
    if (c == '\n') {
      flags.bare_lf = true;
      line = 0;
      continue;
    }
    if (c == '\r') flags.bare_cr = true;
    if (c == '\0') flags.nul = true;
    if (static_cast<unsigned char>(c) > 127) flags.eight_bit = true;
    if (++line > limits.max_line) flags.long_line = true;
  }
  return flags;
}

}  // namespace mxring::parser

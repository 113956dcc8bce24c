// The scalar kernel table: no block fast path, so every octet goes through the reference.
#include <cstddef>
#include <cstdint>

#include "kernels.h"

namespace mxring::parser::kernels {
namespace {

Progress no_plain_blocks(DataScanState&, const char*, std::size_t, char*) {
  return {0, 0};
}

std::size_t find_line_break_scalar(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] == '\r' || p[i] == '\n') return i;
  return n;
}

void content_masks_scalar(const char* in, std::size_t blocks, ContentMasks* out) {
  for (std::size_t b = 0; b < blocks; ++b) {
    ContentMasks m{0, 0, 0, 0};
    for (unsigned i = 0; i < 64; ++i) {
      const auto c = static_cast<unsigned char>(in[64 * b + i]);
      const auto bit = static_cast<std::uint64_t>(1) << i;
      if (c == '\r') m.cr |= bit;
      if (c == '\n') m.lf |= bit;
      if (c == 0) m.nul |= bit;
      if (c > 127) m.high |= bit;
    }
    out[b] = m;
  }
}

}  // namespace

const Kernels kScalar = {&no_plain_blocks, &find_line_break_scalar, nullptr, &content_masks_scalar};

}  // namespace mxring::parser::kernels

// The scalar kernel table: no block fast path, so every octet goes through the reference.
#include <cstddef>

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

}  // namespace

const Kernels kScalar = {&no_plain_blocks, &find_line_break_scalar, nullptr};

}  // namespace mxring::parser::kernels

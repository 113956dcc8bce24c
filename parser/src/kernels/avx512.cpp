// AVX-512BW kernels: one 64-byte register per block, comparisons straight into mask registers.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels.h"

namespace {

struct Block {
  __m512i bytes;

  static Block load(const char* p) { return {_mm512_loadu_si512(p)}; }
  std::uint64_t eq(char c) const { return _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(c)); }
  std::uint64_t high_bits() const { return _mm512_movepi8_mask(bytes); }
  void store(char* p) const { _mm512_storeu_si512(p, bytes); }
};

#include "plain_blocks.h"

}  // namespace

namespace mxring::parser::kernels {
const Kernels kAvx512 = {&plain_data_blocks, &find_line_break};
}

// AVX-512BW kernels: one 64-byte register per block, comparisons straight into mask registers.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels.h"

namespace {

struct Block {
  static std::uint32_t trailing_zeros(std::uint64_t x) {
    return static_cast<std::uint32_t>(_tzcnt_u64(x));
  }
  __m512i bytes;

  static Block load(const char* p) { return {_mm512_loadu_si512(p)}; }
  static Block zero() { return {_mm512_setzero_si512()}; }
  static Block ones() { return {_mm512_set1_epi8(-1)}; }
  void accumulate(Block& any_or, Block& all_min) const {
    any_or.bytes = _mm512_or_si512(any_or.bytes, bytes);
    all_min.bytes = _mm512_min_epu8(all_min.bytes, bytes);
  }
  std::uint64_t eq(char c) const { return _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(c)); }
  std::uint64_t high_bits() const { return _mm512_movepi8_mask(bytes); }
  void store(char* p) const { _mm512_storeu_si512(p, bytes); }
};

#include "plain_blocks.h"

}  // namespace

namespace mxring::parser::kernels {
const Kernels kAvx512 = {&plain_data_blocks, &find_line_break};
}

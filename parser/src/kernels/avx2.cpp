// AVX2 kernels: two 32-byte lanes per 64-byte block. Built with -mavx2 -mbmi -mbmi2 -mlzcnt.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels.h"

namespace {

struct Block {
  static constexpr bool kChecksPairs = false;  // PlainScan::take_pair() instead
  static std::uint32_t trailing_zeros(std::uint64_t x) {
    return static_cast<std::uint32_t>(_tzcnt_u64(x));
  }
  __m256i lo, hi;

  static Block load(const char* p) {
    return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32))};
  }
  static Block zero() { return {_mm256_setzero_si256(), _mm256_setzero_si256()}; }
  static Block ones() { return {_mm256_set1_epi8(-1), _mm256_set1_epi8(-1)}; }
  void accumulate(Block& any_or, Block& all_min) const {
    any_or.lo = _mm256_or_si256(any_or.lo, lo);
    any_or.hi = _mm256_or_si256(any_or.hi, hi);
    all_min.lo = _mm256_min_epu8(all_min.lo, lo);
    all_min.hi = _mm256_min_epu8(all_min.hi, hi);
  }
  static std::uint64_t join(int low, int high) {
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(low)) |
           static_cast<std::uint64_t>(static_cast<std::uint32_t>(high)) << 32;
  }
  std::uint64_t eq(char c) const {
    const __m256i needle = _mm256_set1_epi8(c);
    return join(_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, needle)),
                _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, needle)));
  }
  std::uint64_t high_bits() const {
    return join(_mm256_movemask_epi8(lo), _mm256_movemask_epi8(hi));
  }
  void store(char* p) const {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 32), hi);
  }
};

#include "plain_blocks.h"

}  // namespace

namespace mxring::parser::kernels {
const Kernels kAvx2 = {&plain_data_blocks, &find_line_break, nullptr, &content_masks};
}

// SSE2 kernels (the x86-64 baseline): four 16-byte lanes per 64-byte block.
#include <emmintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels.h"

namespace {

struct Block {
  static constexpr bool kChecksPairs = false;  // PlainScan::take_pair() instead
  static std::uint32_t trailing_zeros(std::uint64_t x) {
    return x ? static_cast<std::uint32_t>(__builtin_ctzll(x)) : 64;
  }
  __m128i lanes[4];

  static Block load(const char* p) {
    Block b;
    for (int i = 0; i < 4; ++i)
      b.lanes[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    return b;
  }
  static Block zero() { return splat(_mm_setzero_si128()); }
  static Block ones() { return splat(_mm_set1_epi8(-1)); }
  static Block splat(__m128i v) { return {{v, v, v, v}}; }
  void accumulate(Block& any_or, Block& all_min) const {
    for (int i = 0; i < 4; ++i) {
      any_or.lanes[i] = _mm_or_si128(any_or.lanes[i], lanes[i]);
      all_min.lanes[i] = _mm_min_epu8(all_min.lanes[i], lanes[i]);
    }
  }
  static std::uint64_t join(int m0, int m1, int m2, int m3) {
    return static_cast<std::uint64_t>(static_cast<std::uint16_t>(m0)) |
           static_cast<std::uint64_t>(static_cast<std::uint16_t>(m1)) << 16 |
           static_cast<std::uint64_t>(static_cast<std::uint16_t>(m2)) << 32 |
           static_cast<std::uint64_t>(static_cast<std::uint16_t>(m3)) << 48;
  }
  std::uint64_t eq(char c) const {
    const __m128i needle = _mm_set1_epi8(c);
    return join(_mm_movemask_epi8(_mm_cmpeq_epi8(lanes[0], needle)),
                _mm_movemask_epi8(_mm_cmpeq_epi8(lanes[1], needle)),
                _mm_movemask_epi8(_mm_cmpeq_epi8(lanes[2], needle)),
                _mm_movemask_epi8(_mm_cmpeq_epi8(lanes[3], needle)));
  }
  std::uint64_t high_bits() const {
    return join(_mm_movemask_epi8(lanes[0]), _mm_movemask_epi8(lanes[1]),
                _mm_movemask_epi8(lanes[2]), _mm_movemask_epi8(lanes[3]));
  }
  void store(char* p) const {
    for (int i = 0; i < 4; ++i) _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 16 * i), lanes[i]);
  }
};

#include "plain_blocks.h"

}  // namespace

namespace mxring::parser::kernels {
const Kernels kSse = {&plain_data_blocks, &find_line_break, nullptr, &content_masks};
}

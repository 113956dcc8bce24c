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

  // Comparisons here write mask registers, and moving masks to general registers for the
  // CRLF and dot checks costs more than the checks: PlainScan::take_plain_run() asks
  // plain_pair() instead, which works on whole registers and tests once per pair.
  static constexpr bool kChecksPairs = true;
  static Block splat(char c) { return {_mm512_set1_epi8(c)}; }
  // accumulate() for two blocks at once: three operations instead of four.
  static void accumulate_pair(const Block& a, const Block& b, Block& any_or, Block& all_min) {
    any_or.bytes = _mm512_ternarylogic_epi64(any_or.bytes, a.bytes, b.bytes, 0xfe);  // a | b | c
    all_min.bytes = _mm512_min_epu8(all_min.bytes, _mm512_min_epu8(a.bytes, b.bytes));
  }

  // Octet i is the stream octet before now[i]: before's last octet, then now[0..62].
  static __m512i previous_octets(const Block& before, const Block& now) {
    const __m512i lanes_back = _mm512_maskz_alignr_epi32(0xffff, now.bytes, before.bytes, 12);
    return _mm512_alignr_epi8(now.bytes, lanes_back, 15);
  }

  // a and b are consecutive blocks and `before` the one before a (only its last octet counts).
  // True when every LF follows a CR, every CR precedes an LF (b's last octet aside: its LF
  // comes later), and no dot follows an LF.
  static bool plain_pair(const Block& before, const Block& a, const Block& b) {
    const __m512i one = _mm512_set1_epi8(1), lf = _mm512_set1_epi8('\n');
    const __m512i cr = _mm512_set1_epi8('\r'), dot = _mm512_set1_epi8('.');
    const __m512i after_a = previous_octets(before, a), after_b = previous_octets(a, b);
    // 0 or 1 per octet (0: is an LF; 0: follows a CR); they differ at a bare LF or bare CR.
    const auto unpaired = [&](__m512i octets, __m512i after) {
      return _mm512_xor_si512(_mm512_min_epu8(_mm512_xor_si512(octets, lf), one),
                              _mm512_min_epu8(_mm512_xor_si512(after, cr), one));
    };
    const __m512i pairing = _mm512_or_si512(unpaired(a.bytes, after_a), unpaired(b.bytes, after_b));
    // Zero where a dot follows an LF: (octet ^ '.') | (octet before ^ LF), ternary-logic 0xF6.
    const auto line_dot = [&](__m512i octets, __m512i after) {
      return _mm512_ternarylogic_epi64(_mm512_xor_si512(octets, dot), after, lf, 0xF6);
    };
    const __m512i dots = _mm512_min_epu8(line_dot(a.bytes, after_a), line_dot(b.bytes, after_b));
    return (_mm512_test_epi8_mask(pairing, pairing) | _mm512_testn_epi8_mask(dots, dots)) == 0;
  }
};

#include "plain_blocks.h"

}  // namespace

namespace mxring::parser::kernels {
const Kernels kAvx512 = {&plain_data_blocks, &find_line_break};
}

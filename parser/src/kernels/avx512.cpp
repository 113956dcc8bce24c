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
  // plain() instead, which works on whole registers and tests once for several blocks.
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

  // What can keep `now` from being plain, given the block before it (only its last octet
  // counts): `unpaired` is non-zero at a bare LF or at a CR not followed by an LF (now's last
  // octet aside: its LF comes later); `line_dots` is zero where a dot follows an LF.
  struct Faults {
    __m512i unpaired, line_dots;
  };
  static Faults faults(const Block& before, const Block& now) {
    const __m512i one = _mm512_set1_epi8(1), lf = _mm512_set1_epi8('\n');
    const __m512i cr = _mm512_set1_epi8('\r'), dot = _mm512_set1_epi8('.');
    const __m512i after = previous_octets(before, now);
    // 0 or 1 per octet (0: is an LF; 0: follows a CR); they differ at a bare LF or bare CR.
    const __m512i is_lf = _mm512_min_epu8(_mm512_xor_si512(now.bytes, lf), one);
    const __m512i after_cr = _mm512_min_epu8(_mm512_xor_si512(after, cr), one);
    // (octet ^ '.') | (octet before ^ LF): ternary-logic 0xF6 is A | (B ^ C).
    return {_mm512_xor_si512(is_lf, after_cr),
            _mm512_ternarylogic_epi64(_mm512_xor_si512(now.bytes, dot), after, lf, 0xF6)};
  }

  // True when the consecutive blocks after `before` are all plain: every LF follows a CR, every
  // CR precedes an LF (the last block's last octet aside), and no dot follows an LF. One test
  // for them all.
  template <class... Rest>
  static bool plain(const Block& before, const Block& first, const Rest&... rest) {
    Faults all = faults(before, first);
    const Block* previous = &first;
    const auto add = [&](const Block& block) {
      const Faults f = faults(*previous, block);
      all.unpaired = _mm512_or_si512(all.unpaired, f.unpaired);
      all.line_dots = _mm512_min_epu8(all.line_dots, f.line_dots);
      previous = &block;
    };
    (add(rest), ...);
    // kortest: both masks tested in one instruction, no move to a general register.
    return _kortestz_mask64_u8(_mm512_test_epi8_mask(all.unpaired, all.unpaired),
                               _mm512_testn_epi8_mask(all.line_dots, all.line_dots)) != 0;
  }
};

#include "plain_blocks.h"

}  // namespace

namespace mxring::parser::kernels {
const Kernels kAvx512 = {&plain_data_blocks, &find_line_break};
}

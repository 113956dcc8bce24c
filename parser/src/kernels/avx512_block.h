// The AVX-512 block shared by the AVX-512BW and AVX-512 VBMI kernels (avx512.cpp,
// avx512_vbmi.cpp): one 64-byte register per block, comparisons straight into mask registers.
// Included inside each kernel file's anonymous namespace, after <immintrin.h> and
// "kernels.h"; kClassTable (VBMI only) picks how plain() checks a run of blocks.

template <bool kClassTable>
struct Avx512Block {
  using Block = Avx512Block;
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

  // What the run carries from one pair to the next besides the block before it: with the class
  // table, that block's classes, so each block is looked up once.
  struct Carry {
    __m512i classes;
  };
  static Carry carry(const Block& before) {
    if constexpr (kClassTable) return {true_classes(before, classes(before))};
    return {_mm512_setzero_si512()};
  }

  // True when blocks a and b (after `before`) are plain: every LF follows a CR, every CR
  // precedes an LF (b's last octet aside: its LF comes later), and no dot follows an LF. Then
  // folds into any_or and all_min what the NUL and 8-bit flags need of a and b: nothing, when
  // the class table vouched for them (it holds neither).
  static bool plain(const Block& before, Carry& carry, const Block& a, const Block& b,
                    Block& any_or, Block& all_min) {
    if constexpr (kClassTable) {
      const __m512i of_a = classes(a), of_b = classes(b);
      const __m512i faults_a = class_faults(carry.classes, of_a);
      const __m512i faults_b = class_faults(of_a, of_b);
      carry.classes = of_b;
      // The table sees seven bits, so an octet from 0x80 has the class of its low seven (0x8D
      // passes for a CR and would hide a bare LF after it): a pair holding one is decided by
      // byte arithmetic instead. Ternary logic 0xA8 is (A | B) & C, 0xFE is A | B | C.
      const __m512i high =
          _mm512_ternarylogic_epi64(a.bytes, b.bytes, _mm512_set1_epi8(-128), 0xA8);
      const __m512i any = _mm512_ternarylogic_epi64(faults_a, faults_b, high, 0xFE);
      if (_mm512_test_epi8_mask(any, any) == 0) [[likely]]
        return true;
      if (_mm512_test_epi8_mask(high, high) == 0) return false;
      carry.classes = true_classes(b, of_b);
    }
    const Faults fa = faults(before, a), fb = faults(a, b);
    const __m512i unpaired = _mm512_or_si512(fa.unpaired, fb.unpaired);
    const __m512i line_dots = _mm512_min_epu8(fa.line_dots, fb.line_dots);
    // kortest: both masks tested in one instruction, no move to a general register.
    if (!_kortestz_mask64_u8(_mm512_test_epi8_mask(unpaired, unpaired),
                             _mm512_testn_epi8_mask(line_dots, line_dots)))
      return false;
    accumulate_pair(a, b, any_or, all_min);
    return true;
  }

  // The classes of `block` with none for octets from 0x80, which the table takes for their low
  // seven bits: a block's last octet is the next pair's octet before, and a 0x8D taken for a CR
  // there would hide a bare LF after it.
  static __m512i true_classes(const Block& block, __m512i of_block) {
    return _mm512_maskz_mov_epi8(_mm512_testn_epi8_mask(block.bytes, _mm512_set1_epi8(-128)),
                                 of_block);
  }

  // With AVX-512 VBMI, one table lookup (vpermi2b) per block classifies every octet at once:
  // bit 0 a dot, bit 1 an LF, bit 2 a CR, bit 3 a NUL (octets 0x00-0x3F from the table,
  // listed from 0x3F down; 0x40-0x7F none).
  static __m512i classes(const Block& block) {
    const __m512i table =
        _mm512_set_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        4, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8);
    return _mm512_permutex2var_epi8(table, block.bytes, _mm512_setzero_si512());
  }

  // The classes of the octets before (vpermt2b, one octet over) shifted right by one put
  // "after a CR" in bit 1 and "after an LF" in bit 0, so one ternary-logic operation finds every
  // fault: bit 1, an LF not after a CR or a CR not before an LF (XOR); bit 0, a dot after an
  // LF (AND); bit 3, a NUL (XOR with a bit no class has). Non-zero octets are faults.
  static __m512i class_faults(__m512i before, __m512i now) {
    // Octet i of the result: octet i - 1 of now, octet 63 of before for i = 0.
    const __m512i one_over =
        _mm512_set_epi8(126, 125, 124, 123, 122, 121, 120, 119, 118, 117, 116, 115, 114, 113, 112,
                        111, 110, 109, 108, 107, 106, 105, 104, 103, 102, 101, 100, 99, 98, 97, 96,
                        95, 94, 93, 92, 91, 90, 89, 88, 87, 86, 85, 84, 83, 82, 81, 80, 79, 78, 77,
                        76, 75, 74, 73, 72, 71, 70, 69, 68, 67, 66, 65, 64, 63);
    const __m512i after = _mm512_srli_epi16(_mm512_permutex2var_epi8(before, one_over, now), 1);
    // Ternary logic 0x68: C ? A ^ B : A & B, with C marking bits 1 and 3 of every octet.
    return _mm512_ternarylogic_epi64(now, after, _mm512_set1_epi8(0x0A), 0x68);
  }
};

// Written once, compiled per instruction set: the fast path of the DATA and line scanners over
// 64-byte blocks. An ISA file defines `Block` and includes this inside an anonymous namespace,
// so each copy has internal linkage and its own target flags.
//
// Needs: <cstddef>, <cstdint>, "kernels.h"; `Block` with
//   static Block load(const char*);   static Block zero();   static Block ones();
//   std::uint64_t eq(char) const;     std::uint64_t high_bits() const;
//   void store(char*) const;          void accumulate(Block& any_or, Block& all_min) const;
//   static std::uint32_t trailing_zeros(std::uint64_t);  // 64 for zero

inline std::uint64_t valid_mask(std::size_t available) {
  return available >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << available) - 1;
}

// 64 for zero; ISAs with BMI1 do it without a branch (Block::trailing_zeros).
inline std::uint32_t count_trailing_zeros(std::uint64_t x) {
  return Block::trailing_zeros(x);
}

// True when two consecutive line ends in `lf` are more than `limit` octets apart (a stuffing
// dot after the first does not count).
inline bool has_long_inner_line(std::uint64_t lf, std::uint64_t stuffed, std::uint32_t limit) {
  auto previous = count_trailing_zeros(lf);
  for (lf &= lf - 1; lf; lf &= lf - 1) {
    const auto at = count_trailing_zeros(lf);
    const auto dot = static_cast<std::uint32_t>((stuffed >> (previous + 1)) & 1);
    if (at - previous - 1 - dot > limit) return true;
    previous = at;
  }
  return false;
}

struct PlainScan {
  const char* in;
  std::size_t size;  // octets at `in`
  char* out;
  std::size_t pos = 0;      // input octets taken
  std::size_t removed = 0;  // stuffing dots dropped: output lags input by this much
  std::uint64_t cr_in;      // the previous octet was a CR
  std::uint64_t line_start_in;
  // Position (relative to `in`, possibly negative) of the octet before the current line's
  // first counted octet: the last LF, moved one on past a stuffing dot. A line is long when
  // its next LF lies more than long_line_after octets beyond it.
  std::int64_t line_origin;
  std::int64_t long_line_after;
  bool long_line = false;

  // Takes the block at `pos` if it is plain: every LF after a CR (possibly the previous
  // block's last octet), every CR before an LF (a CR in the last octet stays pending), and
  // every line-start dot a stuffing dot, followed by something other than CR (in this block,
  // or for its last octet, by the input's next octet). Anything else (bare CR/LF, the
  // terminator, ".\r", a dot ending the input) is left to the scalar reference, so all
  // implementations agree by construction. `used` is 64 except for the input's last block.
  inline bool take(const Block& block, std::uint64_t valid, std::size_t used) {
    const std::uint64_t cr = block.eq('\r') & valid;
    const std::uint64_t lf = block.eq('\n') & valid;
    const std::uint64_t last = std::uint64_t{1} << (used - 1);
    const std::uint64_t dots = block.eq('.') & ((lf << 1) | line_start_in) & valid;
    std::uint64_t before_cr = cr >> 1;
    // A dot in the last octet is followed by the input's next octet, unknown at its end.
    if ((dots & last) && !(pos + used < size && in[pos + used] != '\r')) [[unlikely]]
      before_cr |= last;
    const std::uint64_t needs_scalar = ((((cr << 1) | cr_in) & valid) ^ lf) | (dots & before_cr);
    if (needs_scalar) return false;

    const auto base = static_cast<std::int64_t>(pos);
    removed += static_cast<std::size_t>(store_without(block, pos, dots, out + pos - removed));
    if (dots & 1) [[unlikely]]
      ++line_origin;  // the current line starts with a stuffing dot
    // The line running into this block ends at its first LF (or goes on past it). It can be
    // too long only if the block's last octet is already too far from the line's origin:
    // with ordinary text that is never, and the exact check is skipped.
    if (base + static_cast<std::int64_t>(used) - 1 - line_origin > long_line_after) [[unlikely]] {
      const std::uint32_t first_lf = count_trailing_zeros(lf);
      const auto first_end = static_cast<std::int64_t>(first_lf < used ? first_lf : used);
      long_line |= base + first_end - 1 - line_origin > long_line_after;
    }
    const auto last_end = base + 63 - __builtin_clzll(lf | 1);
    line_origin = lf ? last_end : line_origin;
    if (dots && lf) [[unlikely]] {  // a stuffing dot opening the line after the last LF
      const auto after_last = last_end - base + 1;
      if (after_last < 64 && ((dots >> after_last) & 1)) ++line_origin;
    }
    // Lines wholly inside the block are under 64 octets: they matter for small limits only.
    if (long_line_after < 63) [[unlikely]]
      long_line |= has_long_inner_line(lf, dots, static_cast<std::uint32_t>(long_line_after));
    cr_in = (cr & last) ? 1 : 0;
    line_start_in = (lf & last) ? 1 : 0;
    pos += used;
    return true;
  }

  // CR and LF masks of the two consecutive blocks at pos, whether any line end there is not a
  // CRLF (the second block's last octet aside), and the line-start dots of each.
  struct PairMasks {
    std::uint64_t cr0, lf0, cr1, lf1, unpaired, dots0, dots1;
  };
  template <class B = Block>
  PairMasks pair_masks(const B& first, const B& second) const {
    PairMasks m;
    m.cr0 = first.eq('\r');
    m.lf0 = first.eq('\n');
    m.cr1 = second.eq('\r');
    m.lf1 = second.eq('\n');
    m.unpaired = (((m.cr0 << 1) | cr_in) ^ m.lf0) | (((m.cr1 << 1) | (m.cr0 >> 63)) ^ m.lf1);
    m.dots0 = first.eq('.') & ((m.lf0 << 1) | line_start_in);
    m.dots1 = second.eq('.') & ((m.lf1 << 1) | (m.lf0 >> 63));
    return m;
  }

  // Two full blocks at `pos` at once, when both are plain and hold no line-start dot at all
  // (take() handles stuffing). Only for limits of 127 octets and more: a line wholly inside
  // the pair is then never too long, and only the line running in needs checking.
  inline bool take_pair(const Block& first, const Block& second) {
    const auto [cr0, lf0, cr1, lf1, unpaired, dots0, dots1] = pair_masks(first, second);
    if (unpaired | dots0 | dots1) return false;
    first.store(out + pos - removed);
    second.store(out + pos - removed + 64);
    const auto base = static_cast<std::int64_t>(pos);
    if (base + 127 - line_origin > long_line_after) [[unlikely]] {
      const std::int64_t first_end = lf0   ? count_trailing_zeros(lf0)
                                     : lf1 ? 64 + count_trailing_zeros(lf1)
                                           : 128;
      long_line |= base + first_end - 1 - line_origin > long_line_after;
    }
    const auto in_first = base + 63 - __builtin_clzll(lf0 | 1);
    const auto in_second = base + 127 - __builtin_clzll(lf1 | 1);
    line_origin = lf1 ? in_second : lf0 ? in_first : line_origin;
    cr_in = cr1 >> 63;
    line_start_in = lf1 >> 63;
    pos += 128;
    return true;
  }

  // Pairs of blocks for as long as B::plain() vouches for them (ISAs that declare
  // kChecksPairs). A pair it does not vouch for is usually one with a stuffing dot: it is taken
  // without the dot (take_stuffed_pair) and the stretch goes on; any other goes through take()
  // block by block without ending the run, and the run ends where take() gives up too.
  // Inside a stretch of vouched-for pairs, line_origin and the CR/line-start state go stale:
  // the origin is looked up only when a pair could reach past the limit counted from it (the
  // last LF is then normally in the block just before), and all of it once the stretch ends.
  template <class B = Block>
  inline void take_plain_run(std::size_t n, B& any_or, B& all_min) {
    B before = B::splat(cr_in ? '\r' : line_start_in ? '\n' : ' ');
    auto carry = B::carry(before);
    for (;;) {
      // The stretch works on copies, so they stay in registers across the calls below.
      const std::size_t exact_at = pos;
      std::size_t at = pos;
      std::int64_t origin = line_origin;
      char* const to = out - removed;
      B seen_or = any_or, seen_min = all_min;
      bool plain = true;
      // A pair starting beyond `reach` could end a line too long counted from `origin`.
      std::int64_t reach = origin + long_line_after - 127;
      const std::size_t last_pair = n - 128;
      while (at <= last_pair) {
        if (static_cast<std::int64_t>(at) > reach) [[unlikely]] {
          origin = last_line_end<B>(exact_at, at, origin);
          reach = origin + long_line_after - 127;
          if (static_cast<std::int64_t>(at) > reach) break;
        }
        const B first = B::load(in + at), second = B::load(in + at + 64);
        // Only a pair it vouches for is folded into the flags: what is not taken stays out.
        if (!B::plain(before, carry, first, second, seen_or, seen_min)) [[unlikely]] {
          plain = false;
          break;
        }
        first.store(to + at);
        second.store(to + at + 64);
        before = second;
        at += 128;
      }
      any_or = seen_or;
      all_min = seen_min;
      if (at != exact_at) {
        pos = at;
        line_origin = last_line_end<B>(exact_at, at, origin);
        cr_in = in[at - 1] == '\r' ? 1 : 0;
        line_start_in = in[at - 1] == '\n' ? 1 : 0;
      }
      if (plain) return;
      if (!take_stuffed_pair<B>(n, any_or, all_min) && !take_each<B>(any_or, all_min)) return;
      before = B::load(in + pos - 64);
      carry = B::carry(before);
    }
  }

  // The two blocks at pos through take(). Out of line, so the stretch's loop keeps its
  // registers.
  template <class B = Block>
  [[gnu::noinline, gnu::cold]] bool take_each(B& any_or, B& all_min) {
    for (int i = 0; i < 2; ++i) {
      const B block = B::load(in + pos);
      if (!take(block, ~std::uint64_t{0}, 64)) return false;
      block.accumulate(any_or, all_min);
    }
    return true;
  }

  // The line origin after the blocks [from, to) a stretch took: their last LF (one on, past a
  // stuffing dot opening the next line: every line-start dot a stretch takes is one), or
  // `origin` if no LF lies beyond it.
  template <class B = Block>
  inline std::int64_t last_line_end(std::size_t from, std::size_t to, std::int64_t origin) const {
    for (std::size_t block = to; block > from;) {
      block -= 64;
      const auto block_start = static_cast<std::int64_t>(block);
      if (block_start + 63 <= origin) break;
      if (const std::uint64_t lf = B::load(in + block).eq('\n')) {
        std::int64_t last = block_start + 63 - __builtin_clzll(lf);
        if (last + 1 < static_cast<std::int64_t>(to) && in[last + 1] == '.') ++last;
        return last > origin ? last : origin;
      }
    }
    return origin;
  }

  // The pair at pos that plain() did not vouch for: if all that kept it back are stuffing dots
  // (a dot after an LF, followed by something other than CR) and its lines are short, takes it
  // without them (all state exact again) and returns true; otherwise take() decides. Out of
  // line: the stretch's loop keeps its registers.
  template <class B = Block>
  [[gnu::noinline]] bool take_stuffed_pair(std::size_t n, B& any_or, B& all_min) {
    if (n - pos < 128 || static_cast<std::int64_t>(pos) + 127 - line_origin > long_line_after)
      return false;
    const B first = B::load(in + pos), second = B::load(in + pos + 64);
    const auto [cr0, lf0, cr1, lf1, unpaired, dots0, dots1] = pair_masks(first, second);
    // A dot in the pair's last octet is followed by the next input octet (unknown at the end).
    const std::uint64_t next_cr = pos + 128 >= n || in[pos + 128] == '\r' ? 1 : 0;
    const std::uint64_t before_cr0 = (cr0 >> 1) | (cr1 << 63);
    const std::uint64_t before_cr1 = (cr1 >> 1) | (next_cr << 63);
    if (unpaired || (dots0 & before_cr0) || (dots1 & before_cr1)) return false;
    char* const to = out + pos - removed;
    const int dropped0 = store_without(first, pos, dots0, to);
    const int dropped1 = store_without(second, pos + 64, dots1, to + 64 - dropped0);
    removed += static_cast<std::size_t>(dropped0 + dropped1);
    B::accumulate_pair(first, second, any_or, all_min);
    if (dots0 & 1) ++line_origin;  // the line running in starts with a stuffing dot
    pos += 128;
    line_origin = last_line_end<B>(pos - 128, pos, line_origin);
    cr_in = cr1 >> 63;
    line_start_in = lf1 >> 63;
    return true;
  }

  // Stores the block at input position `at` to `to`, squeezing out the octets in `dots` by
  // storing the rest of the input again one octet earlier for each (overlapping stores).
  template <class B = Block>
  int store_without(const B& block, std::size_t at, std::uint64_t dots, char* to) const {
    block.store(to);
    int dropped = 0;
    for (; dots; dots &= dots - 1) {
      const auto dot = count_trailing_zeros(dots);
      B::load(in + at + dot + 1).store(to + dot - dropped);
      ++dropped;
    }
    return dropped;
  }
};

mxring::parser::kernels::Progress plain_data_blocks(mxring::parser::DataScanState& state,
                                                    const char* in, std::size_t n, char* out) {
  using namespace mxring::parser;
  if (state.phase > kSeenCr) return {0, 0};
  PlainScan scan{.in = in,
                 .size = n,
                 .out = out,
                 .cr_in = state.phase == kSeenCr ? 1u : 0u,
                 .line_start_in = state.phase == kLineStart ? 1u : 0u,
                 .line_origin = -static_cast<std::int64_t>(state.line_length) - 1,
                 .long_line_after = state.long_line_after};
  Block any_or = Block::zero();   // OR of every octet: the high bit says 8-bit was seen
  Block all_min = Block::ones();  // unsigned minimum of every octet: zero says NUL was seen
  bool stopped = false;
  const bool runs = Block::kChecksPairs && scan.long_line_after >= 383;
  const bool pairs = scan.long_line_after >= 127;
  while (n - scan.pos >= 64) {
    bool ran = false;
    if constexpr (Block::kChecksPairs) {
      if (runs && n - scan.pos >= 128) {
        scan.take_plain_run(n, any_or, all_min);
        ran = true;
        if (n - scan.pos < 64) break;
      }
    }
    if (!ran && pairs && n - scan.pos >= 128) {
      const Block first = Block::load(in + scan.pos);
      const Block second = Block::load(in + scan.pos + 64);
      if (scan.take_pair(first, second)) {
        first.accumulate(any_or, all_min);
        second.accumulate(any_or, all_min);
        continue;
      }
    }
    const Block block = Block::load(in + scan.pos);
    if (!scan.take(block, ~std::uint64_t{0}, 64)) {
      stopped = true;
      break;
    }
    block.accumulate(any_or, all_min);
  }
  std::uint64_t tail_nul = 0, tail_high = 0;
  if (!stopped && scan.pos < n) {
    const std::size_t used = n - scan.pos;
    const std::uint64_t valid = valid_mask(used);
    const Block block = Block::load(in + scan.pos);
    if (scan.take(block, valid, used)) {
      tail_nul = block.eq('\0') & valid;
      tail_high = block.high_bits() & valid;
    }
  }
  state.phase = scan.cr_in ? kSeenCr : scan.line_start_in ? kLineStart : kMidLine;
  // Octets of the unfinished line, saturated: once over the limit the flag is already set.
  const std::int64_t pending = static_cast<std::int64_t>(scan.pos) - 1 - scan.line_origin;
  state.line_length = static_cast<std::uint32_t>(
      pending > scan.long_line_after ? scan.long_line_after + 1 : pending);
  if (pending > scan.long_line_after) scan.long_line = true;
  if (all_min.eq('\0') || tail_nul) state.flags |= kFlagNul;
  if (any_or.high_bits() || tail_high) state.flags |= kFlagEightBit;
  if (scan.long_line) state.flags |= kFlagLongLine;
  return {scan.pos, scan.pos - scan.removed};
}

std::size_t find_line_break(const char* p, std::size_t n) {
  for (std::size_t pos = 0; pos < n; pos += 64) {
    const Block block = Block::load(p + pos);
    const std::uint64_t hits = (block.eq('\r') | block.eq('\n')) & valid_mask(n - pos);
    if (hits) return pos + count_trailing_zeros(hits);
  }
  return n;
}

void content_masks(const char* in, std::size_t blocks, mxring::parser::ContentMasks* out) {
  for (std::size_t i = 0; i < blocks; ++i) {
    const Block block = Block::load(in + 64 * i);
    out[i] = {block.eq('\r'), block.eq('\n'), block.eq('\0'), block.high_bits()};
  }
}

// Written once, compiled per instruction set: the fast path of the DATA and line scanners over
// 64-byte blocks. An ISA file defines `Block` (load, eq, high_bits, store) and includes this
// inside an anonymous namespace, so each copy has internal linkage and its own target flags.
//
// Needs: <cstddef>, <cstdint>, "kernels.h"; `Block` with
//   static Block load(const char*);  std::uint64_t eq(char) const;
//   std::uint64_t high_bits() const; void store(char*) const;

inline std::uint64_t valid_mask(std::size_t available) {
  return available >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << available) - 1;
}

// A block is plain when every LF follows a CR (carried in from the previous block when it ended
// in CR), every CR precedes an LF (a CR in the block's last valid octet stays pending), and no
// line start holds a dot. Anything else (bare CR/LF, dot-stuffing, the terminator) is left to
// the scalar reference, so all implementations agree by construction.
mxring::parser::kernels::Progress plain_data_blocks(mxring::parser::DataScanState& state,
                                                   const char* in, std::size_t n, char* out) {
  using namespace mxring::parser;
  std::size_t pos = 0;
  std::uint8_t phase = state.phase;
  std::uint32_t line_length = state.line_length;
  std::uint64_t nul_bits = 0;
  std::uint64_t high_bits = 0;
  bool long_line = false;
  while (pos < n && phase <= kSeenCr) {
    const std::size_t available = n - pos;
    const std::size_t used = available >= 64 ? 64 : available;
    const std::uint64_t valid = valid_mask(available);
    const Block block = Block::load(in + pos);
    const std::uint64_t cr = block.eq('\r') & valid;
    const std::uint64_t lf = block.eq('\n') & valid;
    const std::uint64_t cr_in = phase == kSeenCr ? 1 : 0;
    if ((((cr << 1) | cr_in) & valid) != lf) break;
    const std::uint64_t line_starts = (lf << 1) | (phase == kLineStart ? 1 : 0);
    if (block.eq('.') & line_starts & valid) break;

    block.store(out + pos);
    nul_bits |= block.eq('\0') & valid;
    high_bits |= block.high_bits() & valid;
    if (lf == 0) {
      line_length += static_cast<std::uint32_t>(used);
    } else {
      // Lines wholly inside a block are shorter than 64 octets; only the first can be long.
      line_length += static_cast<std::uint32_t>(__builtin_ctzll(lf));
      if (line_length > state.long_line_after) long_line = true;
      const auto last_lf = static_cast<std::size_t>(63 - __builtin_clzll(lf));
      line_length = static_cast<std::uint32_t>(used - 1 - last_lf);
    }
    if (line_length > state.long_line_after) {
      long_line = true;
      line_length = state.long_line_after + 1;  // saturate: the flag is already set
    }
    const std::uint64_t last = std::uint64_t{1} << (used - 1);
    phase = (lf & last) ? kLineStart : (cr & last) ? kSeenCr : kMidLine;
    pos += used;
  }
  state.phase = phase;
  state.line_length = line_length;
  if (nul_bits) state.flags |= kFlagNul;
  if (high_bits) state.flags |= kFlagEightBit;
  if (long_line) state.flags |= kFlagLongLine;
  return {pos, pos};
}

std::size_t find_line_break(const char* p, std::size_t n) {
  for (std::size_t pos = 0; pos < n; pos += 64) {
    const Block block = Block::load(p + pos);
    const std::uint64_t hits = (block.eq('\r') | block.eq('\n')) & valid_mask(n - pos);
    if (hits) return pos + static_cast<std::size_t>(__builtin_ctzll(hits));
  }
  return n;
}

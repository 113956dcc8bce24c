// AVX-512BW: the common shape of a MAIL/RCPT argument (kernels.h) from one masked 64-octet
// load: every octet class is one comparison into a mask register, and the grammar is walked
// with bit operations on the masks, never octet by octet. Included by avx512.cpp only.
#pragma once

namespace {

// Bits [from, to) of a 64-bit mask; from <= to <= 63.
inline std::uint64_t bit_range(unsigned from, unsigned to) {
  return ((std::uint64_t{1} << to) - 1) & ~((std::uint64_t{1} << from) - 1);
}

inline std::uint64_t from_bit(unsigned from) {
  return from >= 64 ? 0 : ~std::uint64_t{0} << from;
}

inline unsigned first_bit(std::uint64_t mask) {  // 64 when empty
  return static_cast<unsigned>(_tzcnt_u64(mask));
}

bool argument_shape(const char* text, std::size_t n, mxring::parser::kernels::ArgumentShape& out) {
  using mxring::parser::kernels::ArgumentShape;
  if (n < 5 || n > 64 || text[0] != '<') return false;
  const std::uint64_t valid = n == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
  // Masked: octets past n are never read (no fault), and they compare as 0.
  const __m512i v = _mm512_maskz_loadu_epi8(valid, text);
  const auto is = [&](char c) { return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c)); };
  const auto in_range = [&](__m512i x, char low, char span) {
    return _mm512_cmple_epu8_mask(_mm512_sub_epi8(x, _mm512_set1_epi8(low)),
                                  _mm512_set1_epi8(span));
  };
  const std::uint64_t space = is(' ');
  const std::uint64_t printable = in_range(v, 33, 126 - 33);  // %d33-126
  if ((printable | space) != valid) return false;             // controls, 8-bit: full grammar
  // Only letters fold onto a-z with 0x20 ORed in.
  const std::uint64_t letter = in_range(_mm512_or_si512(v, _mm512_set1_epi8(0x20)), 'a', 25);
  const std::uint64_t letdig = letter | in_range(v, '0', 9);
  const std::uint64_t dot = is('.'), hyphen = is('-'), equals = is('=');

  // Local part: letters, digits and . _ + = - from octet 1 up to the '@'.
  const std::uint64_t local_set = letdig | dot | hyphen | equals | is('_') | is('+');
  const unsigned at = first_bit(~local_set & ~std::uint64_t{1});
  if (at < 2 || at >= n || text[at] != '@') return false;
  const std::uint64_t local_dots = dot & bit_range(1, at);
  const std::uint64_t local_ends = std::uint64_t{1} << 1 | std::uint64_t{1} << (at - 1);
  if ((local_dots & local_ends) || (local_dots & local_dots >> 1)) return false;

  // Domain: labels of letters, digits and hyphens up to the '>' (RFC 5321 §4.1.2). The whole
  // argument is at most 64 octets, so no label can reach 63 nor the domain 255.
  const unsigned domain = at + 1;
  const unsigned end = first_bit(~(letdig | dot | hyphen) & from_bit(domain));
  if (end == domain || end >= n || text[end] != '>') return false;
  const std::uint64_t inside = bit_range(domain, end);
  const std::uint64_t first = std::uint64_t{1} << domain, last = std::uint64_t{1} << (end - 1);
  const std::uint64_t dots = dot & inside;
  if ((dots & (first | last)) || (dots & dots >> 1)) return false;
  const std::uint64_t label_starts = (dots << 1 | first) & inside;
  const std::uint64_t label_ends = (dots >> 1 | last) & inside;
  if (hyphen & (label_starts | label_ends)) return false;

  // Parameters: SP-separated esmtp-keyword ["=" esmtp-value] (§4.1.2).
  const std::uint64_t keyword_set = letdig | hyphen;
  const std::uint64_t value_set = printable & ~equals;
  unsigned count = 0;
  for (unsigned p = end + 1;;) {
    const unsigned keyword = first_bit(~space & valid & from_bit(p));
    if (keyword >= n) break;                                                   // only spaces left
    if (keyword == p || count == ArgumentShape::kMaxParameters) return false;  // no space
    if (!(letdig >> keyword & 1)) return false;
    const unsigned keyword_end = first_bit(~keyword_set & from_bit(keyword));
    unsigned token_end = keyword_end;
    if (keyword_end < n && text[keyword_end] == '=') {
      token_end = first_bit(~value_set & from_bit(keyword_end + 1));
      if (token_end == keyword_end + 1) return false;  // an empty value
    }
    if (token_end < n && text[token_end] != ' ') return false;
    out.keyword[count] = static_cast<std::uint8_t>(keyword);
    out.keyword_end[count] = static_cast<std::uint8_t>(keyword_end);
    out.value_end[count] = static_cast<std::uint8_t>(token_end);
    ++count;
    p = token_end;
  }
  out.at = static_cast<std::uint8_t>(at);
  out.path_end = static_cast<std::uint8_t>(end);
  out.parameters = static_cast<std::uint8_t>(count);
  return true;
}

}  // namespace

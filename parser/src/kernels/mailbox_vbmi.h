// The common mailbox of a MAIL or RCPT path, `local@domain>`, checked in one 64-octet block
// (included inside an anonymous namespace by avx512_vbmi.cpp, after kernels.h and atext.h).
//
// One table lookup (vpermi2b) classifies every octet as atext (RFC 5322 §3.2.3), Let-dig or
// "-" (RFC 5321 §4.1.2), or "."; byte compares find ".", "-", "@" and ">" exactly, and sooner
// than the lookup can. The grammar then becomes bit arithmetic on 64-bit masks: the local
// part is the run of atext and dots up to the first other octet, which must be "@"; the
// domain is the run of Let-dig, "-" and dots after it, which must end at ">". A Dot-string has
// no empty atom (no dot first, last or doubled); a domain has no empty label and no label
// starting or ending with "-" (RFC 1035 §2.3.4), and fits in 64 octets, so no label passes 63.
//
// Only what is certainly well-formed is decided here: quoted local parts, source routes,
// address literals, 8-bit octets (SMTPUTF8), anything malformed or longer than the block
// returns `end` 0 and the scalar grammar (path.cpp) answers, errors included.

enum MailboxClass : unsigned char {
  kMailboxAtext = 1,  // atext, Let-dig and "-" included
  kMailboxLdh = 2,    // Let-dig or "-"
  kMailboxDot = 4,
};

struct MailboxClassTable {
  alignas(64) unsigned char classes[128];
};

constexpr MailboxClassTable make_mailbox_classes() {
  MailboxClassTable t{};
  for (int c = 0; c < 128; ++c) {
    const bool letter_digit =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    bool atext = letter_digit;
    for (const char* s = mxring::parser::detail::kAtextSpecials; *s != '\0'; ++s)
      atext = atext || c == *s;
    unsigned char v = atext ? kMailboxAtext : 0;
    if (letter_digit || c == '-') v |= kMailboxLdh;
    if (c == '.') v |= kMailboxDot;
    t.classes[c] = v;
  }
  return t;
}

constexpr MailboxClassTable kMailboxClasses = make_mailbox_classes();

inline std::uint64_t octets_of_class(__m512i classes, unsigned char mask) {
  return _mm512_test_epi8_mask(classes, _mm512_set1_epi8(static_cast<char>(mask)));
}

// The first "@" and the octet after the domain are found with blsi on the masks, not by a
// chain of scans, so the positions the command parser waits for are ready a few cycles after
// the load. The checks stay a chain of predicted branches (one combined branch measured
// slower: the parser could no longer go on before every mask was ready).
mxring::parser::kernels::MailboxSplit plain_mailbox(const char* p, std::size_t n) {
  const unsigned limit = n < 64 ? static_cast<unsigned>(n) : 64;
  const std::uint64_t readable = _bzhi_u64(~std::uint64_t{0}, limit);
  // Octets past `limit` load as zero, which has no class (the masked load never faults).
  const __m512i v = _mm512_maskz_loadu_epi8(readable, p);
  const __m512i classes = _mm512_permutex2var_epi8(_mm512_load_si512(kMailboxClasses.classes), v,
                                                   _mm512_load_si512(kMailboxClasses.classes + 64));
  // The table sees seven bits: an octet from 0x80 got the class of its low seven (0xC3 that
  // of "C", 0xAE that of "."), so the classes are cut to the ASCII octets.
  const std::uint64_t ascii = ~static_cast<std::uint64_t>(_mm512_movepi8_mask(v));
  const std::uint64_t local_octets = octets_of_class(classes, kMailboxAtext | kMailboxDot) & ascii;
  const std::uint64_t domain_octets = octets_of_class(classes, kMailboxLdh | kMailboxDot) & ascii;
  // Exact octets by comparison (no aliasing); the positions of "@" and ">", which the caller
  // waits for, are ready before the class masks are.
  const std::uint64_t dot = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('.'));
  const std::uint64_t dash = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('-'));
  const std::uint64_t at_sign = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('@'));
  const std::uint64_t closing = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('>'));

  const std::uint64_t at_bit = _blsi_u64(at_sign);  // the first "@" (0: none)
  const std::uint64_t local = at_bit - 1;           // every octet before it
  const std::uint64_t after_at = ~_blsmsk_u64(at_sign);
  const std::uint64_t end_bit = _blsi_u64(~domain_octets & after_at);
  const std::uint64_t domain = (end_bit - 1) & after_at;
  const std::uint64_t close_bit = _blsi_u64(closing & after_at);
  const std::uint64_t edge = dot | dash;  // may neither start nor end a label

  const bool malformed =
      at_bit <= 1 ||                                // no "@", or an empty local part
      (local_octets & local) != local ||            // an octet outside Dot-string
      ((dot & 1) | (dot & (at_bit >> 1)) |          // a dot first or last,
       (dot & (dot >> 1) & local)) != 0 ||          // or doubled: an empty atom
      end_bit == 0 ||                               // the domain runs past the block,
      end_bit != close_bit ||                       // or does not end at a ">"
      end_bit == at_bit << 1 ||                     // an empty domain
      (edge & ((at_bit << 1) | (end_bit >> 1))) ||  // a label starts or ends with "." or "-"
      ((edge & (dot >> 1)) | (dot & (dash >> 1))) & domain;  // "..", "-." or ".-" inside
  if (malformed) return {};
  return {static_cast<unsigned>(_tzcnt_u64(at_bit)), static_cast<unsigned>(_tzcnt_u64(close_bit))};
}

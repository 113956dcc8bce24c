// Octet classes of the RFC 5321 grammar, one table lookup per octet (not installed).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "atext.h"

namespace mxring::parser::detail {

enum CharClass : std::uint16_t {
  kAtext = 1,         // RFC 5322 atext: ALPHA DIGIT ! # $ % & ' * + - / = ? ^ _ ` { | } ~
  kLetDig = 2,        // ALPHA / DIGIT
  kQtext = 4,         // qtextSMTP: %d32-33 / %d35-91 / %d93-126 (RFC 5321 §4.1.2)
  kXchar = 8,         // xtext xchar: %d33-42 / %d44-60 / %d62-126 (RFC 3461 §4)
  kKeyword = 32,      // esmtp-keyword after its first octet: ALPHA / DIGIT / "-"
  kPrintable = 64,    // %d33-126: HELO names, VRFY/HELP/NOOP text
  kValueOctet = 128,  // esmtp-value octets plus UTF-8 ones (RFC 6531 §3.3)
  kDomainRun = 256,   // what a label may hold: Let-dig, "-", or a U-label octet (RFC 6531 §3.3)
  kAtomOctet = 512,   // what an Atom may hold: atext, or UTF-8 with SMTPUTF8 (RFC 6531 §3.3)
  kLdh = 1024,        // the ASCII part of kDomainRun: Let-dig or "-"
};

constexpr std::array<std::uint16_t, 256> make_char_classes() {
  std::array<std::uint16_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    std::uint16_t v = 0;
    if (alpha || digit) v |= kLetDig | kAtext | kKeyword;
    for (char s : std::string_view(kAtextSpecials))
      if (c == s) v |= kAtext;
    if (c == '-') v |= kKeyword;
    if ((c >= 32 && c <= 33) || (c >= 35 && c <= 91) || (c >= 93 && c <= 126)) v |= kQtext;
    if (c >= 33 && c <= 126 && c != '+' && c != '=') v |= kXchar;
    if (c >= 33 && c <= 126) v |= kPrintable;
    if ((c >= 33 && c <= 126 && c != '=') || c >= 128) v |= kValueOctet;
    if (alpha || digit || c == '-') v |= kLdh;
    if ((v & kLdh) || c >= 128) v |= kDomainRun;
    if ((v & kAtext) || c >= 128) v |= kAtomOctet;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}

inline constexpr auto kCharClasses = make_char_classes();

inline bool is(char c, CharClass cls) {
  return (kCharClasses[static_cast<unsigned char>(c)] & cls) != 0;
}

inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
}

// The first `s.size()` (at most 8) octets as a little-endian word, each ORed with 0x20.
inline std::uint64_t folded_word(std::string_view s) {
  const std::size_t n = s.size() < 8 ? s.size() : 8;
  std::uint64_t w = 0;
  if (n >= 4) {  // two overlapping 4-octet loads cover 4..8 octets without reading past them
    std::uint32_t head, tail;
    std::memcpy(&head, s.data(), 4);
    std::memcpy(&tail, s.data() + n - 4, 4);
    w = head | static_cast<std::uint64_t>(tail) << (8 * (n - 4));
  } else {
    for (std::size_t i = 0; i < n; ++i)
      w |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << (8 * i);
  }
  const std::uint64_t used = n == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * n)) - 1;
  return w | (0x2020202020202020u & used);
}

// A lower-case literal of up to 8 letters and digits, folded at compile time.
struct Word {
  std::uint64_t folded = 0;
  std::size_t size = 0;
  consteval Word(const char* lower) {
    while (lower[size] != '\0') {
      folded |= static_cast<std::uint64_t>(static_cast<unsigned char>(lower[size]) | 0x20)
                << (8 * size);
      ++size;
    }
  }
};

// A keyword or value folded once, then compared with several literals. Exact for octets
// 33..126 against letters and digits: only a letter folds onto a letter, only a digit onto a
// digit.
struct FoldedText {
  explicit FoldedText(std::string_view s)
      : folded(s.size() <= 8 ? folded_word(s) : 0), size(s.size()) {}
  bool is(Word w) const { return size == w.size && folded == w.folded; }
  std::uint64_t folded;
  std::size_t size;
};

inline bool is_word(std::string_view s, Word w) {
  return FoldedText(s).is(w);
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

}  // namespace mxring::parser::detail

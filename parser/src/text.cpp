// xtext (RFC 3461 §4) and UTF-8 (RFC 3629 §4) validation.
#include "mxring/parser/text.h"

#include "char_class.h"
#include "mxring/parser/command.h"

namespace mxring::parser {
namespace {

int upper_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::size_t> xtext_decode(std::string_view text, char* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = upper_hex_value(text[i + 1]);
      const int lo = upper_hex_value(text[i + 2]);
      const int octet = hi << 4 | lo;
      if (hi < 0 || lo < 0 || octet < 0x20 || octet == 0x7f) return std::nullopt;
      if (out) out[n] = static_cast<char>(octet);
      ++n;
      i += 2;
    } else if (detail::is(c, detail::kXchar)) {
      if (out) out[n] = c;
      ++n;
    } else {
      return std::nullopt;
    }
  }
  return n;
}

bool is_xtext(std::string_view text) {
  return xtext_decode(text, nullptr).has_value();
}

bool is_utf8_address_type(std::string_view type) {
  return detail::iequals(type, "utf-8");
}

bool is_printable_ascii(std::string_view text) {
  for (const char c : text)
    if (c <= ' ' || c >= 0x7f) return false;  // char is signed: octets over 127 are negative
  return true;
}

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    unsigned min_second = 0x80, max_second = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) min_second = 0xA0;  // overlong
      if (c == 0xED) max_second = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) min_second = 0x90;  // overlong
      if (c == 0xF4) max_second = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < len) return false;
    if (p[1] < min_second || p[1] > max_second) return false;
    for (std::size_t k = 2; k < len; ++k)
      if ((p[k] & 0xC0) != 0x80) return false;
    p += len;
  }
  return true;
}

}  // namespace mxring::parser

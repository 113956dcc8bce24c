// JSON string escaping with UTF-8 validation in one pass.
#include "mxring/engine/json_text.h"

#include <emmintrin.h>

namespace mxring::engine {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Length of the well-formed UTF-8 sequence at p (RFC 3629 §4), or 0.
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  const auto left = static_cast<std::size_t>(end - p);
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && continuation(p[1]) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !continuation(p[1]) || !continuation(p[2])) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  // overlong
    if (c == 0xED && p[1] > 0x9F) return 0;  // a UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !continuation(p[1]) || !continuation(p[2]) || !continuation(p[3])) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;  // overlong
    if (c == 0xF4 && p[1] > 0x8F) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// Writes the escape for the special octet(s) at *p; false on invalid UTF-8.
bool escape_one(const unsigned char*& p, const unsigned char* end, char*& o) {
  const unsigned char c = *p;
  if (c >= 0x80) {
    const auto n = utf8_sequence(p, end);
    if (n == 0) return false;
    for (std::size_t i = 0; i < n; ++i) *o++ = static_cast<char>(p[i]);
    p += n;
    return true;
  }
  *o++ = '\\';
  switch (c) {
    case '"':
    case '\\':
      *o++ = static_cast<char>(c);
      break;
    case '\n':
      *o++ = 'n';
      break;
    case '\r':
      *o++ = 'r';
      break;
    case '\t':
      *o++ = 't';
      break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = kHex[c >> 4];
      *o++ = kHex[c & 15];
  }
  ++p;
  return true;
}

bool plain(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

}  // namespace

char* write_json_string_if_utf8(std::string_view bytes, char* o) {
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto end = p + bytes.size();
  *o++ = '"';
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: octets >= 0x80 are negative, so one compare finds controls and
    // non-ASCII alike.
    const __m128i special =
        _mm_or_si128(_mm_cmplt_epi8(v, space),
                     _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), v);
    if (mask == 0) {
      p += 16;
      o += 16;
      continue;
    }
    const auto plain_run = static_cast<unsigned>(__builtin_ctz(mask));
    p += plain_run;
    o += plain_run;
    if (!escape_one(p, end, o)) return nullptr;
  }
  while (p < end) {
    if (plain(*p)) {
      *o++ = static_cast<char>(*p++);
    } else if (!escape_one(p, end, o)) {
      return nullptr;
    }
  }
  *o++ = '"';
  return o;
}

char* write_json_text(std::string_view bytes, char* const start) {
  if (auto* end = write_json_string_if_utf8(bytes, start)) return end;
  char* o = start;
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto end = p + bytes.size();
  *o++ = '"';
  while (p < end) {
    if (plain(*p)) {
      *o++ = static_cast<char>(*p++);
      continue;
    }
    if (*p >= 0x80 && utf8_sequence(p, end) == 0) {
      *o++ = '\\';
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = kHex[*p >> 4];
      *o++ = kHex[*p & 15];
      ++p;
    } else {
      escape_one(p, end, o);
    }
  }
  *o++ = '"';
  return o;
}

void append_json_text(std::string& out, std::string_view bytes) {
  const auto size = out.size();
  out.resize(size + json_string_room(bytes.size()));
  char* const end = write_json_text(bytes, out.data() + size);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

}  // namespace mxring::engine

#include "base64.h"

#include <cstdint>

namespace mxring::tools {

char* write_base64(std::string_view bytes, char* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  auto n = bytes.size();
  for (; n >= 3; n -= 3, p += 3) {
    const std::uint32_t v = std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | p[2];
    out[0] = kAlphabet[v >> 18];
    out[1] = kAlphabet[(v >> 12) & 63];
    out[2] = kAlphabet[(v >> 6) & 63];
    out[3] = kAlphabet[v & 63];
    out += 4;
  }
  if (n > 0) {
    const std::uint32_t v = std::uint32_t{p[0]} << 16 | (n == 2 ? std::uint32_t{p[1]} << 8 : 0);
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = n == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    *out++ = '=';
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string text(base64_length(bytes.size()), '\0');
  write_base64(bytes, text.data());
  return text;
}

}  // namespace mxring::tools

// The exporter's JSON strings over OutputBuffer (the escaper itself is the engine's), and
// base64 for messages that are not UTF-8.
#include "json_text.h"

#include <cstdint>

#include "mxring/engine/json_text.h"

namespace mxring::tools::spool {

bool append_json_string_if_utf8(OutputBuffer& out, std::string_view bytes) {
  char* const start = out.room(engine::json_string_room(bytes.size()));
  char* const end = engine::write_json_string_if_utf8(bytes, start);
  if (end == nullptr) return false;
  out.advance(static_cast<std::size_t>(end - start));
  return true;
}

void append_json_text(OutputBuffer& out, std::string_view bytes) {
  char* const start = out.room(engine::json_string_room(bytes.size()));
  out.advance(static_cast<std::size_t>(engine::write_json_text(bytes, start) - start));
}

void append_base64_string(OutputBuffer& out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char* const start = out.room((bytes.size() + 2) / 3 * 4 + 2);
  char* o = start;
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  auto n = bytes.size();
  *o++ = '"';
  for (; n >= 3; n -= 3, p += 3) {
    const std::uint32_t v = std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | p[2];
    o[0] = kAlphabet[v >> 18];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = kAlphabet[(v >> 6) & 63];
    o[3] = kAlphabet[v & 63];
    o += 4;
  }
  if (n > 0) {
    const std::uint32_t v = std::uint32_t{p[0]} << 16 | (n == 2 ? std::uint32_t{p[1]} << 8 : 0);
    *o++ = kAlphabet[v >> 18];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = n == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  *o++ = '"';
  out.advance(static_cast<std::size_t>(o - start));
}

}  // namespace mxring::tools::spool

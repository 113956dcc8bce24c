// JSON strings (RFC 8259 §7) from arbitrary octets, validated as UTF-8 (RFC 3629) in the
// same pass, at memory speed (SSE2 skips 16 plain octets a step). Shared by the structured
// log and by `mxring spool export`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mxring::engine {

// Room a quoted JSON string of `n` input octets may need.
constexpr std::size_t json_string_room(std::size_t n) {
  return n * 6 + 2;
}

// Writes `bytes` quoted at `out` (json_string_room() octets available) and returns the end,
// or returns null (having written nothing useful) when they are not valid UTF-8.
char* write_json_string_if_utf8(std::string_view bytes, char* out);

// Writes `bytes` quoted whatever they hold: valid UTF-8 as it is, any other octet as the code
// point of the same value (\u0080-\u00ff, as Latin-1 would read it). For envelope fields,
// which are UTF-8 or ASCII unless a client misbehaved. Returns the end.
char* write_json_text(std::string_view bytes, char* out);

// The same, appended to a string.
void append_json_text(std::string& out, std::string_view bytes);

}  // namespace mxring::engine

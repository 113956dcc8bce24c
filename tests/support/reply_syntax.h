// RFC 5321 §4.2 reply syntax, for fuzz targets that check everything a server says: "ddd SP
// text CRLF", or "ddd-text CRLF" for all lines but the last, with one code throughout;
// printable ASCII only (mxring never echoes client bytes).
#pragma once

#include <string_view>

namespace mxring::testing {

// True when `out` is a sequence of whole, well-formed replies: every multi-line reply ends
// within it.
inline bool well_formed_replies(std::string_view out) {
  std::string_view open_code;
  while (!out.empty()) {
    const auto end = out.find("\r\n");
    if (end == std::string_view::npos || end < 4) return false;
    const auto line = out.substr(0, end);
    if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || line[2] < '0' ||
        line[2] > '9' || (line[3] != ' ' && line[3] != '-'))
      return false;
    for (char c : line)
      if (c < 0x20 || c > 0x7e) return false;
    if (!open_code.empty() && open_code != line.substr(0, 3)) return false;
    open_code = line[3] == '-' ? line.substr(0, 3) : std::string_view{};
    out.remove_prefix(end + 2);
  }
  return open_code.empty();
}

}  // namespace mxring::testing

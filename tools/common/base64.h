// Base64 (RFC 4648 §4, with padding): the bench's AUTH PLAIN (RFC 4954 §4) and the spool
// exporter's messages that are not UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mxring::tools {

constexpr std::size_t base64_length(std::size_t bytes) {
  return (bytes + 2) / 3 * 4;
}

// Writes base64_length(bytes.size()) octets at `out`; returns the end of what it wrote.
char* write_base64(std::string_view bytes, char* out);

std::string base64(std::string_view bytes);

}  // namespace mxring::tools

#include "mxring/parser/header_fields.h"

#include <cstring>

namespace mxring::parser {
namespace {

bool starts_with_received(std::string_view line) {
  constexpr std::string_view kName = "received";
  if (line.size() <= kName.size()) return false;
  for (std::size_t i = 0; i < kName.size(); ++i)
    if ((line[i] | 0x20) != kName[i]) return false;
  auto rest = line.substr(kName.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  return !rest.empty() && rest.front() == ':';
}

}  // namespace

std::uint32_t count_received_fields(std::string_view message, std::uint32_t stop_at) {
  std::uint32_t found = 0;
  std::size_t at = 0;
  while (at < message.size() && found < stop_at) {
    const auto* end =
        static_cast<const char*>(std::memchr(message.data() + at, '\n', message.size() - at));
    const std::size_t next = end == nullptr ? message.size() : end - message.data() + 1;
    const auto line = message.substr(at, next - at);
    if (line == "\r\n" || line == "\n") break;  // the header section ends
    if (starts_with_received(line)) ++found;
    at = next;
  }
  return found;
}

}  // namespace mxring::parser

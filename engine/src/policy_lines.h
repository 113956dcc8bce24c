// The lines of a policy file (--users, --client-access): `#` starts a comment, blank space
// around an entry is dropped, blank lines are skipped.
#pragma once

#include <cstddef>
#include <string_view>

namespace mxring::engine {

inline std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Calls `take(line_number, entry)` (1-based) for each entry of `file`, in order, until it
// returns false. Returns false when it did.
template <typename Take>
bool for_each_policy_line(std::string_view file, Take&& take) {
  std::size_t line_number = 0;
  while (!file.empty()) {
    ++line_number;
    const auto newline = file.find('\n');
    auto line = file.substr(0, newline);
    file = newline == std::string_view::npos ? std::string_view{} : file.substr(newline + 1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = trim_blanks(line);
    if (!line.empty() && !take(line_number, line)) return false;
  }
  return true;
}

}  // namespace mxring::engine

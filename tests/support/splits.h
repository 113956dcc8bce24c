// Ways of cutting a byte stream into pieces: whole, byte by byte, and at every split point
// into two. Parser and session tests replay each case under every one of them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mxring::test {

using Pieces = std::vector<std::string_view>;

inline std::vector<Pieces> all_splits(std::string_view input) {
  std::vector<Pieces> ways;
  ways.push_back({input});
  Pieces bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  ways.push_back(bytes);
  for (std::size_t cut = 1; cut < input.size(); ++cut)
    ways.push_back({input.substr(0, cut), input.substr(cut)});
  return ways;
}

inline std::string describe(const Pieces& pieces) {
  std::string s = std::to_string(pieces.size()) + " piece(s):";
  for (auto p : pieces) s += " " + std::to_string(p.size());
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

}  // namespace mxring::test

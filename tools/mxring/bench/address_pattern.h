// A sender or recipient pattern (--from, --to): {n} message number, {c} connection, {r}
// recipient index. Split once into literal text and placeholders, so a message costs
// appends, not a scan.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mxring::tools::bench {

inline void append_number(std::string& out, std::uint64_t value) {
  char text[24];
  out.append(text, std::to_chars(text, text + sizeof text, value).ptr);
}

class AddressPattern {
 public:
  explicit AddressPattern(std::string_view pattern) {
    std::string literal;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      const auto field = pattern.substr(i, 3);
      if (field == "{n}" || field == "{c}" || field == "{r}") {
        pieces_.push_back({std::move(literal), field[1]});
        literal.clear();
        i += 2;
      } else {
        literal += pattern[i];
      }
    }
    pieces_.push_back({std::move(literal), '\0'});
  }
  void append(std::string& out, std::uint64_t n, std::uint32_t c, unsigned r) const {
    for (const auto& [literal, field] : pieces_) {
      out += literal;
      if (field != '\0') append_number(out, field == 'n' ? n : field == 'c' ? c : r);
    }
  }

 private:
  std::vector<std::pair<std::string, char>> pieces_;  // text, then the field after it ('\0': none)
};

}  // namespace mxring::tools::bench

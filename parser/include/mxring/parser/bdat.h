// Framing of one BDAT chunk (RFC 3030 §2): exactly `size` octets follow the command line,
// taken as they are, with no dot-stuffing and no terminator search.
#pragma once

#include <cstdint>
#include <span>

namespace mxring::parser {

class BdatChunk {
 public:
  explicit BdatChunk(std::uint64_t size) : remaining_(size) {}

  // The prefix of `bytes` that belongs to this chunk; the rest is the next command.
  std::span<const char> take(std::span<const char> bytes) {
    const auto n = bytes.size() < remaining_ ? bytes.size() : static_cast<std::size_t>(remaining_);
    remaining_ -= n;
    return bytes.first(n);
  }

  bool complete() const { return remaining_ == 0; }
  std::uint64_t remaining() const { return remaining_; }

 private:
  std::uint64_t remaining_;
};

}  // namespace mxring::parser

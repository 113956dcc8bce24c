// Deterministic DATA corpora for the scanner benchmarks, in wire form (dot-stuffed, CRLF,
// ending in <CRLF>.<CRLF>): plain text with ~1% dot-leading lines, and base64 attachments.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <string>

#include "mxring/parser/padding.h"

namespace mxring::bench {

inline std::string plain_text_message(std::size_t size) {
  static const char* words[] = {"the",  "mail",    "server", "queue",  "received", "message",
                                "from", "deliver", "ring",   "buffer", "Subject:", "hello",
                                "data", "and",     "of",     "to",     "a",        "storage"};
  std::mt19937_64 rng(42);
  std::string s;
  s.reserve(size + 128);
  while (s.size() < size) {
    std::string line;
    if (rng() % 100 == 0) line = "..";  // a dot-leading line, stuffed on the wire
    const auto width = 40 + rng() % 38;
    while (line.size() < width) line += std::string(words[rng() % std::size(words)]) + " ";
    s += line + "\r\n";
  }
  return s + ".\r\n";
}

inline std::string base64_message(std::size_t size) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::mt19937_64 rng(7);
  std::string s = "Content-Transfer-Encoding: base64\r\n\r\n";
  while (s.size() < size) {
    for (int i = 0; i < 76; ++i) s += alphabet[rng() % 64];
    s += "\r\n";
  }
  return s + ".\r\n";
}

// A cache-line-aligned buffer, as the reactor's receive and spool buffers are.
class AlignedBytes {
 public:
  explicit AlignedBytes(std::size_t size)
      : data_(static_cast<char*>(std::aligned_alloc(64, (size + 63) / 64 * 64))), size_(size) {
    std::memset(data_, 0, (size + 63) / 64 * 64);
  }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  ~AlignedBytes() { std::free(data_); }
  char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  char* data_;
  std::size_t size_;
};

// Input in an aligned buffer with the padding the scanners' contract asks for.
struct PaddedInput {
  AlignedBytes storage;
  std::size_t size;
  explicit PaddedInput(const std::string& data)
      : storage(data.size() + parser::kPadding), size(data.size()) {
    std::memcpy(storage.data(), data.data(), data.size());
  }
  const char* data() const { return storage.data(); }
  std::span<const char> span() const { return {storage.data(), size}; }
};

}  // namespace mxring::bench

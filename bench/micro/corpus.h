// Deterministic DATA corpora for the scanner benchmarks, in wire form (dot-stuffed, CRLF,
// ending in <CRLF>.<CRLF>): plain text with ~1% dot-leading lines, and base64 attachments.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <string_view>

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

// The input (with its padding) and the output of one DATA benchmark in one allocation, the
// output starting `MXRING_BENCH_OUTPUT_OFFSET` octets (default 2048, half a page) past a 4 KiB
// boundary after the input. Two buffers allocated one after the other land a few octets past a
// multiple of 4 KiB apart; a scanner whose output lags its input by the stuffing dots it
// removed then stores to addresses whose low twelve bits match the loads just ahead, and the
// CPU holds those loads back ("4K aliasing"). A copy, which never lags, does not meet it. The
// server's receive and message buffers are unrelated allocations; bench/micro/RESULTS.md gives
// figures for both placements.
class ScanBuffers {
 public:
  explicit ScanBuffers(const std::string& data)
      : size(data.size()),
        input_span_((data.size() + parser::kPadding + 4095) / 4096 * 4096),
        offset_(output_offset()),
        storage_(input_span_ + offset_ + data.size() + 2 * parser::kPadding) {
    std::memcpy(storage_.data(), data.data(), data.size());
  }
  const char* in() const { return storage_.data(); }
  char* out() const { return storage_.data() + input_span_ + offset_; }
  std::span<const char> span() const { return {in(), size}; }
  std::string_view written(std::size_t n) const { return {out(), n}; }

  const std::size_t size;

 private:
  static std::size_t output_offset() {
    const char* env = std::getenv("MXRING_BENCH_OUTPUT_OFFSET");
    return env != nullptr ? static_cast<std::size_t>(std::strtoul(env, nullptr, 10)) % 4096 : 2048;
  }
  std::size_t input_span_, offset_;
  AlignedBytes storage_;
};

}  // namespace mxring::bench

// A growable byte buffer that always keeps parser::kPadding readable bytes after its contents,
// so the SIMD scanners may run over it directly. Move-only; memory is released on request.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "mxring/parser/padding.h"

namespace mxring::engine {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&& other) noexcept { *this = std::move(other); }
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.size_ = other.capacity_ = 0;
    return *this;
  }

  const char* data() const { return data_.get(); }
  char* data() { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Octets owned, padding included: what this buffer costs in memory.
  std::size_t footprint() const { return data_ ? capacity_ + parser::kPadding : 0; }
  // What footprint() becomes once `n` more octets are prepared.
  std::size_t footprint_after(std::size_t n, std::size_t expected = 0) const {
    return size_ + n <= capacity_ ? footprint()
                                  : grown_capacity(size_ + n, expected) + parser::kPadding;
  }

  std::span<const char> span() const { return {data_.get(), size_}; }
  std::string_view view() const { return {data_.get(), size_}; }

  // Room for `n` more octets plus the padding; returns where they go. commit() keeps them.
  // `expected`: the size the contents are expected to reach (0: unknown); growth stops there
  // while they fit, instead of doubling past it.
  char* prepare(std::size_t n, std::size_t expected = 0) {
    if (size_ + n > capacity_) grow(size_ + n, expected);
    return data_.get() + size_;
  }
  void commit(std::size_t n) { size_ += n; }

  void append(std::string_view bytes, std::size_t expected = 0) {
    if (bytes.empty()) return;
    std::memcpy(prepare(bytes.size(), expected), bytes.data(), bytes.size());
    size_ += bytes.size();
  }
  void append_bytes(std::span<const char> bytes) { append({bytes.data(), bytes.size()}); }

  void truncate(std::size_t size) {
    if (size < size_) size_ = size;
  }
  // Drops the first `n` octets (the rest moves to the front).
  void consume_front(std::size_t n) {
    if (n >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_.get(), data_.get() + n, size_ - n);
    size_ -= n;
  }
  void clear() { size_ = 0; }
  void release() {
    data_.reset();
    size_ = capacity_ = 0;
  }

 private:
  std::size_t grown_capacity(std::size_t needed, std::size_t expected) const {
    std::size_t capacity = capacity_ < 256 ? 256 : capacity_ * 2;
    while (capacity < needed) capacity *= 2;
    return needed <= expected ? std::min(capacity, expected) : capacity;
  }
  void grow(std::size_t needed, std::size_t expected) {
    const std::size_t capacity = grown_capacity(needed, expected);
    // Uninitialised on purpose: bodies reach many MiB and every octet is written before it
    // is read, except the padding, which scanners read but whose results they ignore.
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity + parser::kPadding);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;  // usable octets, padding excluded
};

}  // namespace mxring::engine

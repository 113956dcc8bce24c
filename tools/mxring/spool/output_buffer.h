// An append-only byte buffer written to a file descriptor in large writes. Unlike
// std::string it grows without zero-filling, so escaping into worst-case room costs nothing
// for the room not used.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace mxring::tools::spool {

class OutputBuffer {
 public:
  explicit OutputBuffer(int fd, std::size_t flush_at = 1u << 20) : fd_(fd), flush_at_(flush_at) {}
  ~OutputBuffer() { flush(); }
  OutputBuffer(const OutputBuffer&) = delete;
  OutputBuffer& operator=(const OutputBuffer&) = delete;

  // Room for `n` more octets at the returned pointer; commit what was used with `advance`.
  char* room(std::size_t n) {
    if (size_ + n > capacity_) grow(size_ + n);
    return data_.get() + size_;
  }
  void advance(std::size_t n) { size_ += n; }
  std::size_t size() const { return size_; }
  std::string_view buffered() const { return {data_.get(), size_}; }
  // Drops what was appended after size() returned `size` (nothing was flushed since).
  void truncate(std::size_t size) { size_ = size; }

  void append(std::string_view bytes) {
    std::memcpy(room(bytes.size()), bytes.data(), bytes.size());
    size_ += bytes.size();
  }
  void append(char c) {
    *room(1) = c;
    ++size_;
  }

  // Writes out when past the threshold (call between records).
  bool maybe_flush() { return size_ < flush_at_ || flush(); }

  // Everything buffered is handed to the kernel. False on a write error (errno set).
  bool flush() {
    std::size_t done = 0;
    while (done < size_) {
      const auto n = ::write(fd_, data_.get() + done, size_ - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failed_ = true;
        size_ = 0;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    size_ = 0;
    return !failed_;
  }
  bool failed() const { return failed_; }

 private:
  void grow(std::size_t needed) {
    std::size_t capacity = capacity_ == 0 ? (2u << 20) : capacity_;
    while (capacity < needed) capacity *= 2;
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  int fd_;
  std::size_t flush_at_;
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0, capacity_ = 0;
  bool failed_ = false;
};

}  // namespace mxring::tools::spool

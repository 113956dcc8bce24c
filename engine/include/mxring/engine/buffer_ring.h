// A provided-buffer ring (io_uring_register_buf_ring): the kernel picks a buffer for each
// multishot recv completion. Every buffer is followed by parser::kPadding readable octets so
// the SIMD scanners run on received bytes in place.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace mxring::engine {

class BufferRing {
 public:
  // `count`: a power of two, at most 32768. `size`: octets the kernel may fill per buffer.
  static std::optional<BufferRing> create(io_uring* ring, std::uint16_t group, unsigned count,
                                          unsigned size, std::string& error);
  BufferRing(BufferRing&& other) noexcept;
  BufferRing& operator=(BufferRing&&) = delete;
  ~BufferRing();

  std::uint16_t group() const { return group_; }
  unsigned size() const { return size_; }
  unsigned count() const { return count_; }
  // The `length` received octets in buffer `id`; kPadding readable octets follow them.
  std::span<const char> received(std::uint16_t id, std::size_t length) const {
    return {memory_ + static_cast<std::size_t>(id) * stride_, length};
  }
  // Gives buffer `id` back to the kernel; takes effect at publish() (batched per CQE loop).
  void recycle(std::uint16_t id);
  void publish();

 private:
  BufferRing() = default;
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* entries_ = nullptr;
  char* memory_ = nullptr;
  std::size_t entries_bytes_ = 0;
  std::size_t memory_bytes_ = 0;
  std::size_t stride_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  unsigned pending_ = 0;
  std::uint16_t group_ = 0;
};

}  // namespace mxring::engine

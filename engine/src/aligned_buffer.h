// Memory for direct I/O (the spool writer's batches, the log file's appends): O_DIRECT wants
// the buffer aligned to the disk's logical block; 4096 suits every disk (and the spool's
// batch alignment, spool::kBatchAlignment).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace mxring::engine {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // At least `capacity` octets; std::bad_alloc when there is no memory.
  explicit AlignedBuffer(std::size_t capacity) : capacity_(capacity) {
    void* memory = nullptr;
    if (posix_memalign(&memory, kAlignment, capacity) != 0) throw std::bad_alloc();
    data_.reset(static_cast<char*>(memory));
  }

  char* data() const { return data_.get(); }
  std::size_t capacity() const { return capacity_; }

  static constexpr std::size_t kAlignment = 4096;

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data_;
  std::size_t capacity_ = 0;
};

}  // namespace mxring::engine

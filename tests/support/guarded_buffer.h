// Test memory that ends at a PROT_NONE page: bytes placed here end exactly `padding` bytes
// before the guard, so a scanner reading further than its padding contract allows faults.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace mxring::test {

class GuardedBuffer {
 public:
  explicit GuardedBuffer(std::size_t capacity) {
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    usable_ = (capacity + page - 1) / page * page;
    mapping_size_ = usable_ + page;
    void* m =
        mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<char*>(m);
    if (mprotect(base_ + usable_, page, PROT_NONE) != 0) throw std::runtime_error("mprotect");
  }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  ~GuardedBuffer() { munmap(base_, mapping_size_); }

  // Copies `bytes` so that they and `padding` filler bytes end at the guard page.
  std::string_view place(std::string_view bytes, std::size_t padding) {
    if (bytes.size() + padding > usable_) throw std::length_error("GuardedBuffer too small");
    char* end = base_ + usable_;
    std::memset(end - padding, 0x5A, padding);  // filler a scanner must never report
    char* start = end - padding - bytes.size();
    if (!bytes.empty()) std::memcpy(start, bytes.data(), bytes.size());
    return {start, bytes.size()};
  }

  // Writable room of `size` bytes that ends at the guard page.
  char* room(std::size_t size) {
    if (size > usable_) throw std::length_error("GuardedBuffer too small");
    return base_ + usable_ - size;
  }

 private:
  char* base_ = nullptr;
  std::size_t usable_ = 0;
  std::size_t mapping_size_ = 0;
};

}  // namespace mxring::test

// Provided-buffer ring set up by hand: liburing 2.3 has no io_uring_setup_buf_ring.
#include "mxring/engine/buffer_ring.h"

#include <sys/mman.h>

#include <cstring>
#include <utility>

#include "mxring/parser/padding.h"

namespace mxring::engine {

std::optional<BufferRing> BufferRing::create(io_uring* ring, std::uint16_t group, unsigned count,
                                             unsigned size, std::string& error) {
  BufferRing buffers;
  buffers.ring_ = ring;
  buffers.group_ = group;
  buffers.count_ = count;
  buffers.size_ = size;
  buffers.stride_ = size + parser::kPadding;
  buffers.entries_bytes_ = count * sizeof(io_uring_buf);
  buffers.memory_bytes_ = count * buffers.stride_;
  void* entries = mmap(nullptr, buffers.entries_bytes_, PROT_READ | PROT_WRITE,
                       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  void* memory = mmap(nullptr, buffers.memory_bytes_, PROT_READ | PROT_WRITE,
                      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (entries == MAP_FAILED || memory == MAP_FAILED) {
    error = "mmap for the receive buffers failed";
    if (entries != MAP_FAILED) munmap(entries, buffers.entries_bytes_);
    if (memory != MAP_FAILED) munmap(memory, buffers.memory_bytes_);
    return std::nullopt;
  }
  buffers.entries_ = static_cast<io_uring_buf_ring*>(entries);
  buffers.memory_ = static_cast<char*>(memory);
  io_uring_buf_ring_init(buffers.entries_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(entries);
  reg.ring_entries = count;
  reg.bgid = group;
  if (const int rc = io_uring_register_buf_ring(ring, &reg, 0); rc < 0) {
    error = std::string("io_uring_register_buf_ring: ") + std::strerror(-rc);
    return std::nullopt;  // the destructor unmaps
  }
  for (unsigned id = 0; id < count; ++id) buffers.recycle(static_cast<std::uint16_t>(id));
  buffers.publish();
  return std::optional<BufferRing>(std::move(buffers));
}

BufferRing::BufferRing(BufferRing&& other) noexcept
    : ring_(other.ring_),
      entries_(std::exchange(other.entries_, nullptr)),
      memory_(std::exchange(other.memory_, nullptr)),
      entries_bytes_(other.entries_bytes_),
      memory_bytes_(other.memory_bytes_),
      stride_(other.stride_),
      count_(other.count_),
      size_(other.size_),
      pending_(other.pending_),
      group_(other.group_) {}

BufferRing::~BufferRing() {
  if (entries_ != nullptr) {
    io_uring_unregister_buf_ring(ring_, group_);
    munmap(entries_, entries_bytes_);
  }
  if (memory_ != nullptr) munmap(memory_, memory_bytes_);
}

void BufferRing::recycle(std::uint16_t id) {
  io_uring_buf_ring_add(entries_, memory_ + static_cast<std::size_t>(id) * stride_, size_, id,
                        io_uring_buf_ring_mask(count_), static_cast<int>(pending_));
  ++pending_;
}

void BufferRing::publish() {
  if (pending_ == 0) return;
  // Separately from io_uring_cq_advance: 2.3's buf_ring_cq_advance assumes one buffer per CQE.
  io_uring_buf_ring_advance(entries_, static_cast<int>(pending_));
  pending_ = 0;
}

}  // namespace mxring::engine

// A bounded single-producer single-consumer ring: the hand-off between a reactor and its
// storage writer. Lock-free and allocation-free after construction; each index on its own
// cache line, and each side caches the other's index so it reads the shared one only when
// the cache says full (producer) or short of what a pop asks for (consumer) —
// rigtorp/SPSCQueue's layout, plus batch pop.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <utility>

namespace mxring::engine {

template <typename T>
class alignas(64) SpscRing {  // whole cache lines: no false sharing with neighbours
 public:
  // `capacity` is rounded up to a power of two.
  explicit SpscRing(std::size_t capacity)
      : mask_(std::bit_ceil(capacity < 2 ? 2 : capacity) - 1),
        slots_(std::make_unique<Slot[]>(mask_ + 1)) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  std::size_t capacity() const { return mask_ + 1; }

  // Producer side. False when full (the item is left untouched).
  bool try_push(T& item) {
    if (!try_stage(item)) return false;
    publish();
    return true;
  }

  // Producer side, batched: stage items, then publish() them to the consumer at once (one
  // store to the shared index, one cache-line transfer, per batch instead of per item).
  bool try_stage(T& item) {
    if (staged_ - cached_head_ > mask_) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (staged_ - cached_head_ > mask_) return false;
    }
    slots_[staged_ & mask_].value = std::move(item);
    ++staged_;
    return true;
  }
  void publish() { tail_.store(staged_, std::memory_order_release); }

  // Consumer side. Calls take(T&&) for up to `max` items; returns how many.
  template <typename Take>
  std::size_t pop_batch(std::size_t max, Take&& take) {
    const auto head = head_.load(std::memory_order_relaxed);
    // Look at the producer's index only when the cached one cannot satisfy the request.
    if (cached_tail_ - head < max) cached_tail_ = tail_.load(std::memory_order_acquire);
    std::size_t n = cached_tail_ - head;
    if (n > max) n = max;
    // Each item is moved out of its slot: what it owns leaves with it, on the consumer's
    // thread, rather than staying until the producer overwrites the slot.
    for (std::size_t i = 0; i < n; ++i) {
      T item = std::move(slots_[(head + i) & mask_].value);
      take(std::move(item));
    }
    if (n > 0) head_.store(head + n, std::memory_order_release);
    return n;
  }

  std::optional<T> try_pop() {
    std::optional<T> out;
    pop_batch(1, [&](T&& item) { out.emplace(std::move(item)); });
    return out;
  }

  // Either side, approximate: for metrics and back-pressure decisions.
  std::size_t size() const {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }
  bool empty() const { return size() == 0; }

 private:
  static constexpr std::size_t kLine = 64;  // std::hardware_destructive_interference_size
  struct Slot {
    T value{};
  };

  const std::size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(kLine) std::atomic<std::size_t> tail_{0};  // written by the producer
  std::size_t cached_head_ = 0;                      // producer's copy of head_
  std::size_t staged_ = 0;                           // producer: written, maybe unpublished
  alignas(kLine) std::atomic<std::size_t> head_{0};  // written by the consumer
  std::size_t cached_tail_ = 0;                      // consumer's copy of tail_
};

}  // namespace mxring::engine

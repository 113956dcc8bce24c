// The two lock-free rings between one reactor and its storage writer: messages one way,
// outcomes the other. The writer sleeps when every ring it serves is empty and is woken by
// the reactor only then; the reactor is woken through its eventfd after each batch.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>

#include "futex_word.h"
#include "mxring/engine/envelope.h"
#include "mxring/engine/session.h"
#include "mxring/engine/spsc_ring.h"

namespace mxring::engine {

struct StoreRequest {
  std::unique_ptr<Message> message;
  std::uint32_t slot = 0;         // the connection waiting for the answer
  std::uint32_t generation = 0;   // ... unless it has closed since
  bool sync = true;               // durability fsync (false: none)
  bool kafka = false;             // durability kafka: to the writer's producer, not the spool
  std::int64_t handed_at_ns = 0;  // CLOCK_MONOTONIC, for the end-of-data-to-250 latency
  std::uint32_t log_note = 0;     // the reactor's pending log line (0: none), handed back
};

// What a failed write or sync means for the client (RFC 3463 §3.4): X.3.1 mail system full,
// anything else X.3.0.
inline StorageResult storage_failure(int error) {
  return error == ENOSPC || error == EDQUOT || error == EFBIG ? StorageResult::disk_full
                                                              : StorageResult::temporary_failure;
}

struct StoreCompletion {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  StorageResult result = StorageResult::stored;
  Durability durability = Durability::fsync;
  std::int64_t handed_at_ns = 0;
  std::uint32_t log_note = 0;
  // The message, handed back so that the reactor that allocated it frees or reuses it: glibc
  // takes a lock on the owning arena for every block another thread frees (a 1 KiB message's
  // 2 KiB content buffer is past its per-thread cache), which cost the reactor and the writer
  // a few percent of a core at 100k messages/s. Null when the sink still needs the bytes
  // (Kafka).
  std::unique_ptr<Message> message;

  // An answer that keeps the message with the sink.
  static StoreCompletion answer(const StoreRequest& request, StorageResult result) {
    return {request.slot,
            request.generation,
            result,
            request.kafka  ? Durability::kafka
            : request.sync ? Durability::fsync
                           : Durability::none,
            request.handed_at_ns,
            request.log_note,
            nullptr};
  }
  // An answer that hands the message back; `request` is done with.
  static StoreCompletion hand_back(StoreRequest&& request, StorageResult result) {
    auto completion = answer(request, result);
    completion.message = std::move(request.message);
    return completion;
  }
};

// Wakes a sleeping writer without a system call when it is busy. Both sides make their
// write visible, then do a read-modify-write of the same `order_` word, then read the other
// side's state: the two RMWs are ordered, so either the writer sees the new item or the
// reactor sees the writer asleep (no lost wake-up; TSan can check this, unlike a fence).
class WriterSignal {
 public:
  void notify() {
    order_.fetch_add(1, std::memory_order_acq_rel);
    if (sleeping_.load(std::memory_order_acquire)) {
      generation_.fetch_add(1, std::memory_order_release);
      futex_wake(generation_, 1);
    }
  }
  // The writer: call prepare(), check the rings again, then wait(token) if still empty.
  std::uint32_t prepare() {
    const auto token = generation_.load(std::memory_order_acquire);
    sleeping_.store(true, std::memory_order_release);
    order_.fetch_add(1, std::memory_order_acq_rel);
    return token;
  }
  void wait(std::uint32_t token) {
    futex_wait_while(generation_, token);
    sleeping_.store(false, std::memory_order_relaxed);
  }
  void cancel() { sleeping_.store(false, std::memory_order_relaxed); }
  void wake_for_stop() {
    generation_.fetch_add(1, std::memory_order_release);
    futex_wake(generation_, INT32_MAX);
  }

 private:
  std::atomic<bool> sleeping_{false};
  std::atomic<std::uint32_t> order_{0};
  std::atomic<std::uint32_t> generation_{0};
};

struct StorageChannel {
  explicit StorageChannel(std::size_t capacity) : requests(capacity), completions(capacity) {}

  SpscRing<StoreRequest> requests;        // reactor -> writer
  SpscRing<StoreCompletion> completions;  // writer -> reactor; never fuller than requests
  WriterSignal* writer = nullptr;         // set by the writer that serves this channel
  int reactor_wake_fd = -1;               // eventfd the reactor reads

  void wake_reactor() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(reactor_wake_fd, &one, sizeof one);
  }
};

}  // namespace mxring::engine

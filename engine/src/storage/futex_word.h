// Sleeping on a 32-bit atomic word with the futex system call itself. std::atomic::wait in
// libstdc++ 12 first spins and then calls sched_yield four times before it sleeps: with the
// reactor, the writer and its sync threads sharing one core, each of those yields is a
// context switch into the reactor and back, several per batch (seen as involuntary switches of
// mx-writer-0 and mx-sync-* in /proc/<pid>/task/*/status). A writer or sync thread that has
// nothing to do sleeps at once instead.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace mxring::engine {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);

// Sleeps while `word` holds `expected` (returns at once otherwise, or on a spurious wake-up:
// callers re-check in a loop).
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
            nullptr, nullptr, 0);
}

// Returns once `word` no longer holds `expected` (the load acquires what its writer released).
inline void futex_wait_while(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
  while (word.load(std::memory_order_acquire) == expected) futex_wait(word, expected);
}

inline void futex_wake(std::atomic<std::uint32_t>& word, int count) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr,
            nullptr, 0);
}

}  // namespace mxring::engine

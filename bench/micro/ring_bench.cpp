// BM_Ring*: items/s from one pinned thread to another through the reactor-to-writer SPSC
// ring, beside a mutex + condition variable queue in the same binary; and the round trip
// (ping-pong over two rings) in ns. Each run checks that every item arrived, in order.
#include <benchmark/benchmark.h>
#include <pthread.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "mxring/engine/spsc_ring.h"

namespace mxring::bench {
namespace {

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// The textbook blocking queue: one lock per push and per pop.
class MutexQueue {
 public:
  void push(std::uint64_t v) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(v);
    }
    ready_.notify_one();
  }
  std::uint64_t pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !items_.empty(); });
    const auto v = items_.front();
    items_.pop_front();
    return v;
  }
  // Everything queued (at least one item) under one lock: the best a mutex queue can do.
  template <typename Take>
  void pop_all(Take&& take) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !items_.empty(); });
    for (auto v : items_) take(v);
    items_.clear();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::uint64_t> items_;
};

constexpr std::uint64_t kItems = 1 << 22;

// range(0): items staged per publish (1: every push publishes).
void BM_RingThroughput_Spsc(benchmark::State& state) {
  pin(0);
  const auto batch = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    engine::SpscRing<std::uint64_t> ring(1 << 16);
    std::thread consumer([&] {
      pin(1);
      std::uint64_t expected = 0;
      while (expected < kItems)
        ring.pop_batch(1024, [&](std::uint64_t&& v) {
          if (v != expected) std::abort();
          ++expected;
        });
    });
    for (std::uint64_t i = 0; i < kItems; ++i) {
      auto item = i;
      while (!ring.try_stage(item)) ring.publish();
      if (i % batch == batch - 1) ring.publish();
    }
    ring.publish();
    consumer.join();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}
BENCHMARK(BM_RingThroughput_Spsc)
    ->Arg(1)
    ->Arg(64)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_RingThroughput_MutexCondvar(benchmark::State& state) {
  pin(0);
  const bool batch = state.range(0) == 1;
  for (auto _ : state) {
    MutexQueue queue;
    std::thread consumer([&] {
      pin(1);
      std::uint64_t expected = 0;
      while (expected < kItems) {
        if (batch) {
          queue.pop_all([&](std::uint64_t v) {
            if (v != expected) std::abort();
            ++expected;
          });
        } else if (queue.pop() != expected++) {
          std::abort();
        }
      }
    });
    for (std::uint64_t i = 0; i < kItems; ++i) queue.push(i);
    consumer.join();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}
// 0: one item per pop (the textbook queue); 1: the consumer takes all it finds per lock.
BENCHMARK(BM_RingThroughput_MutexCondvar)
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_RingRoundTrip_Spsc(benchmark::State& state) {
  pin(0);
  engine::SpscRing<std::uint64_t> there(64), back(64);
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    pin(1);
    while (!stop.load(std::memory_order_relaxed))
      there.pop_batch(64, [&](std::uint64_t&& v) {
        while (!back.try_push(v)) {
        }
      });
  });
  std::uint64_t i = 0;
  for (auto _ : state) {
    auto item = ++i;
    while (!there.try_push(item)) {
    }
    std::optional<std::uint64_t> reply;
    while (!(reply = back.try_pop())) {
    }
    if (*reply != i) std::abort();
  }
  stop = true;
  echo.join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RingRoundTrip_Spsc);

void BM_RingRoundTrip_MutexCondvar(benchmark::State& state) {
  pin(0);
  MutexQueue there, back;
  std::thread echo([&] {
    pin(1);
    bool running = true;
    while (running)
      there.pop_all([&](std::uint64_t v) {
        if (v == 0) running = false;
        back.push(v);
      });
  });
  std::uint64_t i = 0;
  for (auto _ : state) {
    there.push(++i);
    back.pop_all([&](std::uint64_t v) {
      if (v != i) std::abort();
    });
  }
  there.push(0);
  back.pop_all([](std::uint64_t) {});
  echo.join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RingRoundTrip_MutexCondvar);

}  // namespace
}  // namespace mxring::bench

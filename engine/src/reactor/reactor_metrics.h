// One reactor's counters, read by the metrics page from another thread. Each has a single
// writer (its reactor), so an increment is a relaxed load and store — no locked instruction,
// no cache line shared with another reactor on the hot path; the scrape sums them.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace mxring::engine {

// A counter only its owning thread increments.
class OwnedCounter {
 public:
  void add(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(std::uint64_t n) { value_.store(n, std::memory_order_relaxed); }
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Durations in power-of-two microsecond buckets: bucket b counts values below 2^b µs (and at
// least 2^(b-1)); the last bucket takes everything longer.
struct Log2Histogram {
  std::array<OwnedCounter, 32> buckets;
  OwnedCounter sum_us;

  void record_us(std::uint64_t us) {
    buckets[std::min<std::size_t>(buckets.size() - 1, std::bit_width(us))].add();
    sum_us.add(us);
  }
};

struct alignas(64) ReactorMetrics {
  OwnedCounter accepted, refused_limit, refused_untrusted_proxy, open;
  OwnedCounter messages_stored, messages_failed;  // storage answers: 250 vs 451/452
  OwnedCounter receive_buffers_exhausted;         // ENOBUFS: recv re-armed after a refill
  OwnedCounter tls_handshakes, tls_failures;
  OwnedCounter auth_successes, auth_failures;
  Log2Histogram store_latency;  // end of data to the storage answer
  OwnedCounter loop_turns;      // event-loop iterations: at least one a second while alive
};

}  // namespace mxring::engine

// One reactor's counters, read by the metrics page from another thread. Each has a single
// writer (its reactor), so an increment is a relaxed load and store — no locked instruction,
// no cache line shared with another reactor on the hot path; the scrape sums them.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "mxring/engine/session.h"

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

// The reply codes mxring sends, each with a counter slot; anything else shares slot 0.
inline constexpr std::array<std::uint16_t, 27> kReplyCodes = {
    0,   214, 220, 221, 235, 250, 252, 334, 354, 421, 450, 451, 452, 454,
    500, 501, 502, 503, 504, 530, 535, 538, 550, 552, 553, 554, 555};

constexpr std::size_t reply_code_slot(unsigned code) {
  for (std::size_t i = 1; i < kReplyCodes.size(); ++i)
    if (kReplyCodes[i] == code) return i;
  return 0;
}

using ReplyCounters = std::array<std::array<OwnedCounter, kReplyCodes.size()>, kReplyToCount>;

// The server's side of each step a client waits for (bench's phases, seen from here): from
// the receive that completed a command to the send of its answer; banner_to_ehlo from the
// connection's start to the first HELO/EHLO answer (the client's pace included).
enum class ReplyPhase : std::uint8_t { banner_to_ehlo, mail, rcpt, data, end_of_data };
inline constexpr std::size_t kReplyPhaseCount = 5;

// TLS handshakes by protocol version and cipher. A handful of pairs occur in practice; the
// first kSlots seen get their own counter, the rest share `other`. Strings are written
// before `used` is released, so a scrape reads only finished slots.
class TlsTally {
 public:
  static constexpr std::size_t kSlots = 16;
  struct Slot {
    std::string version, cipher;
    OwnedCounter count;
  };

  void count(std::string_view version, std::string_view cipher) {
    const auto n = used_.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < n; ++i) {
      if (slots_[i].version == version && slots_[i].cipher == cipher) return slots_[i].count.add();
    }
    if (n == kSlots) return other_.add();
    slots_[n].version = version;
    slots_[n].cipher = cipher;
    slots_[n].count.add();
    used_.store(n + 1, std::memory_order_release);
  }
  // The finished slots, for a reader on another thread.
  std::uint32_t used() const { return used_.load(std::memory_order_acquire); }
  const Slot& slot(std::uint32_t i) const { return slots_[i]; }
  std::uint64_t other() const { return other_.get(); }

 private:
  std::array<Slot, kSlots> slots_;
  std::atomic<std::uint32_t> used_{0};
  OwnedCounter other_;
};

struct alignas(64) ReactorMetrics {
  OwnedCounter accepted, refused_limit, refused_untrusted_proxy, refused_rate, refused_access, open;
  OwnedCounter bytes_received;                       // SMTP octets off the wire (TLS: ciphertext)
  OwnedCounter messages_stored, messages_failed;     // storage answers: 250 vs 451/452
  std::array<OwnedCounter, 4> stored_by_durability;  // indexed by Durability
  OwnedCounter storage_in_flight;                    // handed to the writer, not yet answered
  OwnedCounter rate_limited_messages, rate_limited_recipients;
  OwnedCounter rate_limit_untracked;  // events the rate limiter's full tables could not hold
  OwnedCounter replies_delayed;       // held back by the error tarpit
  ReplyCounters replies;              // [ReplyTo][reply_code_slot]
  std::array<Log2Histogram, kReplyPhaseCount> phase_latency;
  TlsTally tls_sessions;
  OwnedCounter receive_buffers_exhausted;  // ENOBUFS: recv re-armed after a refill
  OwnedCounter tls_handshakes, tls_failures;
  OwnedCounter auth_successes, auth_failures;
  Log2Histogram store_latency;  // end of data to the storage answer
  OwnedCounter loop_turns;      // event-loop iterations: at least one a second while alive
};

}  // namespace mxring::engine

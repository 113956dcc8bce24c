// The octets of messages the server may hold at once, content and recipients: transactions
// being received and messages waiting for their writer, on every reactor (one budget for
// all, so that any reactor can take a message as large as the budget allows). Without such
// a bound, clients sending large messages together make the server hold connections ×
// --max-message-size. A transaction is charged once what it holds passes kUncharged octets
// (smaller ones are bounded by the connection limit and cost nothing here), then at each
// growth of its content's buffer and each recipient; the charge goes back when the message
// is freed, on whichever thread that happens.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace mxring::engine {

class ContentBudget {
 public:
  static constexpr std::size_t kUncharged = 64 << 10;

  explicit ContentBudget(std::uint64_t limit) : limit_(limit) {}

  // Takes `octets` if they fit under the limit; false (nothing taken) otherwise.
  bool try_take(std::uint64_t octets) {
    auto held = held_.load(std::memory_order_relaxed);
    do {
      if (!fits(held, octets)) return false;
    } while (!held_.compare_exchange_weak(held, held + octets, std::memory_order_relaxed));
    return true;
  }
  // Whether `octets` more would fit now (MAIL's SIZE, before anything is taken).
  bool has_room(std::uint64_t octets) const { return fits(held(), octets); }
  void give_back(std::uint64_t octets) { held_.fetch_sub(octets, std::memory_order_relaxed); }
  std::uint64_t held() const { return held_.load(std::memory_order_relaxed); }
  std::uint64_t limit() const { return limit_; }

 private:
  bool fits(std::uint64_t held, std::uint64_t octets) const {
    return octets <= limit_ - std::min(held, limit_);  // cannot wrap, whatever `held` is
  }

  std::atomic<std::uint64_t> held_{0};
  const std::uint64_t limit_;
};

// What one message's content may take beyond --max-message-size: its Received header (under
// 64 KiB: its fields come from command lines of a few KiB at most), the data slice read
// before its size is checked (256 KiB) and the parser's padding, rounded up. The content's
// buffer never grows past that (Session).
inline constexpr std::uint64_t kContentOverhead = 384 << 10;
// What one recipient may take, charged with the content (recipient_bytes): its address (at
// most 256 octets) and ORCPT (its RCPT line is at most 1,536), each string up to twice its
// length, the Recipient itself and its hash, rounded up.
inline constexpr std::uint64_t kRecipientBytesBound = 4 << 10;
// A budget of this much holds a message of max_message_size with max_recipients recipients
// however it arrives: on an idle server, no message the limits allow is refused for want of
// memory on every retry.
constexpr std::uint64_t content_memory_needed(std::uint64_t max_message_size,
                                              std::uint64_t max_recipients) {
  return max_message_size + kContentOverhead + max_recipients * kRecipientBytesBound;
}

// What one content holds of a budget. Move-only; gives its octets back when destroyed.
class ContentCharge {
 public:
  ContentCharge() = default;
  ContentCharge(ContentCharge&& other) noexcept
      : budget_(std::exchange(other.budget_, nullptr)), octets_(std::exchange(other.octets_, 0)) {}
  ContentCharge& operator=(ContentCharge&& other) noexcept {
    if (this != &other) {
      reset();
      budget_ = std::exchange(other.budget_, nullptr);
      octets_ = std::exchange(other.octets_, 0);
    }
    return *this;
  }
  ~ContentCharge() { reset(); }

  // Whether a buffer of `footprint` octets must be charged before it is kept: cheap enough to
  // ask before every append.
  bool behind(std::size_t footprint) const {
    return footprint > octets_ && footprint > ContentBudget::kUncharged;
  }
  // Charges `budget` up to `footprint` octets; false when it has no room (the charge so far
  // stays).
  bool cover(ContentBudget& budget, std::size_t footprint) {
    if (budget_ != nullptr && budget_ != &budget) reset();
    if (!budget.try_take(footprint - octets_)) return false;
    budget_ = &budget;
    octets_ = footprint;
    return true;
  }
  void reset() {
    if (budget_ != nullptr) budget_->give_back(octets_);
    budget_ = nullptr;
    octets_ = 0;
  }
  // Gives back what is held past `footprint` (all of it, at or under kUncharged).
  void shrink_to(std::size_t footprint) {
    if (footprint <= ContentBudget::kUncharged) return reset();
    if (budget_ == nullptr || footprint >= octets_) return;
    budget_->give_back(octets_ - footprint);
    octets_ = footprint;
  }
  std::uint64_t octets() const { return octets_; }

 private:
  ContentBudget* budget_ = nullptr;
  std::uint64_t octets_ = 0;
};

}  // namespace mxring::engine

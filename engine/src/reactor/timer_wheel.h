// A hashed timer wheel with one-second slots (RFC 5321 §4.5.3.2 timeouts are minutes).
// Entries are never removed: when one comes due the owner checks whether its deadline still
// holds and schedules again if not, so activity costs nothing but a field write.
#pragma once

#include <cstdint>
#include <vector>

namespace mxring::engine {

class TimerWheel {
 public:
  explicit TimerWheel(std::int64_t now_second, std::size_t slots = 1024)
      : slots_(slots), now_(now_second) {}

  void schedule(std::uint64_t key, std::int64_t due_second) {
    if (due_second <= now_) due_second = now_ + 1;
    slots_[static_cast<std::size_t>(due_second) % slots_.size()].push_back({key, due_second});
  }

  // Calls on_due(key) for every entry due at or before `now_second`, once.
  template <typename OnDue>
  void advance(std::int64_t now_second, OnDue&& on_due) {
    while (now_ < now_second) {
      ++now_;
      auto& slot = slots_[static_cast<std::size_t>(now_) % slots_.size()];
      due_.clear();
      std::size_t kept = 0;
      for (const auto& entry : slot) {
        if (entry.due <= now_) {
          due_.push_back(entry.key);
        } else {
          slot[kept++] = entry;  // a later lap of the wheel
        }
      }
      slot.resize(kept);
      for (const auto key : due_) on_due(key);  // may schedule again, always into a later slot
    }
  }

  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& slot : slots_) n += slot.size();
    return n;
  }

 private:
  struct Entry {
    std::uint64_t key;
    std::int64_t due;
  };
  std::vector<std::vector<Entry>> slots_;
  std::vector<std::uint64_t> due_;
  std::int64_t now_;  // the last second processed
};

}  // namespace mxring::engine

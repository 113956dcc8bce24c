// Failed AUTH attempts per client address in a fixed window: past the limit, the address
// gets 454 4.7.0 without its password being checked until the window ends (RFC 4954 §6;
// Postfix's smtpd_client_auth_rate_limit). Used only by the verifier thread: no locks.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "tracked_clients.h"

namespace mxring::engine {

class AuthThrottle {
 public:
  AuthThrottle(std::uint32_t max_failures, std::int64_t window_seconds)
      : max_failures_(max_failures), window_(window_seconds) {}

  bool blocked(const std::string& client, std::int64_t now) {
    const auto found = failures_.find(client);
    if (found == failures_.end()) return false;
    if (now - found->second.since >= window_) {
      failures_.erase(found);
      return false;
    }
    return max_failures_ > 0 && found->second.count >= max_failures_;
  }

  void failed(const std::string& client, std::int64_t now) {
    if (max_failures_ == 0) return;  // not limited: nothing to remember
    // Under a spread of clients: forget ended windows, at most once a second (each sweep
    // walks every entry); still full, a new client goes uncounted rather than grow memory.
    if (failures_.size() >= kSweepAbove && now != last_sweep_) sweep(now);
    if (failures_.size() >= kMaxTrackedClients && !failures_.contains(client)) return;
    auto& entry = failures_[client];
    if (entry.count == 0 || now - entry.since >= window_) entry = {now, 0};
    ++entry.count;
  }

  std::size_t tracked() const { return failures_.size(); }

  static constexpr std::size_t kSweepAbove = 65536;

 private:
  struct Entry {
    std::int64_t since = 0;
    std::uint32_t count = 0;
  };
  void sweep(std::int64_t now) {
    last_sweep_ = now;
    std::erase_if(failures_, [&](const auto& item) { return now - item.second.since >= window_; });
  }

  std::uint32_t max_failures_;
  std::int64_t window_;
  std::unordered_map<std::string, Entry> failures_;
  std::int64_t last_sweep_ = -1;
};

}  // namespace mxring::engine

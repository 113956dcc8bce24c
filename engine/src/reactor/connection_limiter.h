// Connection caps shared by every reactor: a global count and a count per client address.
// Touched once at accept and once at close, never per command; sharded so reactors rarely
// meet on a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "mxring/engine/address_range.h"

namespace mxring::engine {

// A client address as 16 octets (IPv4 mapped into IPv6), the key of the per-address count.
struct ClientKey {
  MappedOctets octets{};
  bool operator==(const ClientKey&) const = default;
};

struct ClientKeyHash {
  std::size_t operator()(const ClientKey& key) const {
    std::uint64_t a, b;
    std::memcpy(&a, key.octets.data(), 8);
    std::memcpy(&b, key.octets.data() + 8, 8);
    return static_cast<std::size_t>((a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full));
  }
};

enum class Admission : std::uint8_t { admitted, server_full, client_full, shutting_down };

class ConnectionLimiter {
 public:
  ConnectionLimiter(std::uint32_t max_total, std::uint32_t max_per_client)
      : max_total_(max_total), max_per_client_(max_per_client) {}

  // The server is shutting down: from now on every reactor turns new connections away, even
  // one that has not yet taken its own shutdown request from its mailbox.
  void close() { closed_.store(true, std::memory_order_release); }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  Admission admit(const ClientKey& client) {
    if (!admit_total()) return Admission::server_full;
    const auto admission = admit_client(client);
    if (admission != Admission::admitted) release_total();
    return admission;
  }

  // The two halves, for PROXY listeners: the connection counts at accept, the client it
  // speaks for once its header is read.
  bool admit_total() {
    if (total_.fetch_add(1, std::memory_order_relaxed) >= max_total_) {
      total_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void release_total() { total_.fetch_sub(1, std::memory_order_relaxed); }

  Admission admit_client(const ClientKey& client) {
    if (max_per_client_ == 0) return Admission::admitted;
    auto& shard = shard_of(client);
    std::lock_guard lock(shard.mutex);
    auto& count = shard.counts[client];
    if (count >= max_per_client_) {
      if (count == 0) shard.counts.erase(client);
      return Admission::client_full;
    }
    ++count;
    return Admission::admitted;
  }

  void release(const ClientKey& client) {
    release_total();
    release_client(client);
  }

  void release_client(const ClientKey& client) {
    if (max_per_client_ == 0) return;
    auto& shard = shard_of(client);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.counts.find(client);
    if (it != shard.counts.end() && --it->second == 0) shard.counts.erase(it);
  }

  std::uint32_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    std::mutex mutex;
    std::unordered_map<ClientKey, std::uint32_t, ClientKeyHash> counts;
  };
  Shard& shard_of(const ClientKey& client) { return shards_[ClientKeyHash{}(client) % 64]; }

  const std::uint32_t max_total_;
  const std::uint32_t max_per_client_;
  std::atomic<bool> closed_{false};
  std::atomic<std::uint32_t> total_{0};
  std::array<Shard, 64> shards_;
};

}  // namespace mxring::engine

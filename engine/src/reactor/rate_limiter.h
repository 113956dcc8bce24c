// Per-client rate limits, kept by each reactor for itself and shared without locks: every
// event a reactor admits is also posted to each other reactor through a single-producer ring
// (RateExchange), and each reactor takes its peers' events at the start of every loop turn,
// before the completions that could need them. A client whose connections the kernel spreads
// over several reactors is therefore counted whole: a peer's event is at most one loop turn
// late, and an event that caused a reply the client waited for is never late. An event
// carries the time it happened: a reactor that sat idle past the end of a window takes its
// peers' old events into that old window, not into a new one that starts when it wakes.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "connection_limiter.h"
#include "mxring/engine/server.h"
#include "mxring/engine/spsc_ring.h"
#include "reactor_metrics.h"
#include "tracked_clients.h"

namespace mxring::engine {

// The network `client` belongs to: its first ipv4_prefix (or ipv6_prefix) bits.
ClientKey network_of(const ClientKey& client, unsigned ipv4_prefix, unsigned ipv6_prefix);

struct RateEvent {
  ClientKey client;
  RateLimits::Kind kind = RateLimits::connections;
  std::int64_t at = 0;  // seconds, the admitting reactor's clock
};

// The rings between every ordered pair of reactors; built once by the server.
class RateExchange {
 public:
  explicit RateExchange(unsigned reactors);
  unsigned reactors() const { return reactors_; }
  SpscRing<RateEvent>& ring(unsigned from, unsigned to) { return *rings_[from * reactors_ + to]; }

 private:
  unsigned reactors_;
  std::vector<std::unique_ptr<SpscRing<RateEvent>>> rings_;  // null on the diagonal
};

class RateLimiter {
 public:
  // `exchange` may be null (one reactor, or no limits); so may `untracked`, which counts the
  // events of clients a full table could not hold (each holds `max_tracked` clients, or
  // networks; past that a client not yet held is admitted uncounted until a sweep makes
  // room: tracked_clients.h).
  RateLimiter(const RateLimits& limits, unsigned reactor, RateExchange* exchange,
              OwnedCounter* untracked = nullptr, std::size_t max_tracked = kMaxTrackedClients);

  bool enabled(RateLimits::Kind kind) const { return limits_.limits(kind); }
  // SIGHUP: new limits apply from the next event; counts so far are kept. `exchange`: the
  // rings to the other reactors, made once a reload first turns limits on.
  void set_limits(const RateLimits& limits, RateExchange* exchange) {
    limits_ = limits;
    exchange_ = exchange;
  }

  // Counts one `kind` event for `client` at `now` (seconds) and returns true, or returns
  // false, counting nothing, when the client or its network is already at its limit.
  bool admit(RateLimits::Kind kind, const ClientKey& client, std::int64_t now);

  // Takes the events the other reactors posted since the last call.
  void take_peer_events(std::int64_t now);

  std::uint64_t events_not_shared() const { return not_shared_; }
  std::size_t tracked() const { return addresses_.size() + networks_.size(); }

 private:
  struct Window {
    std::int64_t since = 0;
    std::array<std::uint32_t, RateLimits::kinds> counts{};
  };
  using Table = std::unordered_map<ClientKey, Window, ClientKeyHash>;

  // The key's window where `limit` applies (not 0); null where it does not, or when the
  // table is full without the key.
  Window* window(Table& table, const ClientKey& key, std::uint32_t limit, std::int64_t now);
  // An event's windows, found once for the check and the count.
  struct Held {
    Window* address;
    Window* network;
    bool lost;  // a limit applies whose table was full without the client
  };
  Held held(RateLimits::Kind kind, const ClientKey& client, std::int64_t now);
  void count(RateLimits::Kind kind, const Held& h);
  ClientKey network_of(const ClientKey& client) const {
    return engine::network_of(client, limits_.ipv4_prefix, limits_.ipv6_prefix);
  }
  void sweep(std::int64_t now);

  RateLimits limits_;
  unsigned reactor_;
  RateExchange* exchange_;
  OwnedCounter* untracked_;
  std::size_t max_tracked_;
  Table addresses_, networks_;
  std::int64_t last_sweep_ = 0;
  std::uint64_t not_shared_ = 0;
};

}  // namespace mxring::engine

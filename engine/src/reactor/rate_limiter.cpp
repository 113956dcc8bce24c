#include "rate_limiter.h"

#include <algorithm>
#include <bit>

namespace mxring::engine {
namespace {

// Events in flight from one reactor to another: a turn's worth at any realistic rate, and
// fewer from 64 reactors on (down to 64 events), for the rings number the square of the
// reactors (256 reactors: 65,280 rings). When a ring is full the event is counted locally
// only (and the miss is a metric).
std::size_t exchange_ring_capacity(unsigned reactors) {
  return std::clamp<std::size_t>(std::bit_ceil(16384u / reactors), 64, 512);
}

bool ipv4_mapped(const ClientKey& key) {
  for (int i = 0; i < 10; ++i)
    if (key.octets[i] != 0) return false;
  return key.octets[10] == 0xff && key.octets[11] == 0xff;
}

}  // namespace

ClientKey network_of(const ClientKey& client, unsigned ipv4_prefix, unsigned ipv6_prefix) {
  // IPv4 lives in the last four octets of its mapped form: its prefix counts from octet 12.
  const unsigned keep =
      ipv4_mapped(client) ? 96u + std::min(ipv4_prefix, 32u) : std::min(ipv6_prefix, 128u);
  ClientKey network = client;
  for (unsigned bit = keep; bit < 128; ++bit)
    network.octets[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return network;
}

RateExchange::RateExchange(unsigned reactors) : reactors_(reactors) {
  rings_.resize(std::size_t{reactors} * reactors);
  for (unsigned from = 0; from < reactors; ++from)
    for (unsigned to = 0; to < reactors; ++to)
      if (from != to)
        rings_[from * reactors + to] =
            std::make_unique<SpscRing<RateEvent>>(exchange_ring_capacity(reactors));
}

RateLimiter::RateLimiter(const RateLimits& limits, unsigned reactor, RateExchange* exchange,
                         OwnedCounter* untracked, std::size_t max_tracked)
    : limits_(limits),
      reactor_(reactor),
      exchange_(exchange),
      untracked_(untracked),
      max_tracked_(max_tracked) {}

RateLimiter::Window* RateLimiter::window(Table& table, const ClientKey& key, std::uint32_t limit,
                                         std::int64_t now) {
  if (limit == 0) return nullptr;
  auto found = table.find(key);
  if (found == table.end()) {
    if (table.size() >= max_tracked_) return nullptr;
    found = table.emplace(key, Window{.since = now}).first;
  }
  auto& w = found->second;
  if (now - w.since >= limits_.window.count()) w = Window{.since = now};
  return &w;
}

RateLimiter::Held RateLimiter::held(RateLimits::Kind kind, const ClientKey& client,
                                    std::int64_t now) {
  // Once a window, and when a table is full (then at most once a second): forget the
  // clients whose window has ended, so memory follows the clients of the last window.
  const bool full = addresses_.size() >= max_tracked_ || networks_.size() >= max_tracked_;
  if (now - last_sweep_ >= limits_.window.count() || (full && last_sweep_ != now)) sweep(now);
  const auto per_address = limits_.per_address[kind];
  const auto per_network = limits_.per_network[kind];
  Held h{window(addresses_, client, per_address, now),
         window(networks_, network_of(client), per_network, now), false};
  h.lost = (per_address > 0 && h.address == nullptr) || (per_network > 0 && h.network == nullptr);
  return h;
}

void RateLimiter::count(RateLimits::Kind kind, const Held& h) {
  if (h.address != nullptr) ++h.address->counts[kind];
  if (h.network != nullptr) ++h.network->counts[kind];
  if (h.lost && untracked_ != nullptr) untracked_->add();  // once an event
}

bool RateLimiter::admit(RateLimits::Kind kind, const ClientKey& client, std::int64_t now) {
  if (!enabled(kind)) return true;
  const auto h = held(kind, client, now);
  if ((h.address != nullptr && h.address->counts[kind] >= limits_.per_address[kind]) ||
      (h.network != nullptr && h.network->counts[kind] >= limits_.per_network[kind]))
    return false;
  count(kind, h);
  if (exchange_ != nullptr) {
    for (unsigned peer = 0; peer < exchange_->reactors(); ++peer) {
      if (peer == reactor_) continue;
      RateEvent event{client, kind, now};
      if (!exchange_->ring(reactor_, peer).try_push(event)) ++not_shared_;
    }
  }
  return true;
}

void RateLimiter::take_peer_events(std::int64_t now) {
  if (exchange_ == nullptr || !limits_.any()) return;
  for (unsigned peer = 0; peer < exchange_->reactors(); ++peer) {
    if (peer == reactor_) continue;
    exchange_->ring(peer, reactor_).pop_batch(SIZE_MAX, [&](RateEvent&& event) {
      if (now - event.at < limits_.window.count())
        count(event.kind, held(event.kind, event.client, event.at));
    });
  }
}

// Once a window: forget clients whose window has ended, so memory follows the clients seen
// in the last window, not every client ever.
void RateLimiter::sweep(std::int64_t now) {
  last_sweep_ = now;
  const auto ended = [&](const auto& item) {
    return now - item.second.since >= limits_.window.count();
  };
  std::erase_if(addresses_, ended);
  std::erase_if(networks_, ended);
}

}  // namespace mxring::engine

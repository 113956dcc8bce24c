// Queue ids unique across restarts, nodes and reactors (DESIGN.md): the reactor's start time
// in microseconds, the node, the reactor, and a counter, each in base 32 (digits and
// lower-case letters, so ids are safe in file names and sort by start time).
#pragma once

#include <cstdint>

#include "mxring/engine/envelope.h"

namespace mxring::engine {

// The node and the reactor each take two base-32 digits (10 bits) of an id: more nodes or
// more reactors than this would share ids.
inline constexpr unsigned kMaxNodes = 1024;
inline constexpr unsigned kMaxReactors = 1024;

// The counter takes at most 8 base-32 digits (an id is at most 23 characters, what QueueId
// holds): 2^40 ids per prefix, about two months of one reactor at 200,000 messages a second.
inline constexpr std::uint64_t kQueueIdsPerPrefix = std::uint64_t{1} << 40;

class QueueIdGenerator {
 public:
  // `first_counter` is where the counter starts (0 but in tests).
  QueueIdGenerator(std::uint64_t start_us, std::uint16_t node, std::uint16_t reactor,
                   std::uint64_t first_counter = 0);
  QueueId next();

 private:
  void write_prefix();

  std::uint64_t start_us_ = 0;
  std::uint16_t node_ = 0;
  std::uint16_t reactor_ = 0;
  char prefix_[16];
  std::uint64_t counter_ = 0;
};

}  // namespace mxring::engine

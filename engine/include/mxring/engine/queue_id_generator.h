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

class QueueIdGenerator {
 public:
  QueueIdGenerator(std::uint64_t start_us, std::uint16_t node, std::uint16_t reactor);
  QueueId next();

 private:
  char prefix_[16];
  std::uint8_t prefix_length_ = 0;
  std::uint64_t counter_ = 0;
};

}  // namespace mxring::engine

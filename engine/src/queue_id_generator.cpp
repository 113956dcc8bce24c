// Queue id formatting: fixed-width base-32 fields, then a variable counter.
#include "mxring/engine/queue_id_generator.h"

#include <string_view>

namespace mxring::engine {
namespace {

constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuv";

// `width` base-32 digits of `value`, most significant first.
void put_fixed(char* out, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = kDigits[value & 31];
    value >>= 5;
  }
}

}  // namespace

QueueIdGenerator::QueueIdGenerator(std::uint64_t start_us, std::uint16_t node,
                                   std::uint16_t reactor) {
  put_fixed(prefix_, start_us, 11);  // 55 bits: microseconds until the year 3111
  put_fixed(prefix_ + 11, node % kMaxNodes, 2);
  put_fixed(prefix_ + 13, reactor % kMaxReactors, 2);
  prefix_length_ = 15;
}

QueueId QueueIdGenerator::next() {
  char text[24];
  std::string_view(prefix_, prefix_length_).copy(text, prefix_length_);
  // Counter in base 32, at least one digit; 8 digits cover 2^40 messages per reactor run.
  char digits[13];
  int n = 0;
  std::uint64_t value = counter_++;
  do {
    digits[n++] = kDigits[value & 31];
    value >>= 5;
  } while (value != 0 && n < 8);
  std::size_t length = prefix_length_;
  while (n > 0) text[length++] = digits[--n];
  return QueueId({text, length});
}

}  // namespace mxring::engine

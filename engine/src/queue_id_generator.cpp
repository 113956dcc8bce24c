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

constexpr std::size_t kPrefixLength = 15;  // start time, node, reactor

}  // namespace

QueueIdGenerator::QueueIdGenerator(std::uint64_t start_us, std::uint16_t node,
                                   std::uint16_t reactor, std::uint64_t first_counter)
    : start_us_(start_us), node_(node), reactor_(reactor), counter_(first_counter) {
  write_prefix();
}

void QueueIdGenerator::write_prefix() {
  put_fixed(prefix_, start_us_, 11);  // 55 bits: microseconds until the year 3111
  put_fixed(prefix_ + 11, node_ % kMaxNodes, 2);
  put_fixed(prefix_ + 13, reactor_ % kMaxReactors, 2);
}

QueueId QueueIdGenerator::next() {
  if (counter_ >= kQueueIdsPerPrefix) {
    // Every counter value of this prefix is used: go on as a run started a microsecond
    // later would. No other run of this node and reactor started then: an earlier one ended
    // before this one started, and a later one starts long after (2^40 ids take days).
    ++start_us_;
    write_prefix();
    counter_ = 0;
  }
  char text[24];
  std::string_view(prefix_, kPrefixLength).copy(text, kPrefixLength);
  // Counter in base 32, at least one digit.
  char digits[8];
  int n = 0;
  std::uint64_t value = counter_++;
  do {
    digits[n++] = kDigits[value & 31];
    value >>= 5;
  } while (value != 0);
  std::size_t length = kPrefixLength;
  while (n > 0) text[length++] = digits[--n];
  return QueueId({text, length});
}

}  // namespace mxring::engine

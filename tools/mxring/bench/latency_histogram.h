// Latencies in microseconds, HDR-style: each power of two is split into 32 linear
// sub-buckets, so a percentile is exact to about 3 % at every scale, from 1 µs to hours,
// in a fixed 2,048 counters (no allocation while recording).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace mxring::tools::bench {

class LatencyHistogram {
 public:
  void record(std::uint64_t us) {
    ++counts_[index(us)];
    ++total_;
    max_ = std::max(max_, us);
  }
  void merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }
  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }

  // The smallest recorded-bucket upper bound covering fraction `p` (0..1) of the values.
  std::uint64_t percentile(double p) const {
    if (total_ == 0) return 0;
    const auto wanted = static_cast<std::uint64_t>(p * static_cast<double>(total_) + 0.5);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= std::max<std::uint64_t>(wanted, 1)) return std::min(upper_bound(i), max_);
    }
    return max_;
  }

 private:
  static constexpr unsigned kSubBits = 5;  // 32 sub-buckets per power of two
  static constexpr std::size_t kBuckets = 64 * (1u << kSubBits);

  static std::size_t index(std::uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<std::size_t>(v);
    const unsigned exponent = static_cast<unsigned>(std::bit_width(v)) - 1;  // >= kSubBits
    const unsigned shift = exponent - kSubBits;
    const auto sub = static_cast<std::size_t>((v >> shift) & ((1u << kSubBits) - 1));
    return std::min<std::size_t>(((shift + 1) << kSubBits) + sub, kBuckets - 1);
  }
  static std::uint64_t upper_bound(std::size_t i) {
    if (i < (1u << kSubBits)) return i;
    const std::size_t shift = (i >> kSubBits) - 1;
    const std::uint64_t sub = i & ((1u << kSubBits) - 1);
    return (((std::uint64_t{1} << kSubBits) | sub) + 1) * (std::uint64_t{1} << shift) - 1;
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace mxring::tools::bench

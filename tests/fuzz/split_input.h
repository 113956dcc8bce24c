// What the differential fuzz targets read from their input: a first octet that says how many
// cut points follow (its low three bits) and which of the target's line limits applies (the
// rest), the cut points (one octet each, scaled over the stream; one below the previous is
// dropped), then the stream itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct SplitInput {
  std::string stream;
  std::vector<std::size_t> cuts;  // ascending offsets into `stream`
  std::uint32_t max_line = 0;
};

inline std::optional<SplitInput> split_input(const std::uint8_t* data, std::size_t size,
                                             std::span<const std::uint32_t> limits) {
  if (size < 1) return std::nullopt;
  const std::size_t ncuts = data[0] % 8;
  if (size < 1 + ncuts) return std::nullopt;
  SplitInput in;
  in.max_line = limits[(data[0] >> 3) % limits.size()];
  in.stream.assign(reinterpret_cast<const char*>(data + 1 + ncuts), size - 1 - ncuts);
  for (std::size_t i = 0; i < ncuts; ++i) {
    const std::size_t cut = in.stream.empty() ? 0 : data[1 + i] * in.stream.size() / 255;
    if (in.cuts.empty() || cut >= in.cuts.back()) in.cuts.push_back(cut);
  }
  return in;
}

// Differential fuzz target: a DATA stream cut at fuzzer-chosen points must give, for every
// implementation this CPU runs, exactly what the scalar reference gives for the whole stream.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mxring/parser/data_scanner.h"
#include "mxring/parser/padding.h"
#include "split_input.h"

using namespace mxring::parser;

namespace {

struct Result {
  std::string message;
  std::size_t consumed = 0;
  bool ended = false;
  DataFlags flags;
};

Result run(Impl impl, const std::string& input, const std::vector<std::size_t>& cuts,
           std::uint32_t max_line) {
  DataScanner scanner({.max_line = max_line}, impl);
  Result r;
  std::size_t at = 0;
  for (std::size_t i = 0; i <= cuts.size() && at <= input.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : input.size();
    // Each piece in its own exact-size heap block plus padding: ASan sees any over-read.
    std::vector<char> piece(end - at + kPadding, 'P');
    std::memcpy(piece.data(), input.data() + at, end - at);
    std::vector<char> out(end - at + kPadding);
    const auto s = scanner.scan({piece.data(), end - at}, out.data());
    r.message.append(out.data(), s.written);
    r.consumed += s.consumed;
    if (s.ended) {
      r.ended = true;
      break;
    }
    at = end;
  }
  r.flags = scanner.flags();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Line limits: small ones so long lines are common, below and above a 64-octet block (the
  // kernels check lines inside a block only for limits under 63), and the larger ones under
  // which the kernels take two-block steps (127+) and whole runs of them (383+).
  static constexpr std::uint32_t kLimits[] = {40, 70, 200, 400, 998};
  const auto in = split_input(data, size, kLimits);
  if (!in) return 0;
  const Result reference = run(Impl::scalar, in->stream, {}, in->max_line);
  for (Impl impl : supported_impls()) {
    const Result got = run(impl, in->stream, in->cuts, in->max_line);
    if (got.message != reference.message || got.consumed != reference.consumed ||
        got.ended != reference.ended || !(got.flags == reference.flags))
      std::abort();
  }
  return 0;
}
